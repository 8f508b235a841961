//! Browser tests (`./build.sh test-browser`): the core trains and round-trips weights inside
//! headless Chromium, on the flex CPU backend and on WebGPU. Where the browser has no WebGPU
//! adapter the WebGPU tests print "skipped: no WebGPU adapter", and build.sh counts them as
//! skipped, not passed.
#![cfg(target_family = "wasm")]

use std::sync::Arc;

use burn::tensor::{Device, Tensor};
use fashion_trainer::checkpoint::{self, Checkpoint};
use fashion_trainer::clock::yield_to_event_loop as yield_now;
use fashion_trainer::data::toy_dataset;
use fashion_trainer::device::{BackendChoice, select_device};
use fashion_trainer::model::{LeNet, LeNetConfig};
use fashion_trainer::training::{Trainer, TrainingConfig};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

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

/// The JS-facing API of `web.rs`, as the page's worker uses it: shards in, training in chunks,
/// test report, weights out and back in with identical predictions, clear errors for bad input.
#[wasm_bindgen_test]
async fn web_api_trains_exports_and_imports() {
    use fashion_trainer::presets::Variant;
    use fashion_trainer::shards::make_shards;
    use fashion_trainer::training::EpochRecord;
    use fashion_trainer::web::{DataStore, WebTrainer};

    let (manifest, files) = make_shards(&toy_dataset(240), &toy_dataset(60));
    let mut store = DataStore::new();
    let mut corrupt = files[0].1.clone();
    corrupt[50] ^= 1;
    assert!(
        store
            .add_shard(&files[0].0, &corrupt, &manifest.shards[0].sha256)
            .is_err()
    );
    for (entry, (name, bytes)) in manifest.shards.iter().zip(&files) {
        store.add_shard(name, bytes, &entry.sha256).unwrap();
    }
    assert_eq!((store.train_count(), store.test_count()), (240, 60));

    let config = |seed| {
        let config = TrainingConfig::new(LeNetConfig::new())
            .with_epochs(3)
            .with_batch_size(32)
            .with_learning_rate(3e-3)
            .with_seed(seed);
        serde_json::to_string(&config).unwrap()
    };
    let create = |json: String, label: &str| {
        WebTrainer::create(json, label.into(), "cpu".into(), &store, 0, 0)
    };
    assert!(create("{\"model\": 3}".into(), "bad").await.is_err());

    let mut trainer = create(config(5), "toy").await.unwrap();
    assert_eq!(trainer.backend(), "cpu");
    while !trainer.is_done() {
        trainer.step(4).await.unwrap();
        yield_now().await;
    }
    let history: Vec<EpochRecord> = serde_json::from_str(&trainer.history_json()).unwrap();
    assert_eq!(history.len(), 3);
    assert!(history[2].train_loss < history[0].train_loss, "{history:?}");
    assert!(trainer.best_epoch() >= 1);
    let report: serde_json::Value =
        serde_json::from_str(&trainer.evaluate_test().await.unwrap()).unwrap();
    assert!(
        report["accuracy"].as_f64().unwrap() > 0.3,
        "{}",
        report["text"]
    );
    assert_eq!(report["predictions"].as_array().unwrap().len(), 60);

    let image = store.test_image(0).unwrap();
    let probabilities = trainer.predict(image.clone()).await.unwrap();
    assert_eq!(probabilities.len(), 10);
    let weights = trainer.export_weights().await.unwrap();

    let mut other = create(config(6), "toy").await.unwrap();
    assert_ne!(other.predict(image.clone()).await.unwrap(), probabilities);
    other.import_weights(weights.clone()).await.unwrap();
    assert_eq!(other.predict(image.clone()).await.unwrap(), probabilities);
    assert!(other.import_weights(b"not weights".to_vec()).await.is_err());
    assert!(other.predict(vec![0; 10]).await.is_err());

    let v1 = serde_json::to_string(&Variant::V1.config().with_epochs(1)).unwrap();
    let mut v1 = create(v1, "v1").await.unwrap();
    assert!(v1.import_weights(weights).await.is_err());
}

/// Photos, catalogues and studies through the web API, as the page's worker uses them.
#[wasm_bindgen_test]
async fn web_api_photos_catalogue_and_study() {
    use fashion_trainer::shards::make_shards;
    use fashion_trainer::web::{
        DataStore, WebCatalogue, WebStudy, WebTrainer, default_label_map, preprocess_photo,
    };
    use wasm_bindgen::JsValue;

    let (manifest, files) = make_shards(&toy_dataset(240), &toy_dataset(60));
    let mut store = DataStore::new();
    for (entry, (name, bytes)) in manifest.shards.iter().zip(&files) {
        store.add_shard(name, bytes, &entry.sha256).unwrap();
    }

    // A wide dark object on white: found, mirrored or not, 784 input bytes.
    let photo = image::RgbImage::from_fn(120, 60, |x, y| {
        let object = (10..110).contains(&x) && (20..40).contains(&y);
        image::Rgb(if object {
            [20, 20, 20]
        } else {
            [255, 255, 255]
        })
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(photo)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let steps = preprocess_photo(&png, "auto").unwrap();
    let get = |key: &str| js_sys::Reflect::get(&steps, &JsValue::from_str(key)).unwrap();
    assert_eq!(js_sys::Uint8Array::new(&get("input")).length(), 784);
    assert_eq!(get("objectFound").as_bool(), Some(true));
    let square = get("square");
    let rgba = js_sys::Reflect::get(&square, &JsValue::from_str("rgba")).unwrap();
    // The object box (100 x 20) padded to a square.
    assert_eq!(
        js_sys::Uint8ClampedArray::new(&rgba).length(),
        100 * 100 * 4
    );
    assert!(preprocess_photo(b"plain text", "auto").is_err());
    assert!(preprocess_photo(&png, "sideways").is_err());

    // A study of one variant: its run, then the refit on train+val, then the report.
    let mut study = WebStudy::new(
        r#"{"variants": ["base"], "epochs": 1, "limit_train": 200, "limit_eval": 60}"#,
    )
    .unwrap();
    assert!(WebStudy::new(r#"{"variants": []}"#).is_err());
    assert_eq!(study.total_runs(), 2);
    let mut last = None;
    while let Some(spec) = study.next_run() {
        let mut trainer = WebTrainer::for_run(spec.clone(), "cpu".into(), &store)
            .await
            .unwrap();
        while !trainer.is_done() {
            trainer.step(4).await.unwrap();
            yield_now().await;
        }
        let result = trainer.study_result(spec, 1.0).await.unwrap();
        study.record(&result).unwrap();
        // Saved and restored between runs, as the page does across reloads.
        study = WebStudy::from_json(&study.to_json()).unwrap();
        last = Some(trainer);
    }
    assert!(study.is_finished());
    let queue: serde_json::Value = serde_json::from_str(&study.queue_json()).unwrap();
    let ids: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["base", "base+trainval"]);
    let html = study.report_html(None).unwrap();
    assert!(html.contains("<svg") && html.contains("base+trainval"));
    assert!(!html.contains("http"), "the report is self-contained");
    assert!(study.report_csv().unwrap().lines().count() == 3);

    // A catalogue of two rows (one a broken photo), evaluated with the refit model.
    let styles = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage\n\
        1,Men,Apparel,Topwear,Tshirts,Grey,Summer,2012,Casual\n\
        2,Men,Footwear,Shoes,Casual Shoes,Grey,Summer,2012,Casual\n\
        3,Men,Accessories,Watches,Watches,Grey,Summer,2012,Casual\n";
    let mut catalogue = WebCatalogue::new(styles.as_bytes(), &default_label_map(), "auto").unwrap();
    assert!(WebCatalogue::new(b"id,name\n1,x\n", &default_label_map(), "auto").is_err());
    assert_eq!(catalogue.ids(), ["1", "2"]);
    catalogue.add_photo("1", &png).unwrap();
    assert!(catalogue.add_photo("2", b"GIF89a broken").is_err());
    let trainer = last.unwrap();
    let result: serde_json::Value =
        serde_json::from_str(&trainer.evaluate_catalogue(&catalogue).await.unwrap()).unwrap();
    assert_eq!(result["evaluated"], 1);
    assert_eq!(result["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(result["unmapped"][0][0], "Watches");
}
