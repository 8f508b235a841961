//! Where a native flex training step's time goes, phase by phase (run by `./build.sh bench`:
//! `cargo test --release --test profile -- --ignored --nocapture`); the in-browser profile is in
//! tests/bench_browser.rs, both from tests/profiling.
#![cfg(not(target_family = "wasm"))]

#[allow(dead_code)]
mod profiling;

use burn::tensor::Device;
use fashion_trainer::clock::now_seconds;

/// Per-phase milliseconds of a flex training step: 10 warm-up steps, then 100 timed ones.
#[test]
#[ignore = "a benchmark: run by ./build.sh bench"]
fn profile_training_step() {
    let phases = pollster::block_on(profiling::profile(
        &Device::flex(),
        10,
        100,
        now_seconds,
        || async {},
    ));
    for line in profiling::report(&phases) {
        println!("{line}");
    }
}
