//! Exported weights checked by other runtimes (issue 15): onnxruntime and a numpy forward pass
//! (tests/interop/check_exports.py) on all 10,000 test images agree with `fashion-trainer
//! evaluate` on every image's top-1, logits within 1e-4; a safetensors file written by Python
//! imports and predicts what Python's forward pass does.
//!
//! Needs `$INTEROP_PYTHON`, a Python with numpy, safetensors, onnx and onnxruntime (`./build.sh
//! test` installs them into a venv in the cache); without it the test says SKIPPED and fails
//! nothing, so plain `cargo test` runs elsewhere.
#![cfg(not(target_family = "wasm"))]

mod common;
use common::{cli, fashion_mnist_dir, scratch};

use std::path::Path;
use std::process::Command;

fn python() -> Option<String> {
    let python = std::env::var("INTEROP_PYTHON").ok();
    if python.is_none() {
        eprintln!(
            "\n*** SKIPPED: the interop checks need $INTEROP_PYTHON (./build.sh test sets it) ***\n"
        );
    }
    python
}

/// Runs tests/interop/check_exports.py; panics with its output unless it succeeds.
fn check(python: &str, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/check_exports.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "check_exports.py {args:?} failed:\n{text}"
    );
    text
}

fn ok_cli(args: &[&str]) -> String {
    let (code, out, err) = cli(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

#[test]
fn exports_agree_with_onnxruntime_and_numpy_on_every_test_image() {
    let Some(python) = python() else { return };
    // v2: dropout (left out of the inference graph) and 16/26 kernels.
    export_and_verify(&python, "v2", "v2 (conv 16/26 kernels, dropout 0.3)");
    // best: batch norm (its running statistics) and max pooling.
    export_and_verify(
        &python,
        "best",
        "best (conv 32/22 kernels, batch norm, max pool, dropout 0)",
    );
}

/// Trains `variant` briefly, exports it as ONNX and safetensors, and has onnxruntime and a numpy
/// forward pass predict every test image as `evaluate --logits` does; the safetensors file
/// imports back as `summary` says.
fn export_and_verify(python: &str, variant: &str, summary: &str) {
    let dir = scratch(&format!("export-{variant}"));
    let data = fashion_mnist_dir();
    let data = data.to_str().unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (onnx_file, safetensors_file) = (path("model.onnx"), path("model.safetensors"));
    ok_cli(&[
        "train",
        "--variant",
        variant,
        "--epochs",
        "1",
        "--fit",
        "train",
        "--limit-train",
        "6000",
        "--limit-eval",
        "1000",
        "--data",
        data,
        "--out",
        &path("run"),
    ]);
    let onnx = ok_cli(&[
        "export",
        "--model",
        &path("run"),
        "--format",
        "onnx",
        "--out",
        &onnx_file,
    ]);
    assert!(onnx.contains("onnxruntime"), "{onnx}");
    let st = ok_cli(&[
        "export",
        "--model",
        &path("run"),
        "--out",
        &safetensors_file,
    ]);
    assert!(st.contains("load_state_dict"), "{st}");
    ok_cli(&[
        "evaluate",
        "--model",
        &path("run"),
        "--data",
        data,
        "--logits",
        &path("ours.csv"),
    ]);
    let report = check(
        python,
        &[
            "verify",
            "--data",
            data,
            "--reference",
            &path("ours.csv"),
            "--onnx",
            &onnx_file,
            "--safetensors",
            &safetensors_file,
        ],
    );
    assert_eq!(
        report.matches("top-1 agrees on 10000/10000 images").count(),
        2,
        "{variant}: {report}"
    );
    // The safetensors export imports back with its settings.
    let imported = ok_cli(&[
        "evaluate",
        "--model",
        &safetensors_file,
        "--data",
        data,
        "--limit-eval",
        "10",
    ]);
    assert!(imported.starts_with(summary), "{imported}");
}

#[test]
fn python_written_safetensors_predict_what_python_does() {
    let Some(python) = python() else { return };
    let dir = scratch("import");
    let data = fashion_mnist_dir();
    let data = data.to_str().unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    for (naming, c1, c2) in [
        ("modules", "6", "16"),
        ("sequential", "16", "26"),
        ("modules", "3", "9"),
    ] {
        let file = path(&format!("{naming}-{c1}.safetensors"));
        let python_csv = path(&format!("{naming}-{c1}-python.csv"));
        let ours_csv = path(&format!("{naming}-{c1}-ours.csv"));
        check(
            &python,
            &[
                "random",
                "--data",
                data,
                "--out",
                &file,
                "--logits",
                &python_csv,
                "--c1",
                c1,
                "--c2",
                c2,
                "--naming",
                naming,
            ],
        );
        let out = ok_cli(&[
            "evaluate", "--model", &file, "--data", data, "--logits", &ours_csv,
        ]);
        assert!(
            out.contains(&format!("(conv {c1}/{c2} kernels, dropout 0)")),
            "{out}"
        );
        let compared = check(
            &python,
            &["compare", "--expected", &python_csv, "--actual", &ours_csv],
        );
        assert!(
            compared.contains("top-1 agrees on 10000/10000 images"),
            "{compared}"
        );
    }
}
