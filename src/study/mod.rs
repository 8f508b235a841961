//! The whole study as data: which runs it needs, in which order, and what each one produced.
//!
//! A [`Study`] is a plan ([`StudyConfig`]) plus the results recorded so far. It never trains,
//! reads files or blocks: a driver (the CLI, later the page) asks [`Study::next_run`] for the next
//! unfinished run, trains it however it likes, and hands the outcome back with
//! [`Study::record`]. Because the queue is recomputed from the recorded results, a study that was
//! cut off resumes where it stopped, and the refit on train+val is only planned once every
//! train run is known, since "the best model" is decided by their validation accuracy.

mod plan;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use crate::run::{RunResult, RunSpec};
pub use plan::{RefitChoice, StudyConfig, StudyForm};

use crate::data::Fit;
use crate::format;
use crate::limits::ConfigError;
use crate::presets::Variant;
use crate::run::RunError;
use crate::training::Progress;

/// Why a study cannot be planned, take a result, or be reported.
#[derive(Debug, Error)]
pub enum StudyError {
    /// The plan has a bad field.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A result for a run the plan does not have.
    #[error("run {id} is not part of this study (planned: {planned})")]
    NotPlanned {
        /// The result's run id.
        id: String,
        /// The planned run ids.
        planned: String,
    },
    /// A result trained with another config or other image limits than planned.
    #[error("run {0} was trained with other settings than this study plans")]
    OtherSettings(String),
    /// A result that contradicts itself.
    #[error(transparent)]
    Run(#[from] RunError),
    /// No run is finished yet.
    #[error("the study has no finished run to report")]
    NothingToReport,
}

type Result<T, E = StudyError> = std::result::Result<T, E>;

/// A study in progress: the plan and the runs finished so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
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
            .ok_or_else(|| StudyError::NotPlanned {
                id: result.id.clone(),
                planned: self
                    .runs()
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let matches = result.variant == spec.variant
            && result.config.same_run(&spec.config)
            && (result.limit_train, result.limit_eval) == (spec.limit_train, spec.limit_eval);
        if !matches {
            return Err(StudyError::OtherSettings(result.id));
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

    /// A study read back from storage (a file, the browser), checked as a new one is: its plan,
    /// then every result recorded again, so an edited or damaged result is refused by name.
    pub fn restored(self) -> Result<Study> {
        let mut study = Study::new(self.config)?;
        // Train runs first: the refit can only be recorded once they are.
        let mut results = self.results;
        results.sort_by_key(|r| r.fit() == Fit::TrainVal);
        for result in results {
            study.record(result)?;
        }
        Ok(study)
    }

    /// Every run of the queue, finished or not, the refit listed (without a variant) before it
    /// can be planned.
    pub fn queue(&self) -> Vec<QueueEntry> {
        let mut queue: Vec<QueueEntry> = self
            .runs()
            .iter()
            .map(|spec| {
                let done = self.result(&spec.id);
                QueueEntry {
                    id: spec.id.clone(),
                    variant: Some(spec.variant),
                    fit: spec.config.fit,
                    epochs: spec.config.epochs,
                    done: done.is_some(),
                    best_epoch: done.map(|r| r.best_epoch),
                    val_top1: done.and_then(RunResult::val_top1),
                    test_top1: done.map(RunResult::test_top1),
                    time: done.map(|r| format::duration(r.seconds())),
                }
            })
            .collect();
        if self.refit_run().is_none() {
            queue.push(QueueEntry {
                id: "refit".into(),
                variant: None,
                fit: Fit::TrainVal,
                epochs: self.config.epochs,
                done: false,
                best_epoch: None,
                val_top1: None,
                test_top1: None,
                time: None,
            });
        }
        queue
    }

    /// The finished runs' own time (training and testing, pauses left out), in words.
    pub fn time(&self) -> String {
        format::duration(self.results.iter().map(RunResult::seconds).sum())
    }

    /// About how long the rest of the study takes while a run is at `progress`: that run's ETA
    /// plus each waiting run as long as the runs so far took on average (the finished ones, and
    /// the current one extrapolated once past 2 %). `None` until there is a pace to go by.
    pub fn eta_seconds(&self, progress: &Progress) -> Option<f64> {
        let f = progress.fraction_done;
        let mut times: Vec<f64> = self.results.iter().map(RunResult::seconds).collect();
        if f > 0.02 && f < 1.0 && progress.eta_seconds.is_finite() {
            times.push(progress.eta_seconds / (1.0 - f));
        }
        if times.is_empty() || !progress.eta_seconds.is_finite() {
            return None;
        }
        let per_run = times.iter().sum::<f64>() / times.len() as f64;
        let waiting = self.total_runs().saturating_sub(self.results.len() + 1);
        Some(progress.eta_seconds + waiting as f64 * per_run)
    }
}

/// One row of a study's queue, for the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct QueueEntry {
    /// Run id (`v1`, `v1+trainval`), or `refit` before the refit variant is known.
    pub id: String,
    /// The variant; `None` for the refit until it is known.
    pub variant: Option<Variant>,
    /// What it fits on.
    pub fit: Fit,
    /// Epochs planned.
    pub epochs: usize,
    /// True once its result is recorded.
    pub done: bool,
    /// The kept epoch, when done.
    pub best_epoch: Option<usize>,
    /// Validation top-1 at the kept epoch (train runs), when done.
    pub val_top1: Option<f64>,
    /// Test top-1, when done.
    pub test_top1: Option<f64>,
    /// The run's own time in words (`4 min 5 s`), when done.
    pub time: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::run::fake_result;

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
    fn the_queue_shows_the_refit_before_it_is_known() {
        let mut study = quick(&[Variant::Base, Variant::V1], RefitChoice::Best);
        let ids = |s: &Study| s.queue().into_iter().map(|q| q.id).collect::<Vec<_>>();
        assert_eq!(ids(&study), ["base", "v1", "refit"]);
        let base = study.next_run().unwrap();
        study.record(fake_result(&base, 0.9, 0.88)).unwrap();
        let queue = study.queue();
        assert!(queue[0].done && !queue[1].done);
        assert_eq!(queue[0].val_top1, Some(0.9));
        assert_eq!(queue[0].time.as_deref(), Some("6.5 s"));
        let v1 = study.next_run().unwrap();
        study.record(fake_result(&v1, 0.8, 0.8)).unwrap();
        assert_eq!(ids(&study), ["base", "v1", "base+trainval"]);
    }

    #[test]
    fn the_study_eta_counts_the_runs_still_waiting() {
        let mut study = quick(&[Variant::Base, Variant::V1], RefitChoice::Best);
        let base = study.next_run().unwrap();
        let mut progress = Progress {
            epoch: 1,
            epochs: 3,
            phase: crate::training::Phase::Train,
            batch: 1,
            batches: 10,
            train_loss: 1.0,
            train_accuracy: 0.5,
            images_per_second: 100.0,
            eta_seconds: f64::NAN,
            fraction_done: 0.0,
            finished_epoch: None,
            batch_shares: Vec::new(),
            peers_lost: None,
        };
        assert_eq!(study.eta_seconds(&progress), None);
        // Halfway through base, 10 s to go: base took 20 s, two more runs of 20 s wait.
        progress.fraction_done = 0.5;
        progress.eta_seconds = 10.0;
        assert_eq!(study.eta_seconds(&progress), Some(50.0));
        study.record(fake_result(&base, 0.8, 0.8)).unwrap();
        assert_eq!(study.time(), "6.5 s");
    }

    #[test]
    fn a_restored_study_checks_its_results() {
        let mut study = quick(&[Variant::Base], RefitChoice::Best);
        finish(&mut study, |_| 0.9);
        let json = serde_json::to_string(&study).unwrap();
        let back: Study = serde_json::from_str(&json).unwrap();
        let restored = back.restored().unwrap();
        assert!(restored.is_finished());
        let mut damaged: Study = serde_json::from_str(&json).unwrap();
        damaged.results[0].best_epoch = 99;
        let err = damaged.restored().unwrap_err().to_string();
        assert!(err.contains("best epoch 99"), "{err}");
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
        assert!(back.config.same_run(&result.config));
        assert_eq!(back.history.len(), result.history.len());
        for (a, b) in back.history.iter().zip(&result.history) {
            assert!((a.train_loss - b.train_loss).abs() < 1e-12);
        }
        assert_eq!(back.test_report.confusion, result.test_report.confusion);
    }
}
