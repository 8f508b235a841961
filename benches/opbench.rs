//! Milliseconds per call of each flex op a base LeNet-5 training step (batch 64) runs, natively
//! (`cargo bench --bench opbench`, run by `./build.sh bench`); the op list is
//! benches/profiling/ops.rs, which the browser bench times too.

#[allow(dead_code)]
mod profiling;

use burn::tensor::Device;
use fashion_trainer::clock::now_seconds;

/// One `OP name ms` line per op.
fn main() {
    let times = pollster::block_on(profiling::ops::op_times(
        &Device::flex(),
        now_seconds,
        || async {},
    ));
    for (name, ms) in times {
        println!("OP {name} {ms:.3}");
    }
}
