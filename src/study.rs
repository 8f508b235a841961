//! The whole study as data: which runs it needs, in which order, and what each one produced.
//!
//! A [`Study`] is a plan ([`StudyConfig`]) plus the results recorded so far. It never trains,
//! reads files or blocks: a driver (the CLI, later the page) asks [`Study::next_run`] for the next
//! unfinished run, trains it however it likes, and hands the outcome back with
//! [`Study::record`]. Because the queue is recomputed from the recorded results, a study that was
//! cut off resumes where it stopped, and the refit on train+val is only planned once every
//! train run is known, since "the best model" is decided by their validation accuracy.

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Fit, Splits};
use crate::metrics::ClassificationReport;
use crate::presets::Variant;
use crate::training::{EpochRecord, TrainingConfig};
use crate::{Error, Result};

/// Which model is refitted on train+val for the final test-set comparison.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum RefitChoice {
    /// The variant with the highest best-epoch validation top-1 (ties: the earlier variant).
    #[default]
    Best,
    /// A fixed variant, whatever the validation says.
    Variant(Variant),
}

impl std::fmt::Display for RefitChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefitChoice::Best => f.write_str("best"),
            RefitChoice::Variant(v) => f.write_str(v.name()),
        }
    }
}

impl std::str::FromStr for RefitChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("best") {
            return Ok(RefitChoice::Best);
        }
        s.parse::<Variant>().map(RefitChoice::Variant).map_err(|_| {
            format!("unknown refit choice '{s}' (expected best, base, v1, v2, v3 or v4)")
        })
    }
}

impl From<RefitChoice> for String {
    fn from(choice: RefitChoice) -> String {
        choice.to_string()
    }
}

impl TryFrom<String> for RefitChoice {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// The plan of a study: which variants, how long, on how much data, and which model to refit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// Epochs of every run.
    pub epochs: usize,
    /// Seed of every run (initialisation, shuffles, dropout).
    pub seed: u64,
    /// Use only the first N fitting images (quick studies); `None` for all.
    pub limit_train: Option<usize>,
    /// Use only the first N validation and test images; `None` for all.
    pub limit_eval: Option<usize>,
    /// The variants trained on train and compared on validation, in study order.
    pub variants: Vec<Variant>,
    /// The model refitted on train+val.
    pub refit: RefitChoice,
}

impl Default for StudyConfig {
    /// The study as published: all five variants, 15 epochs, seed 42, all data, refit the best.
    fn default() -> Self {
        Self {
            epochs: 15,
            seed: 42,
            limit_train: None,
            limit_eval: None,
            variants: Variant::ALL.to_vec(),
            refit: RefitChoice::Best,
        }
    }
}

impl StudyConfig {
    /// Checks the plan before any run starts: at least one variant, no repeats, a refit variant
    /// that is part of the study (its train run is the other half of the comparison), and run
    /// configs that [`TrainingConfig::validate`] accepts.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.variants.is_empty() {
            return bad("a study needs at least one variant".into());
        }
        for (i, v) in self.variants.iter().enumerate() {
            if self.variants[..i].contains(v) {
                return bad(format!("variant {v} is listed twice"));
            }
        }
        if let RefitChoice::Variant(v) = self.refit
            && !self.variants.contains(&v)
        {
            return bad(format!(
                "the refit variant {v} is not among the study's variants ({})",
                names(&self.variants)
            ));
        }
        if self.limit_train == Some(0) || self.limit_eval == Some(0) {
            return bad("image limits must be at least 1".into());
        }
        self.variants
            .iter()
            .try_for_each(|&v| self.run_config(v, Fit::Train).validate())
    }

    /// The variant's preset with this study's epochs, seed and the given fit.
    pub fn run_config(&self, variant: Variant, fit: Fit) -> TrainingConfig {
        variant
            .config()
            .with_epochs(self.epochs)
            .with_seed(self.seed)
            .with_fit(fit)
    }
}

fn names(variants: &[Variant]) -> String {
    variants
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One run of the queue: everything a driver needs to train it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
        let held_out = Splits::new(train_all.clone(), test.clone(), Fit::Train);
        let train = held_out.train.limited(self.limit_train);
        let val = held_out.val.unwrap_or_default().limited(self.limit_eval);
        let test = held_out.test.limited(self.limit_eval);
        match self.config.fit {
            Fit::Train => Splits {
                train,
                val: Some(val),
                test,
            },
            Fit::TrainVal => Splits {
                train: train.concat(&val),
                val: None,
                test,
            },
        }
    }
}

/// What a finished run produced; the driver fills it in and stores it (as `results.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// Wall-clock seconds of the whole run (training, validation, test).
    pub seconds: f64,
    /// `cpu` or `gpu`.
    pub backend: String,
}

impl RunResult {
    /// A result for `spec`, taking the id, variant, config and limits from it.
    pub fn new(
        spec: &RunSpec,
        history: Vec<EpochRecord>,
        best_epoch: usize,
        test_report: ClassificationReport,
        seconds: f64,
        backend: impl Into<String>,
    ) -> Self {
        Self {
            id: spec.id.clone(),
            variant: spec.variant,
            config: spec.config.clone(),
            limit_train: spec.limit_train,
            limit_eval: spec.limit_eval,
            history,
            best_epoch,
            test_report,
            seconds,
            backend: backend.into(),
        }
    }

    /// What the data was fitted on.
    pub fn fit(&self) -> Fit {
        self.config.fit
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

    /// Checks that the result is internally consistent (a file edited or cut short by hand).
    fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(format!("the result of run {}: {m}", self.id)));
        if self.history.len() != self.config.epochs {
            return bad(&format!(
                "{} epochs recorded but the config asks for {}",
                self.history.len(),
                self.config.epochs
            ));
        }
        if self.best_record().is_none() {
            return bad(&format!(
                "best epoch {} is not in its history",
                self.best_epoch
            ));
        }
        Ok(())
    }
}

/// True when two configs describe the same run. Floats are compared with a tolerance so a
/// config that went through a JSON file still matches the plan.
fn same_config(a: &TrainingConfig, b: &TrainingConfig) -> bool {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0);
    a.model.conv1_kernels == b.model.conv1_kernels
        && a.model.conv2_kernels == b.model.conv2_kernels
        && close(a.model.dropout, b.model.dropout)
        && close(a.learning_rate, b.learning_rate)
        && close(a.weight_decay, b.weight_decay)
        && (a.batch_size, a.epochs, a.seed, a.fit) == (b.batch_size, b.epochs, b.seed, b.fit)
}

/// A study in progress: the plan and the runs finished so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// The plan.
    pub config: StudyConfig,
    /// Finished runs, in the order they were recorded.
    pub results: Vec<RunResult>,
}

impl Study {
    /// An empty study; fails if the plan is invalid.
    pub fn new(config: StudyConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            results: Vec::new(),
        })
    }

    fn spec(&self, variant: Variant, fit: Fit) -> RunSpec {
        RunSpec {
            id: RunSpec::id_for(variant, fit),
            variant,
            config: self.config.run_config(variant, fit),
            limit_train: self.config.limit_train,
            limit_eval: self.config.limit_eval,
        }
    }

    /// One run per variant, fitted on train and validated, in study order.
    pub fn train_runs(&self) -> Vec<RunSpec> {
        self.config
            .variants
            .iter()
            .map(|&v| self.spec(v, Fit::Train))
            .collect()
    }

    /// The finished run with this id.
    pub fn result(&self, id: &str) -> Option<&RunResult> {
        self.results.iter().find(|r| r.id == id)
    }

    /// The finished train runs, in study order; `None` until all of them are finished.
    fn all_train_results(&self) -> Option<Vec<&RunResult>> {
        self.train_runs()
            .iter()
            .map(|spec| self.result(&spec.id))
            .collect()
    }

    /// The variant with the highest validation top-1 at its best epoch; ties go to the earlier
    /// variant. `None` until every train run is finished.
    pub fn best_variant(&self) -> Option<Variant> {
        let results = self.all_train_results()?;
        let mut best: Option<(&RunResult, f64)> = None;
        for r in results {
            let acc = r.val_top1().unwrap_or(f64::NEG_INFINITY);
            if best.is_none_or(|(_, b)| acc > b) {
                best = Some((r, acc));
            }
        }
        best.map(|(r, _)| r.variant)
    }

    /// The variant refitted on train+val, once it can be decided (after all train runs).
    pub fn refit_variant(&self) -> Option<Variant> {
        self.all_train_results()?;
        match self.config.refit {
            RefitChoice::Best => self.best_variant(),
            RefitChoice::Variant(v) => Some(v),
        }
    }

    /// The refit run, once it can be planned.
    pub fn refit_run(&self) -> Option<RunSpec> {
        self.refit_variant().map(|v| self.spec(v, Fit::TrainVal))
    }

    /// Every run planned so far, in queue order: the train runs, then the refit when known.
    pub fn runs(&self) -> Vec<RunSpec> {
        let mut runs = self.train_runs();
        runs.extend(self.refit_run());
        runs
    }

    /// The first planned run that has no result yet; `None` when the study is finished.
    pub fn next_run(&self) -> Option<RunSpec> {
        self.runs()
            .into_iter()
            .find(|spec| self.result(&spec.id).is_none())
    }

    /// True when every run, refit included, is finished.
    pub fn is_finished(&self) -> bool {
        self.next_run().is_none()
    }

    /// Total runs of the study (train runs plus the refit), known before any run.
    pub fn total_runs(&self) -> usize {
        self.config.variants.len() + 1
    }

    /// Records a finished run. It must be a planned run with the planned config and data limits
    /// (a result left over from a study with other settings is refused, so it gets redone); a
    /// result with the same id replaces the earlier one.
    pub fn record(&mut self, result: RunResult) -> Result<()> {
        let spec = self
            .runs()
            .into_iter()
            .find(|s| s.id == result.id)
            .ok_or_else(|| {
                Error::Config(format!(
                    "run {} is not part of this study (planned: {})",
                    result.id,
                    self.runs()
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let matches = result.variant == spec.variant
            && same_config(&result.config, &spec.config)
            && (result.limit_train, result.limit_eval) == (spec.limit_train, spec.limit_eval);
        if !matches {
            return Err(Error::Config(format!(
                "run {} was trained with other settings than this study plans",
                result.id
            )));
        }
        result.check()?;
        self.results.retain(|r| r.id != result.id);
        self.results.push(result);
        Ok(())
    }

    /// The finished runs in queue order (train runs in study order, then the refit).
    pub fn finished_runs(&self) -> Vec<&RunResult> {
        self.runs()
            .iter()
            .filter_map(|spec| self.result(&spec.id))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::NUM_CLASSES;

    /// A finished result for `spec` whose best epoch has validation top-1 `val` (train+val runs
    /// get none) and whose test top-1 is `test`.
    pub(crate) fn fake_result(spec: &RunSpec, val: f64, test: f64) -> RunResult {
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
        // 100 test images, `test` of them right.
        let correct = (test * 100.0).round() as usize;
        let labels: Vec<u8> = (0..100).map(|i| (i % NUM_CLASSES) as u8).collect();
        let predictions: Vec<u8> = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| if i < correct { l } else { (l + 1) % 10 })
            .collect();
        let report = ClassificationReport::new(&labels, &predictions);
        RunResult::new(spec, history, epochs, report, 12.5, "cpu")
    }

    fn quick(variants: &[Variant], refit: RefitChoice) -> Study {
        Study::new(StudyConfig {
            epochs: 3,
            variants: variants.to_vec(),
            refit,
            ..StudyConfig::default()
        })
        .unwrap()
    }

    /// Finishes every run of `study` with the given validation accuracies per variant.
    fn finish(study: &mut Study, val: impl Fn(Variant) -> f64) {
        while let Some(spec) = study.next_run() {
            let result = fake_result(&spec, val(spec.variant), 0.9);
            study.record(result).unwrap();
        }
    }

    #[test]
    fn the_default_plan_is_the_published_study() {
        let c = StudyConfig::default();
        assert_eq!((c.epochs, c.seed, c.variants.len()), (15, 42, 5));
        assert_eq!(c.refit, RefitChoice::Best);
        let study = Study::new(c).unwrap();
        let ids: Vec<String> = study.runs().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["base", "v1", "v2", "v3", "v4"]);
        assert_eq!(study.total_runs(), 6);
        let v3 = &study.train_runs()[3];
        assert_eq!(v3.config, Variant::V3.config());
    }

    #[test]
    fn queue_runs_variants_in_order_then_the_refit() {
        let mut study = quick(&[Variant::V2, Variant::Base], RefitChoice::Best);
        let first = study.next_run().unwrap();
        assert_eq!((first.id.as_str(), first.config.fit), ("v2", Fit::Train));
        assert_eq!((first.config.epochs, first.config.seed), (3, 42));
        assert!(
            study.refit_run().is_none(),
            "refit planned before train runs"
        );
        study.record(fake_result(&first, 0.8, 0.8)).unwrap();
        assert_eq!(study.next_run().unwrap().id, "base");
        assert!(study.refit_run().is_none());
        let base = study.next_run().unwrap();
        study.record(fake_result(&base, 0.85, 0.8)).unwrap();
        let refit = study.next_run().unwrap();
        assert_eq!(refit.id, "base+trainval");
        assert_eq!(
            refit.config,
            Variant::Base
                .config()
                .with_epochs(3)
                .with_fit(Fit::TrainVal)
        );
        study.record(fake_result(&refit, 0.0, 0.8)).unwrap();
        assert!(study.is_finished());
        let order: Vec<&str> = study
            .finished_runs()
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(order, ["v2", "base", "base+trainval"]);
    }

    #[test]
    fn a_resumed_study_skips_finished_runs() {
        let mut study = quick(&Variant::ALL, RefitChoice::Best);
        let first = study.next_run().unwrap();
        let second = {
            study.record(fake_result(&first, 0.8, 0.8)).unwrap();
            study.next_run().unwrap()
        };
        // A fresh study that finds those results on disk continues with the third run.
        let mut resumed = quick(&Variant::ALL, RefitChoice::Best);
        resumed.record(fake_result(&second, 0.8, 0.8)).unwrap();
        resumed.record(fake_result(&first, 0.8, 0.8)).unwrap();
        assert_eq!(resumed.next_run().unwrap().id, "v2");
        // Recording a run again replaces it instead of duplicating it.
        resumed.record(fake_result(&first, 0.7, 0.8)).unwrap();
        assert_eq!(resumed.results.len(), 2);
        assert_eq!(resumed.result("base").unwrap().val_top1(), Some(0.7));
    }

    #[test]
    fn refit_picks_the_best_validation_and_the_earlier_on_ties() {
        let mut study = quick(&Variant::ALL, RefitChoice::Best);
        finish(&mut study, |v| match v {
            Variant::V1 | Variant::V3 => 0.92,
            _ => 0.9,
        });
        assert_eq!(study.best_variant(), Some(Variant::V1));
        assert!(study.result("v1+trainval").is_some());
        assert!(study.result("v3+trainval").is_none());

        let mut fixed = quick(&Variant::ALL, RefitChoice::Variant(Variant::V4));
        finish(&mut fixed, |_| 0.9);
        assert_eq!(fixed.refit_variant(), Some(Variant::V4));
        assert!(fixed.result("v4+trainval").is_some());
    }

    #[test]
    fn results_from_other_settings_are_refused() {
        let mut study = quick(&[Variant::Base], RefitChoice::Best);
        let spec = study.next_run().unwrap();
        let mut other = fake_result(&spec, 0.8, 0.8);
        other.config.learning_rate = 0.01;
        assert!(study.record(other).is_err());
        let mut limited = fake_result(&spec, 0.8, 0.8);
        limited.limit_train = Some(100);
        assert!(study.record(limited).is_err());
        let mut stranger = fake_result(&spec, 0.8, 0.8);
        stranger.id = "v9".into();
        let err = study.record(stranger).unwrap_err().to_string();
        assert!(err.contains("not part of this study"), "{err}");
        let mut cut = fake_result(&spec, 0.8, 0.8);
        cut.history.pop();
        assert!(study.record(cut).is_err());
        // A refit result is refused until its train run is known.
        let refit = study.spec(Variant::Base, Fit::TrainVal);
        assert!(study.record(fake_result(&refit, 0.0, 0.8)).is_err());
        assert!(study.results.is_empty());
    }

    #[test]
    fn the_refit_fits_on_the_train_and_validation_images_of_the_study() {
        // 60 "training" images (50 fit, 10 validate) labelled by position, 7 test images.
        let all =
            Dataset::new(vec![0; 60 * 784], (0..60).map(|i| (i % 10) as u8).collect()).unwrap();
        let test = Dataset::new(vec![0; 7 * 784], vec![3; 7]).unwrap();
        let mut study = Study::new(StudyConfig {
            variants: vec![Variant::Base],
            limit_train: Some(20),
            limit_eval: Some(4),
            ..StudyConfig::default()
        })
        .unwrap();
        let spec = study.next_run().unwrap();
        let splits = spec.splits(&all, &test);
        assert_eq!(splits.train.len(), 20);
        assert_eq!(splits.val.as_ref().map(Dataset::len), Some(4));
        assert_eq!(splits.test.len(), 4);
        study.record(fake_result(&spec, 0.8, 0.8)).unwrap();
        let refit = study.next_run().unwrap().splits(&all, &test);
        assert_eq!((refit.train.len(), refit.val.is_none()), (24, true));
        let val_labels = &splits.val.unwrap();
        assert_eq!(&refit.train.labels()[20..], val_labels.labels());
        // Without limits, train+val is the whole official training set in its order.
        let full = StudyConfig::default();
        let spec = RunSpec {
            id: "base+trainval".into(),
            variant: Variant::Base,
            config: full.run_config(Variant::Base, Fit::TrainVal),
            limit_train: None,
            limit_eval: None,
        };
        assert_eq!(spec.splits(&all, &test).train, all);
    }

    #[test]
    fn bad_plans_fail_early() {
        let plan = |variants: Vec<Variant>, refit| StudyConfig {
            variants,
            refit,
            ..StudyConfig::default()
        };
        assert!(Study::new(plan(vec![], RefitChoice::Best)).is_err());
        assert!(Study::new(plan(vec![Variant::V1, Variant::V1], RefitChoice::Best)).is_err());
        let err = Study::new(plan(vec![Variant::V1], RefitChoice::Variant(Variant::V2)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not among"), "{err}");
        let zero = StudyConfig {
            epochs: 0,
            ..StudyConfig::default()
        };
        assert!(Study::new(zero).is_err());
    }

    #[test]
    fn refit_choice_and_plan_round_trip_as_json() {
        assert_eq!("best".parse::<RefitChoice>(), Ok(RefitChoice::Best));
        assert_eq!(
            "V3".parse::<RefitChoice>(),
            Ok(RefitChoice::Variant(Variant::V3))
        );
        assert!(
            "v9".parse::<RefitChoice>()
                .unwrap_err()
                .contains("expected best")
        );
        let plan = StudyConfig {
            refit: RefitChoice::Variant(Variant::V2),
            limit_train: Some(10),
            ..StudyConfig::default()
        };
        let json = serde_json::to_string(&plan).unwrap();
        assert!(json.contains("\"refit\":\"v2\""), "{json}");
        assert_eq!(serde_json::from_str::<StudyConfig>(&json).unwrap(), plan);
        let spec = Study::new(plan).unwrap().train_runs().remove(0);
        let result = fake_result(&spec, 0.8, 0.8);
        // serde_json's default float parsing may be one ulp off, so compare with a tolerance;
        // this is why drivers build reports from results read back from their files.
        let back: RunResult =
            serde_json::from_str(&serde_json::to_string(&result).unwrap()).unwrap();
        assert_eq!(
            (&back.id, back.variant, back.best_epoch),
            (&result.id, result.variant, 15)
        );
        assert!(same_config(&back.config, &result.config));
        assert_eq!(back.history.len(), result.history.len());
        for (a, b) in back.history.iter().zip(&result.history) {
            assert!((a.train_loss - b.train_loss).abs() < 1e-12);
        }
        assert_eq!(back.test_report.confusion, result.test_report.confusion);
    }
}
