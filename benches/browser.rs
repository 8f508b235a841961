//! In-browser training speed (run by `./build.sh bench`, not by the test suite: the test target
//! `bench_browser` in Cargo.toml, as `wasm-pack test` runs only test targets): base LeNet-5,
//! batch 64, on flex (wasm SIMD: 20 warm-up batches, then the median of 3 runs of 200 timed ones,
//! as the native bench and the TF.js reference page do) and on WebGPU (10 warm-up batches, then
//! 100 timed ones); where a flex training step's time goes, phase by phase and op by op
//! (benches/profiling); whether late steps slow down; and the photo path's time.
#![cfg(target_family = "wasm")]

#[allow(dead_code)]
mod profiling;

use std::sync::Arc;

use burn::tensor::Device;
use fashion_trainer::clock::{now_seconds, yield_to_event_loop};
use fashion_trainer::data::Dataset;
use fashion_trainer::device::{BackendChoice, select_device};
use fashion_trainer::photo::{self, Preprocess};
use fashion_trainer::presets::Variant;
use fashion_trainer::training::{Evaluator, Trainer};
use profiling::{BATCH, noise_dataset};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Training speed: `warmup` batches, then `runs` runs of `timed` batches, stepping `chunk` batches
/// between yields to the event loop. Returns the warm-up's seconds and each run's images/s.
async fn training_speed(
    device: &Device,
    chunk: usize,
    warmup: usize,
    timed: usize,
    runs: usize,
) -> (f64, Vec<f64>) {
    let data = Arc::new(noise_dataset((warmup + runs * timed) * BATCH));
    let config = Variant::Base.config().with_epochs(1);
    let mut trainer = Trainer::new(config, device, data, None).unwrap();
    let warmup_seconds = seconds_for(&mut trainer, warmup, chunk).await;
    let mut rates = Vec::new();
    for _ in 0..runs {
        rates.push((timed * BATCH) as f64 / seconds_for(&mut trainer, timed, chunk).await);
    }
    (warmup_seconds, rates)
}

/// Seconds to train `batches` batches, `chunk` per step.
async fn seconds_for(trainer: &mut Trainer, batches: usize, chunk: usize) -> f64 {
    let start = now_seconds();
    for _ in 0..batches / chunk {
        trainer.step(chunk).await.unwrap();
        yield_to_event_loop().await;
    }
    now_seconds() - start
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[(values.len() - 1) / 2]
}

#[wasm_bindgen_test]
async fn bench_training() {
    let (warmup, rates) = training_speed(&Device::flex(), 10, 20, 200, 3).await;
    let runs: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    console_log!(
        "wasm-flex-simd: warm-up 20 batches {warmup:.2} s; 3 runs of 200 batches: {} img/s",
        runs.join(", ")
    );
    console_log!("BENCH wasm-flex-simd {:.0}", median(rates));
    console_log!("BENCH wasm-flex-simd-warmup-s {warmup:.2}");
    match select_device(BackendChoice::Gpu).await {
        Ok(gpu) => {
            // One batch per step: a slow adapter (SwiftShader) must not keep the page busy for
            // the 30 s after which chromedriver gives up on it.
            let (_, rates) = training_speed(&gpu.device, 1, 10, 100, 1).await;
            console_log!("BENCH wasm-webgpu {:.0}", rates[0]);
        }
        Err(e) => console_log!("BENCH wasm-webgpu skipped:no-adapter ({e})"),
    }
}

/// Per-phase milliseconds of a flex training step: 10 warm-up steps, then 100 timed ones.
#[wasm_bindgen_test]
async fn profile_training_step() {
    let phases =
        profiling::profile(&Device::flex(), 10, 100, now_seconds, yield_to_event_loop).await;
    for line in profiling::report(&phases) {
        console_log!("{line}");
    }
}

/// Milliseconds per call of each flex op of a step (benches/profiling/ops.rs), as natively.
#[wasm_bindgen_test]
async fn profile_ops() {
    let times = profiling::ops::op_times(&Device::flex(), now_seconds, yield_to_event_loop).await;
    for (name, ms) in times {
        console_log!("OP {name} {ms:.3}");
    }
}

/// A 224x224 product-like JPEG: a dark garment shape on white, like the catalogue's photos.
fn synthetic_photo() -> Vec<u8> {
    use image::ImageEncoder;
    let photo = image::RgbImage::from_fn(224, 224, |x, y| {
        let inside = (60..164).contains(&x) && (30..200).contains(&y);
        if inside {
            image::Rgb([40, 60, 110])
        } else {
            image::Rgb([250, 250, 250])
        }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(photo.as_raw(), 224, 224, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

#[wasm_bindgen_test]
async fn bench_photos() {
    let jpeg = synthetic_photo();
    let model = Variant::Base.config().model.init(&Device::flex());
    let once = async || {
        let steps = photo::preprocess(&jpeg, Preprocess::Auto).unwrap();
        let set = Dataset::new(steps.input, vec![0]).unwrap();
        Evaluator::new(&model, Arc::new(set), 1)
            .with_probabilities()
            .run()
            .await
            .unwrap();
    };
    for _ in 0..5 {
        once().await;
    }
    let runs = 50;
    let start = now_seconds();
    for _ in 0..runs {
        once().await;
    }
    let ms = 1000.0 * (now_seconds() - start) / runs as f64;
    console_log!("BENCH wasm-photo-224px-ms {ms:.2}");
}

/// Milliseconds a step, batches of 4 on noise, over steps 500-1,000 and 2,500-3,000: late steps
/// were 1.7-3x slower while Adam's moments decayed into subnormal floats (src/training/optimizer.rs).
#[wasm_bindgen_test]
async fn bench_late_steps() {
    let data = Arc::new(noise_dataset(3_000 * 4));
    let config = Variant::Base.config().with_epochs(1).with_batch_size(4);
    let mut trainer = Trainer::new(config, &Device::flex(), data, None).unwrap();
    let mut parts = Vec::new();
    for _ in 0..6 {
        parts.push(seconds_for(&mut trainer, 500, 10).await * 1e3 / 500.0);
    }
    console_log!("BENCH wasm-flex-b4-ms-steps-500-1000 {:.2}", parts[1]);
    console_log!("BENCH wasm-flex-b4-ms-steps-2500-3000 {:.2}", parts[5]);
}
