//! The JavaScript API (the only wasm-bindgen code), after Burn's `mnist-inference-web`: a thin
//! facade over the core, one class per role.
//!
//! - [`DataStore`]: Fashion-MNIST from verified shards.
//! - [`WebTrainer`]: one training run (training only).
//! - [`WebModel`]: trained weights, from a run or from bytes: predict, evaluate, export.
//! - [`WebCatalogue`] and [`WebCatalogueLayout`]: a product catalogue's photos being collected.
//! - [`WebStudy`]: the whole study: its queue, its runs and its report.
//! - Free functions for what the page shows before any of these exist: the presets and field
//!   limits ([`page_info`]), a form checked and described ([`check_config`], [`check_study`]),
//!   a photo's preprocessing steps ([`preprocess_photo`]).
//!
//! Structured values cross as typed objects (serde-wasm-bindgen through `tsify`, which also
//! writes their TypeScript definitions into the package's `.d.ts`), bytes as typed arrays.
//! Every fallible call returns `Result<_, JsError>`: JS sees an exception with a readable
//! message; panics are logged through `console_error_panic_hook`.

mod backends;
mod catalogue;
mod data_store;
mod model;
mod replica;
mod study;
mod trainer;

pub use backends::{measure_backends_js, remember_speeds, set_workers, speeds_summary};
pub use catalogue::{WebCatalogue, WebCatalogueLayout, check_catalogue};
pub use data_store::DataStore;
pub use model::WebModel;
pub use replica::{PeerGroup, WebReplica, WebShareResult};
pub use study::WebStudy;
pub use trainer::WebTrainer;

use serde::{Deserialize, Serialize};
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;

use crate::data::CLASS_NAMES;
use crate::limits::{
    ChoiceField, FieldError, FieldLimit, TRAINING_FIELDS, WORKERS, gpu_batches_field,
    training_choices,
};
use crate::photo::{self, PhotoFindings, Preprocess};
use crate::presets::Variant;
use crate::products::BUILTIN_LABEL_MAP;
use crate::study::{StudyConfig, StudyForm};
use crate::summary::ModelSummary;
use crate::training::{FormValues, TrainingConfig};

#[wasm_bindgen(start)]
fn start() {
    crate::device::run_static_constructors();
    console_error_panic_hook::set_once();
}

/// Any error as a JS exception with its message.
fn js_err(err: impl std::fmt::Display) -> JsError {
    JsError::new(&err.to_string())
}

/// A value as its typed JS object.
fn to_ts<T: Tsify + Serialize>(value: &T) -> Result<Ts<T>, JsError> {
    value.into_ts().map_err(js_err)
}

/// A typed JS object as its value; a malformed one is an error naming `what`.
fn from_ts<T>(value: Ts<T>, what: &str) -> Result<T, JsError>
where
    T: Tsify + serde::de::DeserializeOwned,
    T::JsType: Clone,
{
    value
        .to_rust()
        .map_err(|e| js_err(format!("invalid {what}: {e}")))
}

/// The device a run or a model computes on, and why it was chosen.
#[derive(Serialize, Tsify)]
pub struct DeviceView {
    /// `gpu` or `cpu`.
    pub backend: String,
    /// Why this backend is in use (`CPU backend (flex) chosen`, `no usable GPU (...)`).
    pub reason: String,
}

impl DeviceView {
    fn of(selected: &crate::device::SelectedDevice) -> Result<Ts<DeviceView>, JsError> {
        to_ts(&DeviceView {
            backend: selected.backend.to_string(),
            reason: selected.describe(),
        })
    }
}

/// A preset as the page lists it.
#[derive(Serialize, Tsify)]
pub struct PresetView {
    /// `base`, `v1`, ...
    pub name: Variant,
    /// `V1: more kernels (16/26)`.
    pub description: String,
    /// Its settings.
    pub config: TrainingConfig,
    /// Its settings as the setup form's values, by field name.
    #[tsify(type = "Map<string, string>")]
    pub form: FormValues,
    /// True for the study's five, false for the recipes beyond it.
    pub in_study: bool,
}

/// What the page needs before anything is trained: presets, class names, the form's fields,
/// the study's defaults and the built-in label map.
#[derive(Serialize, Tsify)]
pub struct PageInfo {
    /// Every preset: the study's five, then the recipes beyond it.
    pub presets: Vec<PresetView>,
    /// The ten class names in label order.
    pub class_names: Vec<String>,
    /// The setup form's number fields, in order, with their ranges.
    pub training_fields: Vec<FieldLimit>,
    /// The setup form's choices (pooling, batch norm, schedule), with their options.
    pub choice_fields: Vec<ChoiceField>,
    /// How many workers may train a run on the CPU.
    pub workers_field: FieldLimit,
    /// How much larger a run's batches are on the GPU.
    pub gpu_batches_field: ChoiceField,
    /// The published study's plan (15 epochs, seed 42, all variants, refit the best).
    pub study_defaults: StudyConfig,
    /// `data/product-label-map.csv`, for editing.
    pub default_label_map: String,
}

/// Presets, class names, form fields, study defaults and the default label map.
#[wasm_bindgen(js_name = pageInfo)]
pub fn page_info() -> Result<Ts<PageInfo>, JsError> {
    to_ts(&PageInfo {
        presets: Variant::PRESETS
            .iter()
            .map(|&v| PresetView {
                name: v,
                description: v.description().to_string(),
                form: v.config().form_values(),
                config: v.config(),
                in_study: v.in_study(),
            })
            .collect(),
        class_names: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        training_fields: TRAINING_FIELDS.to_vec(),
        choice_fields: training_choices(),
        workers_field: WORKERS,
        gpu_batches_field: gpu_batches_field(),
        study_defaults: StudyConfig::default(),
        default_label_map: BUILTIN_LABEL_MAP.to_string(),
    })
}

/// A setup form checked: the config it makes, or every bad field.
#[derive(Serialize, Tsify)]
pub struct ConfigCheck {
    /// The config, when every field is good.
    pub config: Option<TrainingConfig>,
    /// Each bad field with its message (empty when the config is good).
    pub errors: Vec<FieldError>,
    /// The preset the settings are, if any.
    pub preset: Option<Variant>,
    /// One line for the runs table (`conv 6/16 kernels, dropout 0, wd 0, ...`).
    pub description: Option<String>,
    /// The model summary table (torchsummary style).
    pub summary_text: Option<String>,
    /// Parameters of the model.
    pub total_params: Option<usize>,
}

/// Reads the setup form (values as typed, by field name: see `pageInfo().training_fields`, plus
/// `fit`), naming every bad field; a good form gets its preset, description and model summary.
#[wasm_bindgen(js_name = checkConfig)]
pub fn check_config(
    #[wasm_bindgen(unchecked_param_type = "Record<string, string>")] form: JsValue,
) -> Result<Ts<ConfigCheck>, JsError> {
    let values: FormValues = serde_wasm_bindgen::from_value(form)
        .map_err(|e| js_err(format!("invalid form values: {e}")))?;
    let check = match TrainingConfig::from_form(&values) {
        Ok(config) => {
            let summary = ModelSummary::new(&config.model);
            ConfigCheck {
                preset: Variant::matching(&config),
                description: Some(config.describe()),
                summary_text: Some(summary.to_text()),
                total_params: Some(summary.total_params),
                config: Some(config),
                errors: Vec::new(),
            }
        }
        Err(err) => ConfigCheck {
            config: None,
            errors: err.0,
            preset: None,
            description: None,
            summary_text: None,
            total_params: None,
        },
    };
    to_ts(&check)
}

/// The description of a run of `config` with image limit `limit` (for runs stored before
/// descriptions were).
#[wasm_bindgen(js_name = describeRun)]
pub fn describe_run(config: Ts<TrainingConfig>, limit: Option<usize>) -> Result<String, JsError> {
    Ok(from_ts(config, "configuration")?.describe_run(limit.filter(|&n| n > 0)))
}

/// A study form checked: the plan it makes, or every bad field.
#[derive(Serialize, Tsify)]
pub struct StudyCheck {
    /// The plan, when every field is good.
    pub config: Option<StudyConfig>,
    /// Each bad field with its message.
    pub errors: Vec<FieldError>,
}

/// Reads the study form, naming every bad field.
#[wasm_bindgen(js_name = checkStudy)]
pub fn check_study(form: Ts<StudyForm>) -> Result<Ts<StudyCheck>, JsError> {
    let check = match StudyConfig::from_form(&from_ts(form, "study form")?) {
        Ok(config) => StudyCheck {
            config: Some(config),
            errors: Vec::new(),
        },
        Err(err) => StudyCheck {
            config: None,
            errors: err.0,
        },
    };
    to_ts(&check)
}

/// An image for a canvas: RGBA bytes, row by row.
#[derive(Serialize, Deserialize, Tsify)]
pub struct RgbaImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes.
    #[serde(with = "serde_bytes")]
    #[tsify(type = "Uint8Array")]
    pub rgba: Vec<u8>,
}

impl RgbaImage {
    fn gray(side: u32, gray: &[u8]) -> Self {
        Self {
            width: side,
            height: side,
            rgba: gray.iter().flat_map(|&v| [v, v, v, 255]).collect(),
        }
    }

    fn rgb(width: u32, height: u32, rgb: &[u8]) -> Self {
        Self {
            width,
            height,
            rgba: rgb
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
        }
    }
}

/// Every step of a photo's preprocessing, for display, and the model input.
#[derive(Serialize, Tsify)]
// serde serialises a flattened struct as a map: a plain object in JS, not a `Map`.
#[tsify(hashmap_as_object)]
pub struct PhotoView {
    /// The photo's size, the crop and what was done to it.
    #[serde(flatten)]
    pub found: PhotoFindings,
    /// The square crop (at most 224 px a side).
    pub square: RgbaImage,
    /// 28x28 in colour.
    pub resized: RgbaImage,
    /// 28x28 grayscale.
    pub grayscale: RgbaImage,
    /// 28x28 inverted: the model input.
    pub inverted: RgbaImage,
    /// The 784 bytes of the model input, for `WebModel.predict`.
    #[serde(with = "serde_bytes")]
    #[tsify(type = "Uint8Array")]
    pub input: Vec<u8>,
    /// Why the photo gets no prediction (it is blank), or `None`.
    pub unclassifiable: Option<String>,
}

/// Decodes and preprocesses a photo (`auto` or `center` crop).
#[wasm_bindgen(js_name = preprocessPhoto)]
pub fn preprocess_photo(bytes: &[u8], mode: Ts<Preprocess>) -> Result<Ts<PhotoView>, JsError> {
    let steps = photo::preprocess(bytes, from_ts(mode, "preprocessing mode")?).map_err(js_err)?;
    photo_view(steps)
}

/// Preprocesses one camera frame (`width` x `height` RGBA pixels, as a canvas gives them) the
/// way a photo is.
#[wasm_bindgen(js_name = preprocessFrame)]
pub fn preprocess_frame(
    width: u32,
    height: u32,
    rgba: &[u8],
    mode: Ts<Preprocess>,
) -> Result<Ts<PhotoView>, JsError> {
    let pixels = u64::from(width) * u64::from(height);
    if width == 0 || height == 0 || pixels > photo::MAX_PIXELS || rgba.len() as u64 != pixels * 4 {
        return Err(js_err(format!(
            "a {width} x {height} frame needs {} RGBA bytes (at most {} megapixels), got {}",
            pixels * 4,
            photo::MAX_PIXELS / 1_000_000,
            rgba.len()
        )));
    }
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let image = image::RgbImage::from_raw(width, height, rgb).expect("the size was checked");
    photo_view(photo::preprocess_image(
        &image,
        from_ts(mode, "preprocessing mode")?,
    ))
}

fn photo_view(steps: photo::PhotoSteps) -> Result<Ts<PhotoView>, JsError> {
    let (sw, sh) = steps.square_preview.dimensions();
    let unclassifiable = steps.classifiable().err().map(|err| err.to_string());
    to_ts(&PhotoView {
        found: steps.found,
        square: RgbaImage::rgb(sw, sh, steps.square_preview.as_raw()),
        resized: RgbaImage::rgb(28, 28, steps.resized.as_raw()),
        grayscale: RgbaImage::gray(28, steps.grayscale.as_raw()),
        inverted: RgbaImage::gray(28, &steps.input),
        input: steps.input,
        unclassifiable,
    })
}

/// The first layer's kernels in `.ftw` weights (each epoch's, as the trainer saves them), as
/// grey tiles: 0 mid-grey, the largest weight black or white.
#[wasm_bindgen(js_name = kernelTiles)]
pub fn kernel_tiles(weights: &[u8]) -> Result<Ts<crate::insight::Tiles>, JsError> {
    let checkpoint = crate::checkpoint::Checkpoint::from_bytes(weights).map_err(js_err)?;
    to_ts(&crate::insight::kernel_tiles(&checkpoint).map_err(js_err)?)
}

/// Drops the cached GPU device after the browser lost it (the worker hears `GPUDevice.lost`):
/// later runs and models compute on the CPU (`auto`) or say why they cannot (`gpu`) until the
/// page is reloaded. `reason` is the browser's message.
#[wasm_bindgen(js_name = dropGpuDevice)]
pub fn drop_gpu_device(reason: &str) {
    crate::device::forget_gpu(reason);
}

/// Test hook, called only by the worker's fault injection (`?faults=trap@N`, see README
/// "Tests"): traps the module the way a bug or a failed allocation does, so that the page's
/// recovery from a dead trainer can be tested.
#[wasm_bindgen(js_name = faultTrap)]
pub fn fault_trap() {
    std::process::abort();
}

/// Resolves on the next turn of the event loop (a MessageChannel message, not a clamped
/// `setTimeout(0)`): the Web Worker awaits it between training chunks so that pause, cancel and
/// other messages get in.
#[wasm_bindgen(js_name = yieldToEventLoop)]
pub async fn yield_to_event_loop() {
    crate::clock::yield_to_event_loop().await;
}
