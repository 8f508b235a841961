//! Trained weights in the browser, from a run or from a `.ftw` file: predict, evaluate, export.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;

use super::{DataStore, DeviceView, WebCatalogue, from_ts, js_err, to_ts};
use crate::checkpoint::Checkpoint;
use crate::data::{Dataset, EvalSplit, IMAGE_PIXELS, eval_images};
use crate::device::{BackendChoice, SelectedDevice, select_device};
use crate::insight::{NetworkView, Tiles, model_kernels, network_view};
use crate::interop::{ExportFormat, ExportFormatInfo};
use crate::metrics::ClassificationReport;
use crate::model::{LeNet, LeNetConfig};
use crate::products::CatalogueResult;
use crate::run::EVAL_BATCH;
use crate::training::{Evaluator, TrainingConfig};

/// Trained weights, ready to use.
#[wasm_bindgen]
pub struct WebModel {
    pub(super) model: LeNet,
    pub(super) architecture: LeNetConfig,
    /// What the page calls it ([`model_name`]).
    pub(super) name: String,
    /// The label saved with the weights.
    pub(super) label: String,
    pub(super) training: Option<TrainingConfig>,
    pub(super) selected: SelectedDevice,
}

/// Which images to evaluate on.
#[derive(Deserialize, Tsify)]
pub struct EvaluateRequest {
    /// `test` (default) or `val` (the last 10,000 training images).
    #[serde(default)]
    #[tsify(optional)]
    pub split: EvalSplit,
    /// Use only the first N images.
    #[serde(default)]
    #[tsify(optional)]
    pub limit: Option<usize>,
}

/// A model's evaluation on a labelled set.
#[derive(Serialize, Tsify)]
pub struct EvaluationView {
    /// Top-1 accuracy in [0, 1].
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub loss: f64,
    /// The classification report and confusion matrix.
    pub report: ClassificationReport,
    /// The report as text (scikit-learn style).
    pub text: String,
    /// The predicted class of every image, for the confusion matrix's galleries.
    #[serde(with = "serde_bytes")]
    #[tsify(type = "Uint8Array")]
    pub predictions: Vec<u8>,
}

/// A model's evaluation on a product catalogue.
#[derive(Serialize, Tsify)]
pub struct CatalogueView {
    /// Accuracy, report, confusion matrix, skipped photos and the most confident mistakes.
    pub result: CatalogueResult,
    /// The same as text.
    pub text: String,
}

#[wasm_bindgen]
impl WebModel {
    /// The weights of a `.ftw` or `.safetensors` file, in the architecture the file names (or
    /// its shapes say), on `backend`; `best_epoch`, when the page knows it (a stored run), goes
    /// into the model's name, and `file_name` labels weights saved without a label.
    #[wasm_bindgen(js_name = fromBytes)]
    pub async fn from_bytes(
        bytes: Vec<u8>,
        backend: Ts<BackendChoice>,
        best_epoch: Option<usize>,
        file_name: Option<String>,
    ) -> Result<WebModel, JsError> {
        let mut checkpoint = Checkpoint::from_bytes(&bytes).map_err(js_err)?;
        checkpoint.label_unlabelled(file_name.as_deref().unwrap_or_default());
        let selected = select_device(from_ts(backend, "backend")?)
            .await
            .map_err(js_err)?;
        let model = checkpoint.build(&selected.device).map_err(js_err)?;
        Ok(Self {
            model,
            architecture: checkpoint.model.clone(),
            name: model_name(&checkpoint.label, best_epoch),
            label: checkpoint.label.clone(),
            training: checkpoint.training.clone(),
            selected,
        })
    }

    /// What the page calls the model (`v1, best epoch 12`, or a file's label).
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The label saved with the weights.
    #[wasm_bindgen(getter)]
    pub fn label(&self) -> String {
        self.label.clone()
    }

    /// The architecture (and, when known, the training settings) in one line.
    #[wasm_bindgen(getter)]
    pub fn description(&self) -> String {
        match &self.training {
            Some(config) => config.describe(),
            None => self.architecture.describe(),
        }
    }

    /// The settings the weights were trained with, when known.
    #[wasm_bindgen(getter)]
    pub fn config(&self) -> Result<Option<Ts<TrainingConfig>>, JsError> {
        self.training.as_ref().map(to_ts).transpose()
    }

    /// The device it computes on, and why.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> Result<Ts<DeviceView>, JsError> {
        DeviceView::of(&self.selected)
    }

    /// Class probabilities of 28x28 images (784 `u8` pixels each, light object on black, as
    /// many as given): ten per image, in order.
    pub async fn predict(&self, pixels: Vec<u8>) -> Result<Vec<f32>, JsError> {
        if pixels.is_empty() || !pixels.len().is_multiple_of(IMAGE_PIXELS) {
            return Err(js_err(format!(
                "expected 784 pixels per image, got {}",
                pixels.len()
            )));
        }
        let count = pixels.len() / IMAGE_PIXELS;
        let set = Dataset::new(pixels, vec![0; count]).map_err(js_err)?;
        let evaluation = Evaluator::new(&self.model, Arc::new(set), EVAL_BATCH)
            .with_probabilities()
            .run()
            .await
            .map_err(js_err)?;
        Ok(evaluation.probabilities)
    }

    /// Inside the network for one 28x28 image (784 `u8` pixels, light object on black): the
    /// kernels, both layers' feature maps, and the saliency of `class` (default: the predicted
    /// one).
    pub async fn inside(
        &self,
        pixels: Vec<u8>,
        class: Option<u8>,
    ) -> Result<Ts<NetworkView>, JsError> {
        let view = network_view(&self.model, &pixels, class)
            .await
            .map_err(js_err)?;
        to_ts(&view)
    }

    /// The first layer's kernels as grey tiles.
    pub async fn kernels(&self) -> Result<Ts<Tiles>, JsError> {
        to_ts(&model_kernels(&self.model).await.map_err(js_err)?)
    }

    /// Evaluates the weights on the test set (or the validation images).
    pub async fn evaluate(
        &self,
        store: &DataStore,
        request: Ts<EvaluateRequest>,
    ) -> Result<Ts<EvaluationView>, JsError> {
        let request = from_ts(request, "evaluation request")?;
        let (train_all, test) = store.loaded()?;
        let set = eval_images(train_all, test, request.split, request.limit);
        let evaluation = Evaluator::new(&self.model, Arc::new(set), EVAL_BATCH)
            .run()
            .await
            .map_err(js_err)?;
        let report = evaluation.report();
        to_ts(&EvaluationView {
            accuracy: report.accuracy,
            loss: evaluation.loss,
            text: report.to_text(4),
            report,
            predictions: evaluation.predictions,
        })
    }

    /// Evaluates the weights on the photos collected in `catalogue`.
    #[wasm_bindgen(js_name = evaluateCatalogue)]
    pub async fn evaluate_catalogue(
        &self,
        catalogue: &WebCatalogue,
    ) -> Result<Ts<CatalogueView>, JsError> {
        let set = catalogue.run.dataset().map_err(js_err)?;
        let evaluation = Evaluator::new(&self.model, Arc::new(set), EVAL_BATCH)
            .with_probabilities()
            .run()
            .await
            .map_err(js_err)?;
        let result = catalogue.run.finish(&evaluation);
        to_ts(&CatalogueView {
            text: result.to_text(),
            result,
        })
    }

    /// The weights in `format`: `.ftw` (with their config), safetensors (PyTorch's names and
    /// layouts) or ONNX (the inference graph).
    #[wasm_bindgen(js_name = exportAs)]
    pub async fn export_as(&self, format: Ts<ExportFormat>) -> Result<Vec<u8>, JsError> {
        let format: ExportFormat = from_ts(format, "export format")?;
        let checkpoint = Checkpoint::of_model(
            &self.model,
            &self.architecture,
            self.training.as_ref(),
            &self.label,
        )
        .await
        .map_err(js_err)?;
        format.encode(&checkpoint).map_err(js_err)
    }

    /// Every format the weights export to, with code that loads each for this architecture.
    #[wasm_bindgen(getter, js_name = exportFormats)]
    pub fn export_formats(&self) -> Result<Vec<Ts<ExportFormatInfo>>, JsError> {
        ExportFormat::ALL
            .iter()
            .map(|f| to_ts(&f.info(&self.architecture)))
            .collect()
    }
}

/// What the page calls a model: its label, and the epoch its weights are from when known.
pub(super) fn model_name(label: &str, best_epoch: Option<usize>) -> String {
    let label = if label.is_empty() {
        "unnamed weights"
    } else {
        label
    };
    match best_epoch {
        Some(epoch) if epoch > 0 => format!("{label}, best epoch {epoch}"),
        _ => label.to_string(),
    }
}
