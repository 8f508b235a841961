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

// -------------------------------------------------------------------------------------------
// The web facade (src/web/) as the page's worker uses it: typed requests in, typed views out.

/// A JS value from JSON, as the worker passes one.
fn js(value: serde_json::Value) -> wasm_bindgen::JsValue {
    use serde::Serialize;
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap()
}

/// A typed JS value from JSON.
fn ts<T: tsify::Tsify>(value: serde_json::Value) -> tsify::Ts<T> {
    tsify::Ts::new_unchecked(js(value))
}

/// Field `key` of a JS object.
fn field(object: &wasm_bindgen::JsValue, key: &str) -> wasm_bindgen::JsValue {
    js_sys::Reflect::get(object, &key.into()).unwrap()
}

fn number(object: &wasm_bindgen::JsValue, key: &str) -> f64 {
    field(object, key).as_f64().unwrap_or(f64::NAN)
}

fn toy_store() -> fashion_trainer::web::DataStore {
    use fashion_trainer::shards::make_shards;
    let (manifest, files) = make_shards(&toy_dataset(240), &toy_dataset(60));
    let mut store = fashion_trainer::web::DataStore::new();
    for (entry, (name, bytes)) in manifest.shards.iter().zip(&files) {
        store.add_shard(name, bytes, &entry.sha256).unwrap();
    }
    store
}

fn toy_request(seed: u64, resume: Option<serde_json::Value>) -> serde_json::Value {
    let config = TrainingConfig::new(LeNetConfig::new())
        .with_epochs(3)
        .with_batch_size(32)
        .with_learning_rate(3e-3)
        .with_seed(seed);
    let mut request = serde_json::json!({"label": "toy", "config": config, "backend": "cpu"});
    if let Some(point) = resume {
        request["resume"] = point;
    }
    request
}

/// Training, the weights kept after every epoch, evaluation, export and import with identical
/// predictions, resuming from a saved epoch, and clear errors for bad input.
#[wasm_bindgen_test]
async fn web_api_trains_evaluates_exports_and_resumes() {
    use fashion_trainer::shards::make_shards;
    use fashion_trainer::web::{DataStore, WebModel, WebTrainer};

    let (manifest, files) = make_shards(&toy_dataset(240), &toy_dataset(60));
    let mut corrupt = files[0].1.clone();
    corrupt[50] ^= 1;
    assert!(
        DataStore::new()
            .add_shard(&files[0].0, &corrupt, &manifest.shards[0].sha256)
            .is_err()
    );
    let store = toy_store();
    assert_eq!((store.train_count(), store.test_count()), (240, 60));
    let bad = serde_json::json!({"label": "bad", "config": {"model": 3}});
    assert!(WebTrainer::create(&store, ts(bad)).await.is_err());

    let mut trainer = WebTrainer::create(&store, ts(toy_request(5, None)))
        .await
        .unwrap();
    assert_eq!(
        field(&trainer.device().unwrap().js_value(), "backend")
            .as_string()
            .as_deref(),
        Some("cpu")
    );
    assert!(trainer.description().starts_with("conv 6/16 kernels"));
    assert!(
        trainer.best_model().is_none(),
        "no weights before the first epoch"
    );
    let mut saved = Vec::new();
    while !trainer.is_done() {
        let report = trainer.step(50.0).await.unwrap().js_value();
        assert!(
            field(&report, "line")
                .as_string()
                .unwrap()
                .starts_with("Epoch ")
        );
        let weights = field(&report, "saved");
        if !weights.is_undefined() {
            saved.push(js_sys::Uint8Array::new(&field(&weights, "latest")).to_vec());
        }
        yield_now().await;
    }
    assert_eq!(saved.len(), 3, "weights after every epoch");
    let history = trainer.history().unwrap();
    assert_eq!(history.len(), 3);
    let losses: Vec<f64> = history
        .iter()
        .map(|r| number(&r.js_value(), "train_loss"))
        .collect();
    assert!(losses[2] < losses[0], "{losses:?}");
    let best_epoch = trainer.best_epoch();
    assert!(best_epoch >= 1);

    let model = trainer.best_model().unwrap();
    assert!(model.name().ends_with(&format!("best epoch {best_epoch}")));
    let evaluation = model
        .evaluate(&store, ts(serde_json::json!({"split": "test"})))
        .await
        .unwrap()
        .js_value();
    assert!(number(&evaluation, "accuracy") > 0.3);
    assert_eq!(
        js_sys::Uint8Array::new(&field(&evaluation, "predictions")).length(),
        60
    );
    let cell = store
        .cell_images(
            &js_sys::Uint8Array::new(&field(&evaluation, "predictions")).to_vec(),
            0,
            0,
            5,
        )
        .unwrap()
        .js_value();
    assert!(number(&cell, "total") >= 0.0);

    let image = toy_dataset(1).image(0).to_vec();
    let probabilities = model.predict(image.clone()).await.unwrap();
    assert_eq!(probabilities.len(), 10);
    let two = model
        .predict([image.clone(), image.clone()].concat())
        .await
        .unwrap();
    assert_eq!(two.len(), 20);
    assert!(model.predict(vec![0; 10]).await.is_err());

    let weights = model.export_as(ts(serde_json::json!("ftw"))).await.unwrap();
    let loaded = WebModel::from_bytes(
        weights.clone(),
        ts(serde_json::json!("cpu")),
        Some(best_epoch),
        None,
    )
    .await
    .unwrap();
    assert_eq!(loaded.predict(image.clone()).await.unwrap(), probabilities);
    assert_eq!(loaded.name(), model.name());
    assert!(
        WebModel::from_bytes(
            b"not weights".to_vec(),
            ts(serde_json::json!("cpu")),
            None,
            None
        )
        .await
        .is_err()
    );
    // safetensors round-trips in the browser too; ONNX is exported, and refused as weights.
    let safetensors = model
        .export_as(ts(serde_json::json!("safetensors")))
        .await
        .unwrap();
    let imported = WebModel::from_bytes(
        safetensors,
        ts(serde_json::json!("cpu")),
        None,
        Some("mine.safetensors".into()),
    )
    .await
    .unwrap();
    assert_eq!(
        imported.predict(image.clone()).await.unwrap(),
        probabilities
    );
    let onnx = model
        .export_as(ts(serde_json::json!("onnx")))
        .await
        .unwrap();
    let refused = WebModel::from_bytes(onnx, ts(serde_json::json!("cpu")), None, None).await;
    assert!(refused.is_err());
    assert_eq!(model.export_formats().unwrap().len(), 3);

    // A run cut off after its first epoch continues to the third from the saved weights.
    let first = history[0].js_value();
    let point = serde_json::json!({
        "history": [serde_wasm_bindgen::from_value::<serde_json::Value>(first).unwrap()],
        "best_epoch": 1,
        "latest": saved[0],
    });
    let mut resumed = WebTrainer::create(&store, ts(toy_request(5, Some(point.clone()))))
        .await
        .unwrap();
    while !resumed.is_done() {
        resumed.step(50.0).await.unwrap();
        yield_now().await;
    }
    let epochs: Vec<f64> = resumed
        .history()
        .unwrap()
        .iter()
        .map(|r| number(&r.js_value(), "epoch"))
        .collect();
    assert_eq!(epochs, [1.0, 2.0, 3.0]);

    // Weights of another architecture cannot resume this run.
    let v1 = fashion_trainer::presets::Variant::V1.config();
    let v1_weights =
        checkpoint::to_bytes(&v1.model.init(&Device::flex()), &v1.model, Some(&v1), "v1")
            .await
            .unwrap();
    let mut wrong = point;
    wrong["latest"] = serde_json::json!(v1_weights);
    let err = WebTrainer::create(&store, ts(toy_request(5, Some(wrong))))
        .await
        .err()
        .expect("weights of another architecture are refused");
    let message = field(&err.into(), "message").as_string().unwrap();
    assert!(message.contains("these weights are for"), "{message}");
}

/// The form checks, photos, a catalogue and a whole study, as the page's worker uses them.
#[wasm_bindgen_test]
async fn web_api_forms_photos_catalogue_and_study() {
    use fashion_trainer::web::{
        WebCatalogue, WebCatalogueLayout, WebStudy, check_config, check_study, page_info,
        preprocess_photo,
    };
    let info = page_info().unwrap().js_value();
    let fields = js_sys::Array::from(&field(&info, "training_fields"));
    assert_eq!(fields.length(), 12);
    let choices = js_sys::Array::from(&field(&info, "choice_fields"));
    assert_eq!(choices.length(), 3);
    let presets = js_sys::Array::from(&field(&info, "presets"));
    assert_eq!(presets.length(), 7);
    let form = serde_json::json!({
        "conv1_kernels": "16", "conv2_kernels": "26", "dropout": "0.3", "weight_decay": "0.0001",
        "learning_rate": "0.0005", "batch_size": "64", "epochs": "15", "seed": "42", "fit": "train",
    });
    let check = check_config(js(form.clone())).unwrap().js_value();
    assert_eq!(field(&check, "preset").as_string().as_deref(), Some("v4"));
    assert_eq!(number(&check, "total_params"), 99_976.0);
    let mut bad = form;
    bad["learning_rate"] = "0".into();
    bad["epochs"] = "".into();
    let check = check_config(js(bad)).unwrap().js_value();
    assert!(field(&check, "config").is_undefined());
    let errors = js_sys::Array::from(&field(&check, "errors"));
    let named: Vec<String> = errors
        .iter()
        .map(|e| field(&e, "field").as_string().unwrap())
        .collect();
    assert_eq!(named, ["learning_rate", "epochs"]);
    let study_check = check_study(ts(serde_json::json!({
        "epochs": "1", "seed": "42", "variants": [], "refit": "best",
    })))
    .unwrap()
    .js_value();
    assert_eq!(
        js_sys::Array::from(&field(&study_check, "errors")).length(),
        1
    );

    // A wide dark object on white: found, 784 input bytes, a square crop of the object's width.
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
    let steps = preprocess_photo(&png, ts(serde_json::json!("auto")))
        .unwrap()
        .js_value();
    assert_eq!(
        js_sys::Uint8Array::new(&field(&steps, "input")).length(),
        784
    );
    assert_eq!(field(&steps, "object_found").as_bool(), Some(true));
    let square = field(&steps, "square");
    assert_eq!(
        js_sys::Uint8Array::new(&field(&square, "rgba")).length(),
        100 * 100 * 4
    );
    assert!(preprocess_photo(b"plain text", ts(serde_json::json!("auto"))).is_err());
    assert!(preprocess_photo(&png, ts(serde_json::json!("sideways"))).is_err());

    // A study of one variant: its run, then the refit on train+val, then the report; saved and
    // restored between runs, as the page does across reloads.
    let store = toy_store();
    let plan = serde_json::json!({
        "epochs": 1, "seed": 42, "variants": ["base"], "refit": "best",
        "limit_train": 200, "limit_eval": 60,
    });
    let mut study = WebStudy::new(ts(plan)).unwrap();
    assert_eq!(number(&study.view().unwrap().js_value(), "total"), 2.0);
    let mut model = None;
    for _ in 0..2 {
        let mut trainer = study
            .train_next(&store, ts(serde_json::json!("cpu")), Vec::new())
            .await
            .unwrap();
        while !trainer.is_done() {
            trainer.step(50.0).await.unwrap();
            yield_now().await;
        }
        // Recording before the test evaluation is refused; after it, the run is recorded.
        assert!(study.record(&trainer).is_err());
        model = Some(trainer.finish().await.unwrap());
        study.record(&trainer).unwrap();
        let saved = study.study().unwrap();
        study = WebStudy::restore(saved).unwrap();
    }
    let view = study.view().unwrap().js_value();
    assert_eq!(field(&view, "is_finished").as_bool(), Some(true));
    let ids: Vec<String> = js_sys::Array::from(&field(&view, "queue"))
        .iter()
        .map(|q| field(&q, "id").as_string().unwrap())
        .collect();
    assert_eq!(ids, ["base", "base+trainval"]);
    let html = study.report(ts(serde_json::json!("html")), None).unwrap();
    assert!(html.contains("<svg") && html.contains("base+trainval"));
    assert!(!html.contains("http"), "the report is self-contained");
    let csv = study.report(ts(serde_json::json!("csv")), None).unwrap();
    assert_eq!(csv.lines().count(), 3);
    let model = model.unwrap();
    assert_eq!(model.label(), "base+trainval");

    // A catalogue of three rows (one a broken photo, one unmapped), found in a zip's paths and
    // evaluated with the refit model.
    let layout = WebCatalogueLayout::new(
        vec![
            "shop/styles.csv".into(),
            "shop/images/1.jpg".into(),
            "shop/images/2.JPG".into(),
        ],
        "shop.zip",
    )
    .unwrap();
    assert_eq!((layout.styles(), layout.image_of("2")), (0, Some(2)));
    assert!(WebCatalogueLayout::new(vec!["images/1.jpg".into()], "x.zip").is_err());
    let styles = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage\n\
        1,Men,Apparel,Topwear,Tshirts,Grey,Summer,2012,Casual\n\
        2,Men,Footwear,Shoes,Casual Shoes,Grey,Summer,2012,Casual\n\
        3,Men,Accessories,Watches,Watches,Grey,Summer,2012,Casual\n";
    let map = fashion_trainer::products::BUILTIN_LABEL_MAP;
    let auto = || ts(serde_json::json!("auto"));
    let mut catalogue = WebCatalogue::new(styles.as_bytes(), map, auto()).unwrap();
    assert!(WebCatalogue::new(b"id,name\n1,x\n", map, auto()).is_err());
    assert_eq!(catalogue.ids(), ["1", "2"]);
    catalogue.add_photo("1", &png).unwrap();
    assert!(catalogue.add_photo("2", b"GIF89a broken").is_err());
    let progress = catalogue.progress().unwrap().js_value();
    assert_eq!(
        (number(&progress, "done"), number(&progress, "total")),
        (2.0, 2.0)
    );
    let result = model
        .evaluate_catalogue(&catalogue)
        .await
        .unwrap()
        .js_value();
    let result = field(&result, "result");
    assert_eq!(number(&result, "evaluated"), 1.0);
    assert_eq!(js_sys::Array::from(&field(&result, "skipped")).length(), 1);
}
