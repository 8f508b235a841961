//! The JavaScript API (the only wasm-bindgen file): a thin facade over the core. Every fallible
//! call returns `Result<_, JsError>`, so JS sees an exception with a readable message; panics are
//! logged through `console_error_panic_hook`.

use std::sync::Arc;

use wasm_bindgen::prelude::*;

use crate::checkpoint::{self, Checkpoint};
use crate::data::{CLASS_NAMES, Dataset, IMAGE_PIXELS, Splits};
use crate::device::{BackendChoice, select_device};
use crate::metrics::ClassificationReport;
use crate::model::LeNet;
use crate::photo::{self, Preprocess};
use crate::presets::Variant;
use crate::products::{BUILTIN_LABEL_MAP, CataloguePlan, CatalogueRun, LabelMap};
use crate::report::{self, CatalogueSection, StudyReport};
use crate::shards::{ShardSplit, decode_shard};
use crate::study::{RunResult, RunSpec, Study, StudyConfig};
use crate::summary::ModelSummary;
use crate::training::{Evaluator, Trainer, TrainingConfig};

#[wasm_bindgen(start)]
fn start() {
    crate::device::run_static_constructors();
    console_error_panic_hook::set_once();
}

fn js_err(err: impl std::fmt::Display) -> JsError {
    JsError::new(&err.to_string())
}

fn parse_config(config_json: &str) -> Result<TrainingConfig, JsError> {
    let config: TrainingConfig = serde_json::from_str(config_json)
        .map_err(|e| js_err(format!("invalid configuration: {e}")))?;
    config.validate().map_err(js_err)?;
    Ok(config)
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_err)
}

/// The study's presets as JSON: `[{name, description, config}]`.
#[wasm_bindgen]
pub fn presets() -> String {
    let list: Vec<serde_json::Value> = Variant::ALL
        .iter()
        .map(|v| {
            serde_json::json!({
                "name": v.name(),
                "description": v.description(),
                "config": v.config(),
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// The ten class names in label order.
#[wasm_bindgen(js_name = classNames)]
pub fn class_names() -> Vec<String> {
    CLASS_NAMES.iter().map(|s| s.to_string()).collect()
}

/// The model summary of a training config (JSON) as JSON.
#[wasm_bindgen(js_name = modelSummary)]
pub fn model_summary(config_json: &str) -> Result<String, JsError> {
    let config = parse_config(config_json)?;
    serde_json::to_string(&ModelSummary::new(&config.model)).map_err(js_err)
}

/// The model summary of a training config (JSON) as a torchsummary-style table.
#[wasm_bindgen(js_name = modelSummaryText)]
pub fn model_summary_text(config_json: &str) -> Result<String, JsError> {
    Ok(ModelSummary::new(&parse_config(config_json)?.model).to_text())
}

fn set(object: &js_sys::Object, key: &str, value: impl Into<JsValue>) -> Result<(), JsError> {
    js_sys::Reflect::set(object, &JsValue::from_str(key), &value.into())
        .map(|_| ())
        .map_err(|_| js_err(format!("could not set '{key}'")))
}

/// `{width, height, rgba}` for a canvas `ImageData`.
fn rgba_object(width: u32, height: u32, rgba: Vec<u8>) -> Result<js_sys::Object, JsError> {
    let object = js_sys::Object::new();
    set(&object, "width", width)?;
    set(&object, "height", height)?;
    set(
        &object,
        "rgba",
        js_sys::Uint8ClampedArray::from(rgba.as_slice()),
    )?;
    Ok(object)
}

fn gray_to_rgba(gray: &[u8]) -> Vec<u8> {
    gray.iter().flat_map(|&v| [v, v, v, 255]).collect()
}

fn rgb_to_rgba(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect()
}

/// Decodes and preprocesses a photo (`mode` is `auto` or `center`). Returns
/// `{width, height, crop: {x, y, width, height}, objectFound, mirrored, worn, square, resized,
/// grayscale, inverted, input}` (`worn`: a person was found and only the garment kept), where the
/// four images are `{width, height, rgba}` for canvases and `input` is the 784-byte model input to
/// pass to `WebTrainer.predict`.
#[wasm_bindgen(js_name = preprocessPhoto)]
pub fn preprocess_photo(bytes: &[u8], mode: &str) -> Result<JsValue, JsError> {
    let mode: Preprocess = mode.parse().map_err(js_err)?;
    let steps = photo::preprocess(bytes, mode).map_err(js_err)?;
    let out = js_sys::Object::new();
    set(&out, "width", steps.width)?;
    set(&out, "height", steps.height)?;
    set(&out, "crop", to_js(&steps.crop)?)?;
    set(&out, "objectFound", steps.object_found)?;
    set(&out, "mirrored", steps.mirrored)?;
    set(&out, "worn", steps.worn)?;
    let (sw, sh) = steps.square_preview.dimensions();
    set(
        &out,
        "square",
        rgba_object(sw, sh, rgb_to_rgba(steps.square_preview.as_raw()))?,
    )?;
    set(
        &out,
        "resized",
        rgba_object(28, 28, rgb_to_rgba(steps.resized.as_raw()))?,
    )?;
    set(
        &out,
        "grayscale",
        rgba_object(28, 28, gray_to_rgba(steps.grayscale.as_raw()))?,
    )?;
    set(
        &out,
        "inverted",
        rgba_object(28, 28, gray_to_rgba(&steps.input))?,
    )?;
    set(
        &out,
        "input",
        js_sys::Uint8Array::from(steps.input.as_slice()),
    )?;
    Ok(out.into())
}

/// Resolves on the next turn of the event loop (a MessageChannel message, not a clamped
/// `setTimeout(0)`): the Web Worker awaits it between training chunks so that pause, cancel and
/// other messages get in.
#[wasm_bindgen(js_name = yieldToEventLoop)]
pub async fn yield_to_event_loop() {
    crate::clock::yield_to_event_loop().await;
}

/// The label map shipped with the project (`data/product-label-map.csv`), for editing.
#[wasm_bindgen(js_name = defaultLabelMap)]
pub fn default_label_map() -> String {
    BUILTIN_LABEL_MAP.to_string()
}

/// A product catalogue being collected for evaluation (Fashion Product Images layout).
#[wasm_bindgen]
pub struct WebCatalogue {
    run: CatalogueRun,
}

#[wasm_bindgen]
impl WebCatalogue {
    /// Reads `styles.csv` and applies the label map (CSV text); `preprocess` is `auto` or
    /// `center`. Errors name the bad line or the missing column.
    #[wasm_bindgen(constructor)]
    pub fn new(
        styles_csv: &[u8],
        label_map_csv: &str,
        preprocess: &str,
    ) -> Result<WebCatalogue, JsError> {
        let map = LabelMap::parse(label_map_csv).map_err(js_err)?;
        let preprocess: Preprocess = preprocess.parse().map_err(js_err)?;
        let plan = CataloguePlan::new(styles_csv, &map).map_err(js_err)?;
        Ok(WebCatalogue {
            run: CatalogueRun::new(plan, preprocess),
        })
    }

    /// `{rows, mapped, unmapped: [[articleType, count]], classCounts: [10 counts]}`.
    #[wasm_bindgen(js_name = planJson)]
    pub fn plan_json(&self) -> String {
        let plan = self.run.plan();
        let mut class_counts = [0usize; crate::data::NUM_CLASSES];
        for item in &plan.items {
            class_counts[usize::from(item.label)] += 1;
        }
        serde_json::json!({
            "rows": plan.rows,
            "mapped": plan.items.len(),
            "unmapped": plan.unmapped,
            "classCounts": class_counts,
        })
        .to_string()
    }

    /// The ids of the mapped rows, whose photos `images/<id>.jpg` are wanted.
    pub fn ids(&self) -> Vec<String> {
        self.run.plan().items.iter().map(|i| i.id.clone()).collect()
    }

    /// Preprocesses the photo of product `id`. A bad photo throws (with the reason) and is
    /// recorded as skipped; the catalogue stays usable.
    #[wasm_bindgen(js_name = addPhoto)]
    pub fn add_photo(&mut self, id: &str, bytes: &[u8]) -> Result<(), JsError> {
        self.run.add_photo(id, bytes).map_err(js_err)
    }

    /// Records that product `id` has no photo.
    #[wasm_bindgen(js_name = addMissing)]
    pub fn add_missing(&mut self, id: &str) {
        self.run.add_missing(id);
    }

    /// Records that the photo of product `id` could not be read (by the page), and why.
    #[wasm_bindgen(js_name = addSkipped)]
    pub fn add_skipped(&mut self, id: &str, reason: &str) {
        self.run.add_skipped(id, reason);
    }

    /// Photos preprocessed so far.
    pub fn collected(&self) -> usize {
        self.run.collected()
    }

    /// The 784-byte model input of product `id`, as `{width, height, rgba}`.
    #[wasm_bindgen(js_name = inputImage)]
    pub fn input_image(&self, id: &str) -> Result<JsValue, JsError> {
        let input = self
            .run
            .input_of(id)
            .ok_or_else(|| js_err(format!("product {id} was not preprocessed")))?;
        Ok(rgba_object(28, 28, gray_to_rgba(input))?.into())
    }
}

/// Fashion-MNIST as loaded from shards.
#[wasm_bindgen]
#[derive(Default)]
pub struct DataStore {
    train: Dataset,
    test: Dataset,
}

#[wasm_bindgen]
impl DataStore {
    /// An empty store.
    #[wasm_bindgen(constructor)]
    pub fn new() -> DataStore {
        DataStore::default()
    }

    /// Verifies a shard against its sha256 and appends its images to their split.
    #[wasm_bindgen(js_name = addShard)]
    pub fn add_shard(&mut self, name: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), JsError> {
        let (split, set) = decode_shard(name, bytes, sha256_hex).map_err(js_err)?;
        let target = match split {
            ShardSplit::Train => &mut self.train,
            ShardSplit::Test => &mut self.test,
        };
        *target = std::mem::take(target).concat(&set);
        Ok(())
    }

    /// Training images loaded (60,000 when complete).
    #[wasm_bindgen(js_name = trainCount)]
    pub fn train_count(&self) -> usize {
        self.train.len()
    }

    /// Test images loaded (10,000 when complete).
    #[wasm_bindgen(js_name = testCount)]
    pub fn test_count(&self) -> usize {
        self.test.len()
    }

    /// The 784 pixels of test image `index`.
    #[wasm_bindgen(js_name = testImage)]
    pub fn test_image(&self, index: usize) -> Result<Vec<u8>, JsError> {
        if index >= self.test.len() {
            return Err(js_err(format!("test image {index} does not exist")));
        }
        Ok(self.test.image(index).to_vec())
    }

    /// The label of test image `index`.
    #[wasm_bindgen(js_name = testLabel)]
    pub fn test_label(&self, index: usize) -> Result<u8, JsError> {
        self.test
            .labels()
            .get(index)
            .copied()
            .ok_or_else(|| js_err(format!("test image {index} does not exist")))
    }
}

/// A training run in the browser.
#[wasm_bindgen]
pub struct WebTrainer {
    config: TrainingConfig,
    label: String,
    backend: String,
    backend_reason: String,
    device: burn::tensor::Device,
    trainer: Trainer,
    /// The training and validation sets the trainer uses, kept for `resume`.
    trainer_data: (Arc<Dataset>, Option<Arc<Dataset>>),
    test: Arc<Dataset>,
    imported: Option<LeNet>,
}

#[wasm_bindgen]
impl WebTrainer {
    /// Starts a run of `config_json` on the data in `store`. `backend` is `auto`, `cpu` or `gpu`;
    /// limits of 0 mean all images.
    pub async fn create(
        config_json: String,
        label: String,
        backend: String,
        store: &DataStore,
        limit_train: usize,
        limit_eval: usize,
    ) -> Result<WebTrainer, JsError> {
        let config = parse_config(&config_json)?;
        if store.train.is_empty() || store.test.is_empty() {
            return Err(js_err("the data set is not loaded yet"));
        }
        let limit = |n: usize| (n > 0).then_some(n);
        let splits = Splits::new(store.train.clone(), store.test.clone(), config.fit);
        let splits = Splits {
            train: splits.train.limited(limit(limit_train)),
            val: splits.val.map(|v| v.limited(limit(limit_eval))),
            test: splits.test.limited(limit(limit_eval)),
        };
        Self::start(config, label, &backend, splits).await
    }

    /// Starts run `spec_json` of a study (a `RunSpec` from `WebStudy.nextRun`), on exactly the
    /// images the CLI's study uses for it.
    #[wasm_bindgen(js_name = forRun)]
    pub async fn for_run(
        spec_json: String,
        backend: String,
        store: &DataStore,
    ) -> Result<WebTrainer, JsError> {
        let spec: RunSpec = serde_json::from_str(&spec_json)
            .map_err(|e| js_err(format!("invalid study run: {e}")))?;
        spec.config.validate().map_err(js_err)?;
        if store.train.is_empty() || store.test.is_empty() {
            return Err(js_err("the data set is not loaded yet"));
        }
        let splits = spec.splits(&store.train, &store.test);
        Self::start(spec.config, spec.id, &backend, splits).await
    }

    async fn start(
        config: TrainingConfig,
        label: String,
        backend: &str,
        splits: Splits,
    ) -> Result<WebTrainer, JsError> {
        let choice: BackendChoice = backend.parse().map_err(js_err)?;
        let selected = select_device(choice).await.map_err(js_err)?;
        let train = Arc::new(splits.train);
        let val = splits.val.map(Arc::new);
        let test = Arc::new(splits.test);
        let trainer = Trainer::new(config.clone(), &selected.device, train.clone(), val.clone())
            .map_err(js_err)?;
        Ok(WebTrainer {
            config,
            label,
            backend: selected.backend.to_string(),
            backend_reason: selected.reason,
            device: selected.device,
            trainer,
            trainer_data: (train, val),
            test,
            imported: None,
        })
    }

    /// Continues a run cut off after the epochs in `history_json`, from `latest_weights` (the
    /// weights after its last finished epoch) and, when known, `best_weights` of epoch `best_epoch`.
    #[allow(clippy::too_many_arguments)]
    pub async fn resume(
        config_json: String,
        label: String,
        backend: String,
        store: &DataStore,
        limit_train: usize,
        limit_eval: usize,
        history_json: String,
        latest_weights: Vec<u8>,
        best_weights: Option<Vec<u8>>,
        best_epoch: usize,
    ) -> Result<WebTrainer, JsError> {
        let mut web =
            Self::create(config_json, label, backend, store, limit_train, limit_eval).await?;
        let history = serde_json::from_str(&history_json)
            .map_err(|e| js_err(format!("the saved history is unreadable: {e}")))?;
        // Built on the plain device: the trainer moves them to its autodiff device itself.
        let load = |bytes: &[u8]| -> Result<LeNet, JsError> {
            Checkpoint::from_bytes(bytes)
                .and_then(|c| c.build_as(&web.config.model, &web.label, &web.device))
                .map_err(js_err)
        };
        let latest = load(&latest_weights)?;
        let best = match best_weights {
            Some(bytes) if best_epoch > 0 => Some((best_epoch, load(&bytes)?)),
            _ => None,
        };
        let (train, val) = (web.trainer_data.0.clone(), web.trainer_data.1.clone());
        web.trainer = Trainer::resume(
            web.config.clone(),
            &web.device,
            latest,
            best,
            history,
            train,
            val,
        )
        .map_err(js_err)?;
        Ok(web)
    }

    /// The weights after the last finished step (for resuming), as `.ftw` bytes.
    #[wasm_bindgen(js_name = exportLatestWeights)]
    pub async fn export_latest_weights(&self) -> Result<Vec<u8>, JsError> {
        let model = self
            .trainer
            .current_model()
            .ok_or_else(|| js_err("no weights yet"))?;
        checkpoint::to_bytes(&model, &self.config.model, Some(&self.config), &self.label)
            .await
            .map_err(js_err)
    }

    /// `gpu` or `cpu`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Why this backend is in use.
    #[wasm_bindgen(getter, js_name = backendReason)]
    pub fn backend_reason(&self) -> String {
        self.backend_reason.clone()
    }

    /// The run's configuration as JSON.
    #[wasm_bindgen(js_name = configJson)]
    pub fn config_json(&self) -> String {
        serde_json::to_string(&self.config).unwrap_or_default()
    }

    /// Runs up to `max_batches` batches and returns the progress object.
    pub async fn step(&mut self, max_batches: usize) -> Result<JsValue, JsError> {
        let progress = self.trainer.step(max_batches).await.map_err(js_err)?;
        to_js(&progress)
    }

    /// True when every epoch is finished.
    #[wasm_bindgen(js_name = isDone)]
    pub fn is_done(&self) -> bool {
        self.trainer.is_done()
    }

    /// Finished epochs as JSON.
    #[wasm_bindgen(js_name = historyJson)]
    pub fn history_json(&self) -> String {
        serde_json::to_string(self.trainer.history()).unwrap_or_default()
    }

    /// The 1-based best epoch, 0 before the first one ends.
    #[wasm_bindgen(js_name = bestEpoch)]
    pub fn best_epoch(&self) -> usize {
        self.trainer.best().map_or(0, |(e, _)| e)
    }

    fn model(&self) -> Result<LeNet, JsError> {
        if let Some(model) = &self.imported {
            return Ok(model.clone());
        }
        self.trainer
            .best()
            .map(|(_, m)| m)
            .or_else(|| self.trainer.current_model())
            .ok_or_else(|| js_err("no trained weights yet"))
    }

    /// Evaluates the best (or imported) weights on the test set: JSON with the report, its text
    /// and every prediction.
    #[wasm_bindgen(js_name = evaluateTest)]
    pub async fn evaluate_test(&self) -> Result<String, JsError> {
        self.evaluate("test".into()).await
    }

    /// Evaluates the best (or imported) weights on `val` or `test`: JSON with the report, its
    /// text and every prediction. A run fitted on train+val has no validation set.
    pub async fn evaluate(&self, split: String) -> Result<String, JsError> {
        let data = match split.as_str() {
            "test" => self.test.clone(),
            "val" => self.trainer_data.1.clone().ok_or_else(|| {
                js_err("this run is fitted on train+val: it has no validation set")
            })?,
            other => {
                return Err(js_err(format!(
                    "unknown split '{other}' (expected val or test)"
                )));
            }
        };
        let evaluation = Evaluator::new(&self.model()?, data, 256)
            .run()
            .await
            .map_err(js_err)?;
        let report = ClassificationReport::new(&evaluation.labels, &evaluation.predictions);
        Ok(serde_json::json!({
            "accuracy": report.accuracy,
            "loss": evaluation.loss,
            "text": report.to_text(4),
            "report": report,
            "predictions": evaluation.predictions,
        })
        .to_string())
    }

    /// The best (or imported) weights with their config, as the bytes of a `.ftw` file.
    #[wasm_bindgen(js_name = exportWeights)]
    pub async fn export_weights(&self) -> Result<Vec<u8>, JsError> {
        checkpoint::to_bytes(
            &self.model()?,
            &self.config.model,
            Some(&self.config),
            &self.label,
        )
        .await
        .map_err(js_err)
    }

    /// Loads weights for this run's architecture; another architecture is a clear error.
    #[wasm_bindgen(js_name = importWeights)]
    pub async fn import_weights(&mut self, bytes: Vec<u8>) -> Result<(), JsError> {
        let checkpoint = Checkpoint::from_bytes(&bytes).map_err(js_err)?;
        let model = checkpoint
            .build_as(&self.config.model, &self.label, &self.device)
            .map_err(js_err)?;
        self.imported = Some(model);
        Ok(())
    }

    /// Evaluates the best (or imported) weights on a collected catalogue: JSON of the
    /// `CatalogueResult` (accuracy, report, confusion matrix, skipped photos, mistakes) plus
    /// its text.
    #[wasm_bindgen(js_name = evaluateCatalogue)]
    pub async fn evaluate_catalogue(&self, catalogue: &WebCatalogue) -> Result<String, JsError> {
        if catalogue.run.collected() == 0 {
            return Err(js_err("no catalogue photo could be read"));
        }
        let set = catalogue.run.dataset().map_err(js_err)?;
        let evaluation = Evaluator::new(&self.model()?, Arc::new(set), 256)
            .with_probabilities()
            .run()
            .await
            .map_err(js_err)?;
        let result = catalogue.run.finish(&evaluation);
        let mut value = serde_json::to_value(&result).map_err(js_err)?;
        value["text"] = serde_json::Value::String(result.to_text());
        Ok(value.to_string())
    }

    /// The finished run of study run `spec_json` as `RunResult` JSON (for `WebStudy.record`):
    /// its history, best epoch and the kept weights' test report. `seconds` is its wall time.
    #[wasm_bindgen(js_name = studyResult)]
    pub async fn study_result(&self, spec_json: String, seconds: f64) -> Result<String, JsError> {
        let spec: RunSpec = serde_json::from_str(&spec_json)
            .map_err(|e| js_err(format!("invalid study run: {e}")))?;
        let (best_epoch, model) = self
            .trainer
            .best()
            .ok_or_else(|| js_err("the run has no finished epoch"))?;
        let evaluation = Evaluator::new(&model, self.test.clone(), 256)
            .run()
            .await
            .map_err(js_err)?;
        let report = ClassificationReport::new(&evaluation.labels, &evaluation.predictions);
        let result = RunResult::new(
            &spec,
            self.trainer.history().to_vec(),
            best_epoch,
            report,
            seconds,
            self.backend.clone(),
        );
        serde_json::to_string(&result).map_err(js_err)
    }

    /// Class probabilities for one 28x28 image (784 `u8` pixels, light object on black).
    pub async fn predict(&self, pixels: Vec<u8>) -> Result<Vec<f32>, JsError> {
        if pixels.len() != IMAGE_PIXELS {
            return Err(js_err(format!(
                "expected {IMAGE_PIXELS} pixels, got {}",
                pixels.len()
            )));
        }
        let set = Dataset::new(pixels, vec![0]).map_err(js_err)?;
        let evaluation = Evaluator::new(&self.model()?, Arc::new(set), 1)
            .with_probabilities()
            .run()
            .await
            .map_err(js_err)?;
        Ok(evaluation.probabilities)
    }
}

/// A study in the page: the queue of runs and the finished ones, saved as JSON (IndexedDB) so
/// a reload continues where it stopped, and the report built from them.
#[wasm_bindgen]
pub struct WebStudy {
    study: Study,
}

#[wasm_bindgen]
impl WebStudy {
    /// A new study from `StudyConfig` JSON; missing fields take the published study's values
    /// (`{}` is the whole study: five variants, 15 epochs, seed 42, refit the best).
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &str) -> Result<WebStudy, JsError> {
        let mut config = serde_json::to_value(StudyConfig::default()).map_err(js_err)?;
        let overrides: serde_json::Value = serde_json::from_str(config_json)
            .map_err(|e| js_err(format!("invalid study settings: {e}")))?;
        if let (Some(target), Some(fields)) = (config.as_object_mut(), overrides.as_object()) {
            for (key, value) in fields {
                target.insert(key.clone(), value.clone());
            }
        }
        let config: StudyConfig = serde_json::from_value(config)
            .map_err(|e| js_err(format!("invalid study settings: {e}")))?;
        Ok(WebStudy {
            study: Study::new(config).map_err(js_err)?,
        })
    }

    /// A study saved with `toJson`.
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(json: &str) -> Result<WebStudy, JsError> {
        let study: Study = serde_json::from_str(json)
            .map_err(|e| js_err(format!("the saved study is unreadable: {e}")))?;
        study.config.validate().map_err(js_err)?;
        Ok(WebStudy { study })
    }

    /// The study (plan and finished runs) as JSON, for saving.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.study).unwrap_or_default()
    }

    /// The next run to train as `RunSpec` JSON, or `undefined` when the study is finished.
    #[wasm_bindgen(js_name = nextRun)]
    pub fn next_run(&self) -> Option<String> {
        self.study
            .next_run()
            .and_then(|spec| serde_json::to_string(&spec).ok())
    }

    /// Records a finished run (`RunResult` JSON from `WebTrainer.studyResult`).
    pub fn record(&mut self, result_json: &str) -> Result<(), JsError> {
        let result: RunResult = serde_json::from_str(result_json)
            .map_err(|e| js_err(format!("invalid run result: {e}")))?;
        self.study.record(result).map_err(js_err)
    }

    /// The queue: `[{id, variant, fit, status: "done"|"waiting", valTop1, testTop1}]`, the
    /// refit run listed as waiting (id `refit`) until the runs that choose it are done.
    #[wasm_bindgen(js_name = queueJson)]
    pub fn queue_json(&self) -> String {
        let mut queue: Vec<serde_json::Value> = self
            .study
            .runs()
            .iter()
            .map(|spec| {
                let done = self.study.result(&spec.id);
                serde_json::json!({
                    "id": spec.id,
                    "variant": spec.variant,
                    "fit": spec.config.fit,
                    "status": if done.is_some() { "done" } else { "waiting" },
                    "valTop1": done.and_then(RunResult::val_top1),
                    "testTop1": done.map(RunResult::test_top1),
                })
            })
            .collect();
        if self.study.refit_run().is_none() {
            queue.push(serde_json::json!({
                "id": "refit", "variant": null, "fit": "train+val", "status": "waiting",
                "valTop1": null, "testTop1": null,
            }));
        }
        serde_json::Value::Array(queue).to_string()
    }

    /// Finished runs / all runs.
    #[wasm_bindgen(js_name = finishedRuns)]
    pub fn finished_runs(&self) -> usize {
        self.study.finished_runs().len()
    }

    /// All runs of the study, the refit included.
    #[wasm_bindgen(js_name = totalRuns)]
    pub fn total_runs(&self) -> usize {
        self.study.total_runs()
    }

    /// True when every run is finished.
    #[wasm_bindgen(js_name = isFinished)]
    pub fn is_finished(&self) -> bool {
        self.study.is_finished()
    }

    fn report(&self, catalogue_json: Option<String>) -> Result<StudyReport, JsError> {
        let catalogue = catalogue_json
            .map(|json| {
                serde_json::from_str::<CatalogueSection>(&json)
                    .map_err(|e| js_err(format!("invalid catalogue result: {e}")))
            })
            .transpose()?;
        Ok(StudyReport::new(&self.study)
            .map_err(js_err)?
            .with_catalogue(catalogue))
    }

    /// The report as one self-contained HTML file; `catalogue_json` (a `CatalogueSection`:
    /// `{model, preprocess, images, accuracy, report}`) adds the cross-domain section.
    #[wasm_bindgen(js_name = reportHtml)]
    pub fn report_html(&self, catalogue_json: Option<String>) -> Result<String, JsError> {
        Ok(report::to_html(&self.report(catalogue_json)?))
    }

    /// The report as Markdown.
    #[wasm_bindgen(js_name = reportMarkdown)]
    pub fn report_markdown(&self, catalogue_json: Option<String>) -> Result<String, JsError> {
        Ok(report::to_markdown(&self.report(catalogue_json)?))
    }

    /// The results table as CSV.
    #[wasm_bindgen(js_name = reportCsv)]
    pub fn report_csv(&self) -> Result<String, JsError> {
        Ok(report::to_csv(&self.report(None)?))
    }

    /// The whole report as JSON.
    #[wasm_bindgen(js_name = reportJson)]
    pub fn report_json(&self, catalogue_json: Option<String>) -> Result<String, JsError> {
        Ok(report::to_json(&self.report(catalogue_json)?))
    }
}
