//! One training run from plan to result, the same for the CLI and the page: a [`RunSpec`] says
//! what to train on which images, and [`finish_run`] turns a finished [`Trainer`] into a
//! [`RunResult`] (the kept epoch's weights evaluated on the test set).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::clock::now_seconds;
use crate::data::{Dataset, Fit, Splits};
use crate::metrics::ClassificationReport;
use crate::model::LeNet;
use crate::presets::Variant;
use crate::training::{EpochRecord, Evaluator, Trainer, TrainingConfig, TrainingError};

/// Images per evaluation batch: inference needs no gradients, so bigger bites than training.
pub const EVAL_BATCH: usize = 256;

/// One run of a study queue: everything a driver needs to train it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct RunSpec {
    /// `base`, `v1`, ... for train runs, `<variant>+trainval` for the refit.
    pub id: String,
    /// The variant trained.
    pub variant: Variant,
    /// The full training config (preset, study epochs and seed, fit).
    pub config: TrainingConfig,
    /// Fitting images limit (from the study).
    pub limit_train: Option<usize>,
    /// Validation and test images limit (from the study).
    pub limit_eval: Option<usize>,
}

impl RunSpec {
    /// The run id of `variant` under `fit`.
    pub fn id_for(variant: Variant, fit: Fit) -> String {
        match fit {
            Fit::Train => variant.name().to_string(),
            Fit::TrainVal => format!("{}+trainval", variant.name()),
        }
    }

    /// The images this run uses, from the official training set (`train_all`, 60,000) and
    /// test set. Train runs fit on the first `limit_train` of the first 50,000 and validate on
    /// the first `limit_eval` of the last 10,000; the refit fits on exactly those two parts
    /// together, so that even a quick, limited study compares train against train+val.
    pub fn splits(&self, train_all: &Dataset, test: &Dataset) -> Splits {
        let held_out = Splits::new(train_all.clone(), test.clone(), Fit::Train)
            .limited(self.limit_train, self.limit_eval);
        let val = held_out.val.unwrap_or_default();
        match self.config.fit {
            Fit::Train => Splits {
                val: Some(val),
                ..held_out
            },
            Fit::TrainVal => Splits {
                train: held_out.train.concat(&val),
                val: None,
                test: held_out.test,
            },
        }
    }
}

/// What a finished run produced; the driver stores it (as `results.json`, or in the browser).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct RunResult {
    /// The run's id, as in its [`RunSpec`].
    pub id: String,
    /// The variant trained.
    pub variant: Variant,
    /// The config it was trained with.
    pub config: TrainingConfig,
    /// Fitting images limit it was trained with.
    #[serde(default)]
    pub limit_train: Option<usize>,
    /// Validation and test images limit it was evaluated with.
    #[serde(default)]
    pub limit_eval: Option<usize>,
    /// Every epoch's metrics.
    pub history: Vec<EpochRecord>,
    /// The 1-based epoch whose weights were kept: best validation top-1, or the last epoch when
    /// fitting on train+val (there is no validation set then; see `Trainer::best`).
    pub best_epoch: usize,
    /// The kept weights on the test set.
    pub test_report: ClassificationReport,
    /// Seconds spent training and validating: the sum of the epochs' times, pauses left out.
    /// (Results written before the two times were kept apart call it `seconds`.)
    #[serde(alias = "seconds")]
    pub train_seconds: f64,
    /// Seconds spent evaluating the kept weights on the test set.
    #[serde(default)]
    pub test_seconds: f64,
    /// `cpu` or `gpu`.
    pub backend: String,
}

impl RunResult {
    /// What the data was fitted on.
    pub fn fit(&self) -> Fit {
        self.config.fit
    }

    /// Training plus test seconds: the run's own time, pauses left out.
    pub fn seconds(&self) -> f64 {
        self.train_seconds + self.test_seconds
    }

    /// The metrics of the kept epoch.
    pub fn best_record(&self) -> Option<&EpochRecord> {
        self.history.iter().find(|r| r.epoch == self.best_epoch)
    }

    /// Training top-1 at the kept epoch, in [0, 1].
    pub fn train_top1(&self) -> Option<f64> {
        self.best_record().map(|r| r.train_accuracy)
    }

    /// Validation top-1 at the kept epoch (`None` for train+val runs).
    pub fn val_top1(&self) -> Option<f64> {
        self.best_record().and_then(|r| r.val_accuracy)
    }

    /// Test top-1 of the kept weights.
    pub fn test_top1(&self) -> f64 {
        self.test_report.accuracy
    }

    /// Checks that the result is whole and consistent (a file edited, damaged or cut short by
    /// hand): a valid config, one record per epoch numbered from 1, every value finite and in
    /// range, the kept epoch among them, and test scores that follow from the confusion matrix.
    pub fn check(&self) -> Result<(), RunError> {
        match self.inconsistency() {
            Some(reason) => Err(RunError::Inconsistent {
                id: self.id.clone(),
                reason,
            }),
            None => Ok(()),
        }
    }

    fn inconsistency(&self) -> Option<String> {
        if let Err(err) = self.config.validate() {
            return Some(format!("its config is not valid: {err}"));
        }
        if self.history.len() != self.config.epochs {
            return Some(format!(
                "{} epochs recorded but the config asks for {}",
                self.history.len(),
                self.config.epochs
            ));
        }
        let fraction = |v: f64| (0.0..=1.0).contains(&v);
        let non_negative = |v: f64| v.is_finite() && v >= 0.0;
        for (i, r) in self.history.iter().enumerate() {
            let epoch = i + 1;
            if r.epoch != epoch {
                return Some(format!("record {epoch} is numbered epoch {}", r.epoch));
            }
            let sound = non_negative(r.train_loss)
                && fraction(r.train_accuracy)
                && r.val_loss.is_some() == r.val_accuracy.is_some()
                && r.val_loss.is_none_or(non_negative)
                && r.val_accuracy.is_none_or(fraction)
                && non_negative(r.seconds)
                && non_negative(r.images_per_second);
            if !sound {
                return Some(format!("epoch {epoch} holds a value out of range"));
            }
        }
        if !(1..=self.history.len()).contains(&self.best_epoch) {
            return Some(format!(
                "best epoch {} is not in its history",
                self.best_epoch
            ));
        }
        if self.limit_train == Some(0) || self.limit_eval == Some(0) {
            return Some("an image limit of 0".into());
        }
        if !non_negative(self.train_seconds) || !non_negative(self.test_seconds) {
            return Some("a time out of range".into());
        }
        self.test_report.inconsistency()
    }
}

/// Why a run could not be finished or its result cannot be used.
#[derive(Debug, Error)]
pub enum RunError {
    /// The trainer has not finished an epoch, so there are no weights to keep.
    #[error("run {0} has no finished epoch")]
    NoEpoch(String),
    /// The test evaluation failed.
    #[error(transparent)]
    Training(#[from] TrainingError),
    /// A stored result contradicts itself.
    #[error("the result of run {id}: {reason}")]
    Inconsistent {
        /// The run.
        id: String,
        /// What does not add up.
        reason: String,
    },
}

/// A finished run: its result and the weights it kept.
pub struct FinishedRun {
    /// History, kept epoch and test report.
    pub result: RunResult,
    /// The kept (best) epoch's weights, in inference mode.
    pub model: LeNet,
}

/// Finishes run `spec` trained by `trainer` on `backend`: takes the kept epoch's weights
/// (`Trainer::best`), evaluates them on `test` and records the times apart: training (the
/// epochs' own seconds) and the test evaluation.
pub async fn finish_run(
    spec: &RunSpec,
    trainer: &Trainer,
    test: Arc<Dataset>,
    backend: &str,
) -> Result<FinishedRun, RunError> {
    let (best_epoch, model) = trainer
        .best()
        .ok_or_else(|| RunError::NoEpoch(spec.id.clone()))?;
    if test.is_empty() {
        return Err(TrainingError::NothingToEvaluate("test").into());
    }
    let started = now_seconds();
    let evaluation = Evaluator::new(&model, test, EVAL_BATCH).run().await?;
    let test_seconds = now_seconds() - started;
    let history = trainer.history().to_vec();
    let result = RunResult {
        id: spec.id.clone(),
        variant: spec.variant,
        config: spec.config.clone(),
        limit_train: spec.limit_train,
        limit_eval: spec.limit_eval,
        train_seconds: history.iter().map(|r| r.seconds).sum(),
        history,
        best_epoch,
        test_report: evaluation.report(),
        test_seconds,
        backend: backend.to_string(),
    };
    Ok(FinishedRun { result, model })
}

/// A finished result for `spec` with made-up numbers: validation top-1 `val` at the best epoch
/// (train+val runs get none) and test top-1 `test` on 100 images. For tests of studies and
/// reports, which need results without training.
#[cfg(test)]
pub(crate) fn fake_result(spec: &RunSpec, val: f64, test: f64) -> RunResult {
    use crate::data::NUM_CLASSES;
    let epochs = spec.config.epochs;
    let has_val = spec.config.fit == Fit::Train;
    let history: Vec<EpochRecord> = (1..=epochs)
        .map(|epoch| {
            let f = epoch as f64 / epochs as f64;
            EpochRecord {
                epoch,
                train_loss: 1.0 - 0.5 * f,
                train_accuracy: (val + 0.02 * f).min(1.0),
                val_loss: has_val.then_some(0.6 - 0.1 * f),
                val_accuracy: has_val.then_some(val - 0.01 * (1.0 - f)),
                seconds: 2.0,
                images_per_second: 1000.0,
            }
        })
        .collect();
    let correct = (test * 100.0).round() as usize;
    let labels: Vec<u8> = (0..100).map(|i| (i % NUM_CLASSES) as u8).collect();
    let predictions: Vec<u8> = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| if i < correct { l } else { (l + 1) % 10 })
        .collect();
    RunResult {
        id: spec.id.clone(),
        variant: spec.variant,
        config: spec.config.clone(),
        limit_train: spec.limit_train,
        limit_eval: spec.limit_eval,
        train_seconds: 2.0 * epochs as f64,
        history,
        best_epoch: epochs,
        test_report: ClassificationReport::new(&labels, &predictions),
        test_seconds: 0.5,
        backend: "cpu".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::toy_dataset;
    use burn::tensor::Device;

    fn spec(fit: Fit) -> RunSpec {
        let config = Variant::Base
            .config()
            .with_epochs(2)
            .with_batch_size(32)
            .with_learning_rate(3e-3)
            .with_fit(fit);
        RunSpec {
            id: RunSpec::id_for(Variant::Base, fit),
            variant: Variant::Base,
            config,
            limit_train: None,
            limit_eval: None,
        }
    }

    #[test]
    fn damaged_results_are_refused_with_the_reason() {
        let good = fake_result(&spec(Fit::Train), 0.8, 0.85);
        assert!(good.check().is_ok());
        type Spoil = fn(&mut RunResult);
        let cases: Vec<(&str, Spoil)> = vec![
            ("epochs recorded", |r| {
                r.history.pop();
            }),
            ("numbered epoch 9", |r| r.history[1].epoch = 9),
            ("out of range", |r| r.history[0].train_loss = f64::NAN),
            ("out of range", |r| r.history[0].train_accuracy = 1.5),
            ("out of range", |r| r.history[1].val_accuracy = None),
            ("out of range", |r| r.history[0].seconds = -1.0),
            ("best epoch 3", |r| r.best_epoch = 3),
            ("best epoch 0", |r| r.best_epoch = 0),
            ("config is not valid", |r| r.config.learning_rate = -1.0),
            ("image limit of 0", |r| r.limit_eval = Some(0)),
            ("a time", |r| r.train_seconds = f64::INFINITY),
            ("do not follow", |r| r.test_report.accuracy = 0.99),
            ("do not follow", |r| r.test_report.classes[3].recall = 0.0),
            ("do not follow", |r| {
                r.test_report.confusion.counts[0][0] += 1
            }),
            ("out of range", |r| {
                r.test_report.confusion.counts[2][5] = u64::MAX
            }),
            ("empty", |r| {
                r.test_report = ClassificationReport::new(&[], &[])
            }),
        ];
        for (expect, spoil) in cases {
            let mut bad = good.clone();
            spoil(&mut bad);
            let err = bad.check().expect_err(expect).to_string();
            assert!(err.contains(expect), "{expect}: {err}");
        }
    }

    #[test]
    fn a_finished_run_is_tested_with_its_best_weights() {
        let spec = spec(Fit::Train);
        let data = Arc::new(toy_dataset(256));
        let mut trainer = Trainer::new(
            spec.config.clone(),
            &Device::flex(),
            data.clone(),
            Some(data.clone()),
        )
        .unwrap();
        let too_early = pollster::block_on(finish_run(&spec, &trainer, data.clone(), "cpu"));
        assert!(matches!(too_early, Err(RunError::NoEpoch(_))));
        while !trainer.is_done() {
            pollster::block_on(trainer.step(4)).unwrap();
        }
        let finished = pollster::block_on(finish_run(&spec, &trainer, data, "cpu")).unwrap();
        let result = finished.result;
        assert!(result.check().is_ok());
        assert_eq!(result.best_epoch, trainer.best().unwrap().0);
        assert_eq!(result.test_report.confusion.total(), 256);
        let epochs: f64 = result.history.iter().map(|r| r.seconds).sum();
        assert_eq!(result.train_seconds, epochs);
        assert!(result.test_seconds > 0.0);
        assert_eq!(result.seconds(), result.train_seconds + result.test_seconds);
    }

    #[test]
    fn results_written_with_one_time_still_load() {
        let result = fake_result(&spec(Fit::Train), 0.8, 0.8);
        let mut json = serde_json::to_value(&result).unwrap();
        let object = json.as_object_mut().unwrap();
        object.remove("train_seconds");
        object.remove("test_seconds");
        object.insert("seconds".into(), 42.0.into());
        let old: RunResult = serde_json::from_value(json).unwrap();
        assert_eq!((old.train_seconds, old.test_seconds), (42.0, 0.0));
    }

    #[test]
    fn an_inconsistent_result_is_named() {
        let mut cut = fake_result(&spec(Fit::Train), 0.8, 0.8);
        cut.history.pop();
        let err = cut.check().unwrap_err().to_string();
        assert!(err.starts_with("the result of run base: 1 epochs"), "{err}");
    }
}
