//! Browser tests (`./build.sh test-browser`): the core trains and round-trips weights inside
//! headless Chromium, on the flex CPU backend and on WebGPU. Where the browser has no WebGPU
//! adapter the WebGPU tests print "skipped: no WebGPU adapter", and build.sh counts them as
//! skipped, not passed.
#![cfg(target_family = "wasm")]

use std::sync::Arc;

use burn::tensor::{Device, Tensor};
use fashion_trainer::checkpoint::{self, Checkpoint};
use fashion_trainer::data::toy_dataset;
use fashion_trainer::device::{BackendChoice, select_device};
use fashion_trainer::model::{LeNet, LeNetConfig};
use fashion_trainer::training::{Trainer, TrainingConfig};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Yields to the browser's event loop so that a long test never blocks the page for 30 s.
async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into()).unwrap();
        let set_timeout: js_sys::Function = set_timeout.into();
        set_timeout.call2(&global, &resolve, &0.into()).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

async fn train_and_check_loss_falls(device: &Device, name: &str) {
    let data = Arc::new(toy_dataset(192));
    let config = TrainingConfig::new(LeNetConfig::new())
        .with_epochs(3)
        .with_batch_size(32)
        .with_learning_rate(3e-3)
        .with_seed(3);
    let mut trainer = Trainer::new(config, device, data, None).unwrap();
    while !trainer.is_done() {
        trainer.step(2).await.unwrap();
        yield_now().await;
    }
    let losses: Vec<f64> = trainer.history().iter().map(|r| r.train_loss).collect();
    console_log!("{name}: train loss per epoch {losses:?}");
    assert!(
        losses[2] < losses[0] * 0.8,
        "{name}: loss did not fall: {losses:?}"
    );
}

async fn logits(model: &LeNet, device: &Device) -> Vec<f32> {
    let x = Tensor::<4>::ones([2, 1, 28, 28], device) * 0.5;
    model
        .forward(x)
        .into_data_async()
        .await
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap()
}

async fn checkpoint_round_trip(device: &Device) {
    let config = LeNetConfig::new().with_conv1_kernels(8);
    let model = config.init(device);
    let bytes = checkpoint::to_bytes(&model, &config, None, "custom")
        .await
        .unwrap();
    let loaded = Checkpoint::from_bytes(&bytes)
        .unwrap()
        .build(device)
        .unwrap();
    assert_eq!(logits(&model, device).await, logits(&loaded, device).await);
    assert!(Checkpoint::from_bytes(b"GIF89a").is_err());
}

async fn webgpu() -> Option<Device> {
    match select_device(BackendChoice::Gpu).await {
        Ok(selected) => Some(selected.device),
        Err(err) => {
            console_log!("skipped: no WebGPU adapter ({err})");
            None
        }
    }
}

#[wasm_bindgen_test]
async fn flex_training_makes_the_loss_fall() {
    train_and_check_loss_falls(&Device::flex(), "flex").await;
}

#[wasm_bindgen_test]
async fn flex_checkpoint_round_trip() {
    checkpoint_round_trip(&Device::flex()).await;
}

#[wasm_bindgen_test]
async fn webgpu_training_makes_the_loss_fall() {
    if let Some(device) = webgpu().await {
        train_and_check_loss_falls(&device, "webgpu").await;
    }
}

#[wasm_bindgen_test]
async fn webgpu_checkpoint_round_trip() {
    if let Some(device) = webgpu().await {
        checkpoint_round_trip(&device).await;
    }
}
