//! Helpers shared by the native integration tests that drive the CLI.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Runs the CLI with `args`: exit code, stdout, stderr and seconds taken.
pub fn cli_timed(args: &[&str]) -> (i32, String, String, f64) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_fashion-trainer"))
        .args(args)
        .output()
        .expect("the CLI runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed().as_secs_f64(),
    )
}

/// Runs the CLI with `args`: exit code, stdout and stderr.
pub fn cli(args: &[&str]) -> (i32, String, String) {
    let (code, out, err, _) = cli_timed(args);
    (code, out, err)
}

/// An empty scratch directory for this test binary and process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "fashion-trainer-{}-{}-{name}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The Fashion-MNIST directory: `$FASHION_MNIST_DIR`, else `../shared/data/fashion-mnist`.
pub fn fashion_mnist_dir() -> PathBuf {
    std::env::var("FASHION_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/fashion-mnist")
        })
}
