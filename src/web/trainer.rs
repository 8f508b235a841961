//! One training run in the browser, stepped a chunk at a time by the Web Worker.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;

use super::backends::cpu_workers;
use super::model::model_name;
use super::{DataStore, DeviceView, WebModel, from_ts, js_err, to_ts};
use crate::checkpoint::{self, Checkpoint};
use crate::data::{Dataset, Splits};
use crate::device::{BackendChoice, SelectedDevice, select_device_for};
use crate::format;
use crate::limits::GPU_BATCH_FACTORS;
use crate::model::LeNet;
use crate::run::{RunResult, RunSpec, finish_run};
use crate::summary::ModelSummary;
use crate::training::{EpochRecord, Progress, Trainer, TrainingConfig};

/// A run to start: its settings, where to train, and on how many images.
#[derive(Deserialize, Tsify)]
pub struct TrainRequest {
    /// Names the run (and its saved weights).
    pub label: String,
    /// The settings.
    pub config: TrainingConfig,
    /// `auto` (the GPU when there is one), `cpu` or `gpu`.
    #[serde(default)]
    #[tsify(optional)]
    pub backend: BackendChoice,
    /// On the GPU, batches this many times larger, the learning rate scaled as much
    /// ([`TrainingConfig::with_larger_batches`]); one of [`GPU_BATCH_FACTORS`]. Ignored on the
    /// CPU and when resuming (the saved config is the one trained).
    #[serde(default)]
    #[tsify(optional)]
    pub gpu_batches: Option<usize>,
    /// Use only the first N fitting images (quick runs).
    #[serde(default)]
    #[tsify(optional)]
    pub limit_train: Option<usize>,
    /// Use only the first N validation and test images.
    #[serde(default)]
    #[tsify(optional)]
    pub limit_eval: Option<usize>,
    /// Where a run cut off (a reload, a closed tab) continues from.
    #[serde(default)]
    #[tsify(optional)]
    pub resume: Option<ResumePoint>,
}

/// The state a cut-off run was saved in after its last finished epoch.
#[derive(Deserialize, Tsify)]
pub struct ResumePoint {
    /// The finished epochs.
    pub history: Vec<EpochRecord>,
    /// The best of them (0: none).
    pub best_epoch: usize,
    /// The weights after the last finished epoch (`.ftw` bytes).
    #[serde(with = "serde_bytes")]
    #[tsify(type = "Uint8Array")]
    pub latest: Vec<u8>,
    /// The weights of the best epoch, when known.
    #[serde(default, with = "serde_bytes")]
    #[tsify(optional, type = "Uint8Array")]
    pub best: Option<Vec<u8>>,
    /// The study run it belongs to, if any: a study resumes it only when it is still the run
    /// the study plans next.
    #[serde(default)]
    #[tsify(optional)]
    pub spec: Option<RunSpec>,
}

/// What one chunk of training did.
#[derive(Serialize, Tsify)]
pub struct StepReport {
    /// Where the run is.
    pub progress: Progress,
    /// The progress in words (`Epoch 3/15 · training · batch 120/782 · ... · ETA 01:23`).
    pub line: String,
    /// The running metrics in words.
    pub metrics: String,
    /// The short form for a study's queue (`Epoch 3/15 · 17 % · ETA 01:23`).
    pub short_line: String,
    /// The epoch this chunk finished, in words (`train top-1 90.12 %, ... (12.3 s)`).
    pub epoch_summary: Option<String>,
    /// The time left, `mm:ss` (`--:--` before there is a pace to go by).
    pub eta: String,
    /// The best epoch so far (0: none).
    pub best_epoch: usize,
    /// Set when the chunk finished an epoch: the weights to keep, so a run cut off can resume.
    pub saved: Option<SavedWeights>,
    /// Set when a helper worker failed in this chunk: what happened, for the backend notice.
    pub notice: Option<String>,
}

/// Weights kept after an epoch (`.ftw` bytes).
#[derive(Serialize, Tsify)]
pub struct SavedWeights {
    /// The weights after this epoch.
    #[serde(with = "serde_bytes")]
    #[tsify(type = "Uint8Array")]
    pub latest: Vec<u8>,
    /// The same bytes again when this epoch is the best so far (they become the run's weights).
    #[serde(with = "serde_bytes")]
    #[tsify(type = "Uint8Array | undefined")]
    pub best: Option<Vec<u8>>,
}

/// A training run in the browser.
#[wasm_bindgen]
pub struct WebTrainer {
    pub(super) label: String,
    pub(super) config: TrainingConfig,
    limits: (Option<usize>, Option<usize>),
    pub(super) selected: SelectedDevice,
    pub(super) trainer: Trainer,
    pub(super) test: Arc<Dataset>,
    /// The study run this is, when it is one.
    pub(super) spec: Option<RunSpec>,
    /// Its result, once [`finish`](Self::finish)ed.
    pub(super) result: Option<RunResult>,
}

#[wasm_bindgen]
impl WebTrainer {
    /// Starts (or, with `resume`, continues) a run on the data in `store`.
    pub async fn create(
        store: &DataStore,
        request: Ts<TrainRequest>,
    ) -> Result<WebTrainer, JsError> {
        let request = from_ts(request, "training request")?;
        let factor = request.gpu_batches.unwrap_or(1);
        if !GPU_BATCH_FACTORS.contains(&factor) {
            return Err(js_err(format!(
                "GPU batches x{factor}: expected one of {GPU_BATCH_FACTORS:?}"
            )));
        }
        let (train_all, test) = store.loaded()?;
        let splits = Splits::new(train_all.clone(), test.clone(), request.config.fit)
            .limited(request.limit_train, request.limit_eval);
        let mut selected = Self::select(request.backend).await?;
        let mut config = request.config;
        if selected.backend == "gpu" && factor > 1 && request.resume.is_none() {
            config.validate().map_err(js_err)?;
            config = config.with_larger_batches(factor);
            config
                .validate()
                .map_err(|e| js_err(format!("with batches x{factor} on the GPU: {e}")))?;
            selected.reason = format!(
                "{}; batches x{factor}: {} images, learning rate {}",
                selected.reason, config.batch_size, config.learning_rate
            );
        }
        Self::start(
            request.label,
            config,
            None,
            (request.limit_train, request.limit_eval),
            selected,
            splits,
            request.resume,
        )
        .await
    }

    /// The run's label.
    #[wasm_bindgen(getter)]
    pub fn label(&self) -> String {
        self.label.clone()
    }

    /// The run's settings in one line, with its image limit when it has one.
    #[wasm_bindgen(getter)]
    pub fn description(&self) -> String {
        self.config.describe_run(self.limits.0.or(self.limits.1))
    }

    /// The model summary table (torchsummary style).
    #[wasm_bindgen(getter, js_name = summaryText)]
    pub fn summary_text(&self) -> String {
        ModelSummary::new(&self.config.model).to_text()
    }

    /// The run's settings.
    #[wasm_bindgen(getter)]
    pub fn config(&self) -> Result<Ts<TrainingConfig>, JsError> {
        to_ts(&self.config)
    }

    /// The device it trains on, and why.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> Result<Ts<DeviceView>, JsError> {
        DeviceView::of(&self.selected)
    }

    /// Trains (or validates) for about `millis` milliseconds, in whole batches, and says where
    /// the run is; after an epoch, with the weights to keep.
    pub async fn step(&mut self, millis: f64) -> Result<Ts<StepReport>, JsError> {
        let batches = self.trainer.batches_within(millis / 1000.0);
        let progress = self.trainer.step(batches).await.map_err(js_err)?;
        let notice = progress.peers_lost.as_ref().map(|why| {
            self.selected = self.selected.clone().with_replicas(1, "worker");
            format!(
                "A helper worker stopped ({why}). Training goes on in one worker from the batch \
                 it was in: nothing is lost. Start the next run to use every worker again."
            )
        });
        let best_epoch = self.best_epoch();
        let saved = match &progress.finished_epoch {
            Some(record) => {
                let latest = self.weights(self.trainer.current_model()).await?;
                let best = (best_epoch == record.epoch).then(|| latest.clone());
                Some(SavedWeights { latest, best })
            }
            None => None,
        };
        to_ts(&StepReport {
            line: progress.line(),
            metrics: progress.metrics_line(),
            short_line: progress.short_line(),
            epoch_summary: progress.finished_epoch.as_ref().map(EpochRecord::summary),
            eta: format::clock(progress.eta_seconds),
            progress,
            best_epoch,
            saved,
            notice,
        })
    }

    /// True when every epoch is finished.
    #[wasm_bindgen(js_name = isDone)]
    pub fn is_done(&self) -> bool {
        self.trainer.is_done()
    }

    /// The finished epochs.
    pub fn history(&self) -> Result<Vec<Ts<EpochRecord>>, JsError> {
        self.trainer.history().iter().map(to_ts).collect()
    }

    /// The 1-based best epoch, 0 before the first one ends.
    #[wasm_bindgen(getter, js_name = bestEpoch)]
    pub fn best_epoch(&self) -> usize {
        self.trainer.best().map_or(0, |(e, _)| e)
    }

    /// Finishes a study's run whose epochs are done: its kept weights evaluated on the test set
    /// (kept for `WebStudy.record`); returns those weights as a model.
    pub async fn finish(&mut self) -> Result<WebModel, JsError> {
        let spec = self
            .spec
            .clone()
            .ok_or_else(|| js_err("this run is not part of a study"))?;
        let finished = finish_run(
            &spec,
            &self.trainer,
            self.test.clone(),
            self.selected.backend,
        )
        .await
        .map_err(js_err)?;
        let model = WebModel {
            model: finished.model,
            architecture: spec.config.model.clone(),
            name: model_name(&spec.id, Some(finished.result.best_epoch)),
            label: spec.id.clone(),
            training: Some(spec.config.clone()),
            selected: self.selected.single(),
        };
        self.result = Some(finished.result);
        Ok(model)
    }

    /// The best weights so far as a model (for predictions, evaluation and export), or
    /// `undefined` before the first epoch ends.
    #[wasm_bindgen(js_name = bestModel)]
    pub fn best_model(&self) -> Option<WebModel> {
        let (epoch, model) = self.trainer.best()?;
        Some(WebModel {
            model,
            architecture: self.config.model.clone(),
            name: model_name(&self.label, Some(epoch)),
            label: self.label.clone(),
            training: Some(self.config.clone()),
            selected: self.selected.single(),
        })
    }
}

impl WebTrainer {
    /// The device `backend` gives a new run: one worker until helpers join (`usePeers`).
    pub(super) async fn select(backend: BackendChoice) -> Result<SelectedDevice, JsError> {
        Ok(select_device_for(backend, cpu_workers(), "worker")
            .await
            .map_err(js_err)?
            .with_replicas(1, "worker"))
    }

    /// Starts a run on `splits` and the `selected` device, continuing from `resume` when given.
    pub(super) async fn start(
        label: String,
        config: TrainingConfig,
        spec: Option<RunSpec>,
        limits: (Option<usize>, Option<usize>),
        selected: SelectedDevice,
        splits: Splits,
        resume: Option<ResumePoint>,
    ) -> Result<WebTrainer, JsError> {
        config.validate().map_err(js_err)?;
        if limits.0 == Some(0) || limits.1 == Some(0) {
            return Err(js_err("image limits must be at least 1"));
        }
        let train = Arc::new(splits.train);
        let val = splits.val.map(Arc::new);
        let trainer = match resume {
            None => Trainer::new(config.clone(), &selected.device, train, val),
            Some(point) => {
                // Built on the plain device: the trainer moves them to its autodiff device.
                let load = |bytes: &[u8]| -> Result<LeNet, JsError> {
                    Checkpoint::from_bytes(bytes)
                        .and_then(|c| c.build_as(&config.model, &label, &selected.device))
                        .map_err(js_err)
                };
                let latest = load(&point.latest)?;
                let best = match point.best {
                    Some(bytes) if point.best_epoch > 0 => Some((point.best_epoch, load(&bytes)?)),
                    _ => None,
                };
                Trainer::resume(
                    config.clone(),
                    &selected.device,
                    latest,
                    best,
                    point.history,
                    train,
                    val,
                )
            }
        }
        .map_err(js_err)?;
        Ok(WebTrainer {
            label,
            config,
            limits,
            selected,
            trainer,
            test: Arc::new(splits.test),
            spec,
            result: None,
        })
    }

    async fn weights(&self, model: Option<LeNet>) -> Result<Vec<u8>, JsError> {
        let model = model.ok_or_else(|| js_err("no weights yet"))?;
        checkpoint::to_bytes(&model, &self.config.model, Some(&self.config), &self.label)
            .await
            .map_err(js_err)
    }
}
