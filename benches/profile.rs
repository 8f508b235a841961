//! Where a native flex training step's time goes, phase by phase (`cargo bench --bench profile`,
//! run by `./build.sh bench`); the in-browser profile is in benches/browser.rs, both from
//! benches/profiling.

#[allow(dead_code)]
mod profiling;

use burn::tensor::Device;
use fashion_trainer::clock::now_seconds;

/// Per-phase milliseconds of a flex training step: 10 warm-up steps, then 100 timed ones.
fn main() {
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
