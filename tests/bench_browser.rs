//! In-browser training speed (run by `./build.sh bench`, not by the test suite): base LeNet-5,
//! batch 64, 10 warm-up batches then 100 timed ones, on flex (wasm SIMD) and on WebGPU.
#![cfg(target_family = "wasm")]

use std::sync::Arc;

use burn::tensor::Device;
use fashion_trainer::clock::{now_seconds, yield_to_event_loop};
use fashion_trainer::data::{Dataset, IMAGE_PIXELS};
use fashion_trainer::device::{BackendChoice, select_device};
use fashion_trainer::photo::{self, Preprocess};
use fashion_trainer::presets::Variant;
use fashion_trainer::training::{Evaluator, Trainer};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const WARMUP: usize = 10;
const TIMED: usize = 100;
const BATCH: usize = 64;

fn noise_dataset(n: usize) -> Dataset {
    let mut state = 1u32;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8
    };
    let images = (0..n * IMAGE_PIXELS).map(|_| next()).collect();
    let labels = (0..n).map(|i| (i % 10) as u8).collect();
    Dataset::new(images, labels).unwrap()
}

/// Training images/s, stepping `chunk` batches between yields to the event loop.
async fn images_per_second(device: &Device, chunk: usize) -> f64 {
    let data = Arc::new(noise_dataset((WARMUP + TIMED) * BATCH));
    let config = Variant::Base.config().with_epochs(1);
    let mut trainer = Trainer::new(config, device, data, None).unwrap();
    for _ in 0..WARMUP / chunk {
        trainer.step(chunk).await.unwrap();
        yield_to_event_loop().await;
    }
    let start = now_seconds();
    for _ in 0..TIMED / chunk {
        trainer.step(chunk).await.unwrap();
        yield_to_event_loop().await;
    }
    (TIMED * BATCH) as f64 / (now_seconds() - start)
}

#[wasm_bindgen_test]
async fn bench_training() {
    let flex = images_per_second(&Device::flex(), 10).await;
    console_log!("BENCH wasm-flex-simd {flex:.0}");
    match select_device(BackendChoice::Gpu).await {
        Ok(gpu) => {
            // One batch per step: a slow adapter (SwiftShader) must not keep the page busy for
            // the 30 s after which chromedriver gives up on it.
            let rate = images_per_second(&gpu.device, 1).await;
            console_log!("BENCH wasm-webgpu {rate:.0}");
        }
        Err(e) => console_log!("BENCH wasm-webgpu skipped:no-adapter ({e})"),
    }
}

/// A 224x224 product-like JPEG: a dark garment shape on white, like the catalogue's photos.
fn synthetic_photo() -> Vec<u8> {
    use image::ImageEncoder;
    let photo = image::RgbImage::from_fn(224, 224, |x, y| {
        let inside = (60..164).contains(&x) && (30..200).contains(&y);
        if inside { image::Rgb([40, 60, 110]) } else { image::Rgb([250, 250, 250]) }
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
