//! The study's report, computed from the finished runs and rendered as one self-contained HTML
//! page (inline CSS and SVG charts, no script, no external resource), Markdown, CSV and JSON.
//!
//! Every number, table and change list comes from a [`Study`]'s results; nothing is hand-written,
//! so a rerun with other settings produces a report that matches it. Rendering is pure (`&report
//! → String`), so the same code serves the CLI and the page. This module holds the report model
//! and builds it; `text` renders CSV, JSON and Markdown, `html` the page, `chart` its SVG charts.

mod chart;
mod html;
mod text;

pub use html::{escape, to_html};
pub use text::{results_markdown, to_csv, to_json, to_markdown};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::Fit;
use crate::interop::{ExportFormat, ExportFormatInfo};
use crate::metrics::ClassificationReport;
use crate::presets::Variant;
use crate::study::{RefitChoice, RunResult, Study, StudyConfig, StudyError};
use crate::summary::ModelSummary;
use crate::training::{EpochRecord, TrainingConfig};

/// One configuration field that differs between two runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigChange {
    /// Dotted field path, e.g. `model.dropout` or `learning_rate`.
    pub field: String,
    /// The value in the run compared with.
    pub old: String,
    /// The value in this run.
    pub new: String,
}

/// One trained model: what it is, how it differs from the one before, and how it trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSection {
    /// Run id (`v2`, `v4+trainval`).
    pub id: String,
    /// The variant.
    pub variant: Variant,
    /// The variant's description, plus the fit for the refit.
    pub description: String,
    /// The run its config is compared with: the previous variant, or for the refit the same
    /// variant fitted on train. `None` for the first model.
    pub compared_with: Option<String>,
    /// Fields that changed against `compared_with`.
    pub changes: Vec<ConfigChange>,
    /// The full config.
    pub config: TrainingConfig,
    /// Layers, output shapes and parameter counts.
    pub summary: ModelSummary,
    /// Every epoch's metrics.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
}

/// One row of the results table, accuracies in [0, 1].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Run id.
    pub id: String,
    /// The variant.
    pub variant: Variant,
    /// What it was fitted on.
    pub fit: Fit,
    /// Epochs trained.
    pub epochs: usize,
    /// The kept epoch.
    pub best_epoch: usize,
    /// Training top-1 at the kept epoch.
    pub train_top1: f64,
    /// Validation top-1 at the kept epoch (`None` on train+val).
    pub val_top1: Option<f64>,
    /// Test top-1 of the kept weights.
    pub test_top1: f64,
    /// The run's own seconds: training and testing, pauses left out.
    pub seconds: f64,
    /// The reference study's validation top-1 of this variant (train runs only; see
    /// [`Variant::published_val_top1`]).
    pub seed_val_top1: Option<f64>,
    /// The reference study's test top-1 of this run, where it published one (see
    /// [`Variant::published_test_top1`]).
    pub seed_test_top1: Option<f64>,
}

/// What one variant changed against the previous one, measured on validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// The earlier run.
    pub from: String,
    /// The later run.
    pub to: String,
    /// What the later variant changes.
    pub change: String,
    /// Validation top-1 of `to` minus that of `from`, in percentage points.
    pub val_top1_points: Option<f64>,
    /// The same difference in the reference study.
    pub seed_val_top1_points: Option<f64>,
    /// Training minus validation top-1 of `from` at its kept epoch, in points (over-fitting).
    pub gap_from_points: Option<f64>,
    /// Training minus validation top-1 of `to` at its kept epoch, in points.
    pub gap_to_points: Option<f64>,
}

/// A recipe run beyond the study, beside the study's best (the "Beyond the study" section).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeyondRow {
    /// Run id.
    pub id: String,
    /// The recipe preset.
    pub variant: Variant,
    /// Its settings in one line (model, optimizer, augmentation, schedule, smoothing).
    pub recipe: String,
    /// Trained parameters.
    pub params: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Validation top-1 at the kept epoch (`None` on train+val).
    pub val_top1: Option<f64>,
    /// Test top-1 of the kept weights.
    pub test_top1: f64,
    /// The run's own seconds.
    pub seconds: f64,
    /// Its validation top-1 minus the best of the study's variants, in points.
    pub val_points_over_study: Option<f64>,
}

/// What the "Beyond the study" section says before its table.
pub const BEYOND_LEAD: &str = "Recipes beyond the study's five variants, each a preset of \
     settings (no new code): batch normalisation and max pooling in the model, augmentation \
     (random shift, flip, erasing), a learning-rate schedule and label smoothing. `best` was \
     chosen on validation only, under 100,000 parameters and 15 epochs (the best verified \
     Fashion-MNIST model under 100k parameters reaches 92.47 % test after 30 epochs). Run \
     alone, `best` and `fast` fit on train+val for epochs fixed in advance (15 and 4); in a \
     study they fit on train like the five, so their validation top-1 compares.";

/// One side of the train vs train+val comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitResult {
    /// Run id.
    pub id: String,
    /// What it was fitted on.
    pub fit: Fit,
    /// The kept epoch.
    pub best_epoch: usize,
    /// Its test set report.
    pub report: ClassificationReport,
    /// The reference study's test top-1, where published.
    pub seed_test_top1: Option<f64>,
}

/// The chosen model fitted on train (best epoch by validation) and on train+val (last epoch),
/// both on the test set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefitComparison {
    /// The chosen variant.
    pub variant: Variant,
    /// Why it was chosen, as a clause (\"it has the best validation top-1 of the study\").
    pub chosen_by: String,
    /// Fitted on train.
    pub train: FitResult,
    /// Fitted on train+val.
    pub train_val: FitResult,
    /// Test top-1 of train+val minus train, in points.
    pub test_top1_points: f64,
}

/// The chosen model on another image domain (product catalogue photos), filled in by whoever
/// evaluates it; rendered only when present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct CatalogueSection {
    /// Which model (run id or weights file).
    pub model: String,
    /// How photos were turned into 28x28 inputs.
    pub preprocess: String,
    /// Photos evaluated.
    pub images: usize,
    /// Top-1 accuracy in [0, 1].
    pub accuracy: f64,
    /// Per-class scores and confusion matrix.
    pub report: ClassificationReport,
}

/// What the reference study's numbers are, said next to them: its protocol is not this one.
pub const REFERENCE_PROTOCOL_NOTE: &str = "The reference study's numbers follow its own protocol: \
     the supports of its test report (1013, 1019, 1009, ... images per class, not 1,000 each) show \
     that its \"test\" set was not the official 10,000 t10k images, and its test top-1 is the best \
     over epochs. This report keeps to its own protocol: the weights of the best validation epoch \
     (the last epoch on train+val), tested once on t10k.";

/// Everything the report shows, computed from a study's finished runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    /// The page title.
    pub title: String,
    /// The plan the runs followed.
    pub config: StudyConfig,
    /// Backends the runs used (`cpu`, `gpu`), without repeats.
    pub backends: Vec<String>,
    /// Seconds of all runs together.
    pub total_seconds: f64,
    /// Planned runs without a result yet (the refit is named once it can be planned).
    pub missing: Vec<String>,
    /// One section per finished run, in queue order.
    pub models: Vec<ModelSection>,
    /// One row per finished run, in queue order.
    pub results: Vec<ResultRow>,
    /// Consecutive finished train runs compared.
    pub deltas: Vec<Delta>,
    /// Train vs train+val on the test set, once both runs are finished.
    pub refit: Option<RefitComparison>,
    /// Cross-domain evaluation, when someone ran it.
    pub catalogue: Option<CatalogueSection>,
    /// The formats the runs' weights export to, with code that loads each (for the last run's
    /// architecture).
    #[serde(default)]
    pub exports: Vec<ExportFormatInfo>,
    /// The recipe runs beyond the study, when the plan has any.
    #[serde(default)]
    pub beyond: Vec<BeyondRow>,
}

impl StudyReport {
    /// Computes the report from the study's finished runs; fails when none is finished.
    pub fn new(study: &Study) -> Result<Self, StudyError> {
        let runs = study.finished_runs();
        if runs.is_empty() {
            return Err(StudyError::NothingToReport);
        }
        let mut backends: Vec<String> = Vec::new();
        for r in &runs {
            if !backends.contains(&r.backend) {
                backends.push(r.backend.clone());
            }
        }
        let train_runs: Vec<&RunResult> = runs
            .iter()
            .copied()
            .filter(|r| r.fit() == Fit::Train && r.variant.in_study())
            .collect();
        Ok(Self {
            title: "Fashion-MNIST LeNet-5 study".into(),
            config: study.config.clone(),
            backends,
            total_seconds: runs.iter().map(|r| r.seconds()).sum(),
            missing: missing_runs(study),
            models: runs.iter().map(|r| model_section(study, r)).collect(),
            results: runs.iter().map(|r| result_row(r)).collect(),
            deltas: train_runs.windows(2).map(|w| delta(w[0], w[1])).collect(),
            refit: refit_comparison(study),
            beyond: beyond_rows(&runs),
            catalogue: None,
            exports: runs.last().map_or_else(Vec::new, |r| {
                let model = &r.config.model;
                ExportFormat::ALL.map(|f| f.info(model)).to_vec()
            }),
        })
    }

    /// The report with a cross-domain section.
    pub fn with_catalogue(mut self, catalogue: Option<CatalogueSection>) -> Self {
        self.catalogue = catalogue;
        self
    }
}

fn missing_runs(study: &Study) -> Vec<String> {
    let mut missing: Vec<String> = study
        .train_runs()
        .into_iter()
        .filter(|s| study.result(&s.id).is_none())
        .map(|s| s.id)
        .collect();
    match study.refit_run() {
        Some(spec) if study.result(&spec.id).is_none() => missing.push(spec.id),
        Some(_) => {}
        None => missing.push("refit on train+val".into()),
    }
    missing
}

fn model_section(study: &Study, run: &RunResult) -> ModelSection {
    let compared_with = match run.fit() {
        Fit::TrainVal => study.result(&crate::study::RunSpec::id_for(run.variant, Fit::Train)),
        Fit::Train => {
            let variants = &study.config.variants;
            let at = variants.iter().position(|v| *v == run.variant);
            at.and_then(|i| i.checked_sub(1))
                .and_then(|i| study.result(variants[i].name()))
        }
    };
    let mut description = run.variant.description().to_string();
    if run.fit() == Fit::TrainVal {
        description.push_str(", refitted on train+val");
    }
    ModelSection {
        id: run.id.clone(),
        variant: run.variant,
        description,
        compared_with: compared_with.map(|c| c.id.clone()),
        changes: compared_with.map_or_else(Vec::new, |c| config_changes(&c.config, &run.config)),
        config: run.config.clone(),
        summary: ModelSummary::new(&run.config.model),
        history: run.history.clone(),
        best_epoch: run.best_epoch,
    }
}

/// The fields of two configs that differ, by dotted path, in the serialised form's order.
pub fn config_changes(old: &TrainingConfig, new: &TrainingConfig) -> Vec<ConfigChange> {
    let flat = |c: &TrainingConfig| {
        let mut out = Vec::new();
        flatten(
            "",
            &serde_json::to_value(c).unwrap_or(Value::Null),
            &mut out,
        );
        out
    };
    let (old, new) = (flat(old), flat(new));
    new.into_iter()
        .filter_map(|(field, value)| {
            let before = old
                .iter()
                .find(|(f, _)| *f == field)
                .map_or_else(|| "(none)".to_string(), |(_, v)| v.clone());
            (before != value).then_some(ConfigChange {
                field,
                old: before,
                new: value,
            })
        })
        .collect()
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, v, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

fn result_row(run: &RunResult) -> ResultRow {
    ResultRow {
        id: run.id.clone(),
        variant: run.variant,
        fit: run.fit(),
        epochs: run.history.len(),
        best_epoch: run.best_epoch,
        // Recorded results always have their best epoch in the history (`Study::record`).
        train_top1: run.train_top1().unwrap_or_default(),
        val_top1: run.val_top1(),
        test_top1: run.test_top1(),
        seconds: run.seconds(),
        seed_val_top1: run
            .variant
            .published_val_top1()
            .filter(|_| run.fit() == Fit::Train),
        seed_test_top1: run.variant.published_test_top1(run.fit()),
    }
}

/// Training minus validation top-1 at the kept epoch, in points.
fn gap_points(run: &RunResult) -> Option<f64> {
    Some(100.0 * (run.train_top1()? - run.val_top1()?))
}

fn delta(from: &RunResult, to: &RunResult) -> Delta {
    let points = |a: Option<f64>, b: Option<f64>| Some(100.0 * (b? - a?));
    Delta {
        from: from.id.clone(),
        to: to.id.clone(),
        change: to.variant.description().to_string(),
        val_top1_points: points(from.val_top1(), to.val_top1()),
        seed_val_top1_points: points(
            from.variant.published_val_top1(),
            to.variant.published_val_top1(),
        ),
        gap_from_points: gap_points(from),
        gap_to_points: gap_points(to),
    }
}

fn beyond_rows(runs: &[&RunResult]) -> Vec<BeyondRow> {
    let study_best = runs
        .iter()
        .filter(|r| r.variant.in_study())
        .filter_map(|r| r.val_top1())
        .reduce(f64::max);
    runs.iter()
        .filter(|r| !r.variant.in_study())
        .map(|r| BeyondRow {
            id: r.id.clone(),
            variant: r.variant,
            recipe: r.config.describe(),
            params: crate::summary::ModelSummary::new(&r.config.model).trainable_params,
            epochs: r.history.len(),
            val_top1: r.val_top1(),
            test_top1: r.test_top1(),
            seconds: r.seconds(),
            val_points_over_study: r.val_top1().zip(study_best).map(|(v, b)| 100.0 * (v - b)),
        })
        .collect()
}

fn fit_result(run: &RunResult) -> FitResult {
    FitResult {
        id: run.id.clone(),
        fit: run.fit(),
        best_epoch: run.best_epoch,
        report: run.test_report.clone(),
        seed_test_top1: run.variant.published_test_top1(run.fit()),
    }
}

fn refit_comparison(study: &Study) -> Option<RefitComparison> {
    let spec = study.refit_run()?;
    let train_val = study.result(&spec.id)?;
    let train = study.result(&crate::study::RunSpec::id_for(spec.variant, Fit::Train))?;
    let chosen_by = match study.config.refit {
        RefitChoice::Best => "it has the best validation top-1 of the study".to_string(),
        RefitChoice::Variant(v) => format!("the plan names it (--refit {v})"),
    };
    Some(RefitComparison {
        variant: spec.variant,
        chosen_by,
        test_top1_points: 100.0 * (train_val.test_top1() - train.test_top1()),
        train: fit_result(train),
        train_val: fit_result(train_val),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fake_result;

    /// A finished two-variant study (base 0.85 val, v1 0.88 val, refit v1).
    pub(super) fn finished(variants: &[Variant]) -> Study {
        let mut study = Study::new(StudyConfig {
            epochs: 4,
            variants: variants.to_vec(),
            ..StudyConfig::default()
        })
        .unwrap();
        while let Some(spec) = study.next_run() {
            let (val, test) = match (spec.variant, spec.config.fit) {
                (_, Fit::TrainVal) => (0.0, 0.87),
                (Variant::Base, _) => (0.85, 0.84),
                (Variant::V1, _) => (0.88, 0.86),
                _ => (0.86, 0.85),
            };
            study.record(fake_result(&spec, val, test)).unwrap();
        }
        study
    }

    pub(super) fn report() -> StudyReport {
        StudyReport::new(&finished(&[Variant::Base, Variant::V1])).unwrap()
    }

    #[test]
    fn config_changes_list_changed_fields_only() {
        let changes = config_changes(&Variant::V2.config(), &Variant::V3.config());
        assert_eq!(
            changes,
            vec![ConfigChange {
                field: "weight_decay".into(),
                old: "0.0".into(),
                new: "0.0001".into()
            }]
        );
        let changes = config_changes(&Variant::Base.config(), &Variant::V1.config());
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["model.conv1_kernels", "model.conv2_kernels"]);
        assert_eq!(
            (changes[0].old.as_str(), changes[0].new.as_str()),
            ("6", "16")
        );
        let refit = config_changes(
            &Variant::V4.config(),
            &Variant::V4.config().with_fit(Fit::TrainVal),
        );
        assert_eq!(refit[0].field, "fit");
        assert_eq!(
            (refit[0].old.as_str(), refit[0].new.as_str()),
            ("train", "train+val")
        );
    }

    #[test]
    fn report_sections_follow_the_runs() {
        let r = report();
        let ids: Vec<&str> = r.models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["base", "v1", "v1+trainval"]);
        assert_eq!(r.models[0].compared_with, None);
        assert_eq!(r.models[1].compared_with.as_deref(), Some("base"));
        assert_eq!(r.models[1].changes.len(), 2);
        assert_eq!(r.models[2].compared_with.as_deref(), Some("v1"));
        assert_eq!(r.models[1].summary.total_params, 99_976);
        assert!(r.missing.is_empty());
        let rows: Vec<(&str, Option<f64>)> = r
            .results
            .iter()
            .map(|row| (row.id.as_str(), row.val_top1))
            .collect();
        assert_eq!(
            rows,
            [
                ("base", Some(0.85)),
                ("v1", Some(0.88)),
                ("v1+trainval", None)
            ]
        );
        assert_eq!(r.results[0].seed_val_top1, Some(0.907));
        assert_eq!(r.results[2].seed_test_top1, None, "the seed refitted v4");
        let refit = r.refit.as_ref().unwrap();
        assert_eq!(refit.variant, Variant::V1);
        assert!((refit.test_top1_points - 1.0).abs() < 1e-9);
        assert_eq!(refit.train_val.best_epoch, 4);
        assert_eq!(r.catalogue, None);
    }

    #[test]
    fn deltas_compare_consecutive_variants() {
        let r = StudyReport::new(&finished(&[Variant::Base, Variant::V1, Variant::V2])).unwrap();
        assert_eq!(r.deltas.len(), 2);
        let d = &r.deltas[0];
        assert_eq!((d.from.as_str(), d.to.as_str()), ("base", "v1"));
        assert!((d.val_top1_points.unwrap() - 3.0).abs() < 1e-9, "{d:?}");
        assert!(
            (d.seed_val_top1_points.unwrap() - 1.0).abs() < 1e-9,
            "{d:?}"
        );
        // fake_result: train top-1 at the last epoch is val + 0.02.
        assert!((d.gap_from_points.unwrap() - 2.0).abs() < 1e-9, "{d:?}");
        assert!((d.gap_to_points.unwrap() - 2.0).abs() < 1e-9, "{d:?}");
        assert!((r.deltas[1].val_top1_points.unwrap() + 2.0).abs() < 1e-9);
    }

    #[test]
    fn recipes_go_beyond_the_study_in_a_section_of_their_own() {
        let study = finished(&[Variant::Base, Variant::V1, Variant::Best, Variant::Fast]);
        let r = StudyReport::new(&study).unwrap();
        // Deltas compare the study's variants only; the recipes have rows of their own.
        assert_eq!(r.deltas.len(), 1);
        let ids: Vec<&str> = r.beyond.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["best", "fast"]);
        let best = &r.beyond[0];
        assert!(best.recipe.contains("batch norm, max pool") && best.recipe.contains("one-cycle"));
        assert!(best.params <= 100_000);
        // fake val 0.86 against v1's 0.88.
        assert!(
            (best.val_points_over_study.unwrap() + 2.0).abs() < 1e-9,
            "{best:?}"
        );
        // fast keeps its own, fewer epochs inside a study of 4.
        assert_eq!(study.result("fast").unwrap().config.epochs, 4);
        let row = r.results.iter().find(|row| row.id == "best").unwrap();
        assert_eq!(row.seed_val_top1, None);
        let html = html::to_html(&r);
        assert!(html.contains("<h2 id=\"beyond\">Beyond the study</h2>"));
        assert!(text::to_markdown(&r).contains("## Beyond the study"));
        assert!(!text::to_markdown(&report()).contains("Beyond the study"));
    }

    #[test]
    fn a_partial_study_reports_what_is_missing() {
        let mut study = Study::new(StudyConfig::default()).unwrap();
        let spec = study.next_run().unwrap();
        study.record(fake_result(&spec, 0.9, 0.9)).unwrap();
        let r = StudyReport::new(&study).unwrap();
        assert_eq!(r.results.len(), 1);
        assert_eq!(r.missing, ["v1", "v2", "v3", "v4", "refit on train+val"]);
        assert!(r.refit.is_none());
        assert!(to_html(&r).contains("Unfinished"));
        assert!(StudyReport::new(&Study::new(StudyConfig::default()).unwrap()).is_err());
    }
}
