//! The study's report, computed from the finished runs and rendered as one self-contained HTML
//! page (inline CSS and SVG charts, no script, no external resource), Markdown, CSV and JSON.
//!
//! Every number, table and change list comes from a [`Study`]'s results; nothing is hand-written,
//! so a rerun with other settings produces a report that matches it. Rendering is pure (`&report
//! → String`), so the same code serves the CLI and the page.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::{CLASS_NAMES, Fit};
use crate::format;
use crate::metrics::{ClassificationReport, ConfusionMatrix};
use crate::presets::{PUBLISHED_CHOSEN, Variant};
use crate::study::{RefitChoice, RunResult, Study, StudyConfig};
use crate::summary::{ModelSummary, thousands};
use crate::training::{EpochRecord, TrainingConfig};
use crate::{Error, Result};

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
    /// Wall-clock seconds of the run.
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
}

impl StudyReport {
    /// Computes the report from the study's finished runs; fails when none is finished.
    pub fn new(study: &Study) -> Result<Self> {
        let runs = study.finished_runs();
        if runs.is_empty() {
            return Err(Error::Config(
                "the study has no finished run to report".into(),
            ));
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
            .filter(|r| r.fit() == Fit::Train)
            .collect();
        Ok(Self {
            title: "Fashion-MNIST LeNet-5 study".into(),
            config: study.config.clone(),
            backends,
            total_seconds: runs.iter().map(|r| r.seconds).sum(),
            missing: missing_runs(study),
            models: runs.iter().map(|r| model_section(study, r)).collect(),
            results: runs.iter().map(|r| result_row(r)).collect(),
            deltas: train_runs.windows(2).map(|w| delta(w[0], w[1])).collect(),
            refit: refit_comparison(study),
            catalogue: None,
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
        seconds: run.seconds,
        seed_val_top1: (run.fit() == Fit::Train).then(|| run.variant.published_val_top1()),
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
        seed_val_top1_points: Some(
            100.0 * (to.variant.published_val_top1() - from.variant.published_val_top1()),
        ),
        gap_from_points: gap_points(from),
        gap_to_points: gap_points(to),
    }
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

// ---------------------------------------------------------------------------------------------
// Formatting helpers shared by the renderers.

/// `0.91234` → `91.23 %`; `None` → an en dash.
fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), format::percent)
}

/// The reference study's numbers have one decimal.
fn seed_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{:.1} %", 100.0 * x))
}

/// The reference study's test top-1 of its chosen model fitted on `fit`.
fn chosen_test_pct(fit: Fit) -> String {
    seed_pct(PUBLISHED_CHOSEN.published_test_top1(fit))
}

/// Signed percentage points, `+1.02 pt`.
fn points(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{x:+.2} pt"))
}

fn limit(n: Option<usize>, all: &str) -> String {
    n.map_or_else(|| all.to_string(), |n| format!("first {}", thousands(n)))
}

/// The setup facts shared by HTML and Markdown, as (label, value) pairs.
fn setup_facts(r: &StudyReport) -> Vec<(&'static str, String)> {
    let batch = r.models.first().map(|m| m.config.batch_size);
    vec![
        (
            "Variants",
            r.config
                .variants
                .iter()
                .map(|v| v.name())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("Epochs per run", r.config.epochs.to_string()),
        ("Seed", r.config.seed.to_string()),
        ("Batch size", batch.map_or("–".into(), |b| b.to_string())),
        (
            "Fitting images",
            limit(
                r.config.limit_train,
                "all (50,000 train / 60,000 train+val)",
            ),
        ),
        (
            "Validation / test images",
            limit(r.config.limit_eval, "all (10,000 / 10,000)"),
        ),
        ("Refit on train+val", r.config.refit.to_string()),
        ("Backend", r.backends.join(", ")),
        ("Total training time", format::duration(r.total_seconds)),
    ]
}

fn shape(s: &[i64]) -> String {
    format!(
        "[{}]",
        s.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    )
}

/// The index of the best validation top-1 among the results (the row to highlight).
fn best_val_row(r: &StudyReport) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, row) in r.results.iter().enumerate() {
        if let Some(v) = row.val_top1
            && best.is_none_or(|(_, b)| v > b)
        {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

// ---------------------------------------------------------------------------------------------
// CSV and JSON.

/// Quotes a CSV field when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The results table, one row per run; accuracies in [0, 1] at full precision, an empty
/// `val_top1` for train+val runs.
pub fn to_csv(r: &StudyReport) -> String {
    let mut out =
        String::from("id,variant,fit,epochs,best_epoch,train_top1,val_top1,test_top1,seconds\n");
    for row in &r.results {
        let fields = [
            row.id.clone(),
            row.variant.name().to_string(),
            row.fit.to_string(),
            row.epochs.to_string(),
            row.best_epoch.to_string(),
            row.train_top1.to_string(),
            row.val_top1.map(|v| v.to_string()).unwrap_or_default(),
            row.test_top1.to_string(),
            row.seconds.to_string(),
        ];
        let fields: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// The whole report as pretty JSON.
pub fn to_json(r: &StudyReport) -> String {
    serde_json::to_string_pretty(r)
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string())
}

// ---------------------------------------------------------------------------------------------
// Markdown.

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn md_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", head.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

const RESULT_HEAD: [&str; 11] = [
    "run",
    "variant",
    "fit",
    "epochs",
    "best epoch",
    "train top-1",
    "val top-1",
    "test top-1",
    "seed val top-1",
    "seed test top-1",
    "time",
];

fn result_cells(row: &ResultRow) -> Vec<String> {
    vec![
        row.id.clone(),
        row.variant.name().to_string(),
        row.fit.to_string(),
        row.epochs.to_string(),
        row.best_epoch.to_string(),
        pct(Some(row.train_top1)),
        pct(row.val_top1),
        pct(Some(row.test_top1)),
        seed_pct(row.seed_val_top1),
        seed_pct(row.seed_test_top1),
        format::duration(row.seconds),
    ]
}

/// The results table alone, as Markdown (also readable in a terminal).
pub fn results_markdown(r: &StudyReport) -> String {
    let rows: Vec<Vec<String>> = r.results.iter().map(result_cells).collect();
    md_table(&RESULT_HEAD, &rows)
}

const DELTA_HEAD: [&str; 6] = [
    "from → to",
    "change",
    "Δ val top-1",
    "seed Δ val top-1",
    "train − val gap (from)",
    "train − val gap (to)",
];

fn delta_cells(d: &Delta) -> Vec<String> {
    vec![
        format!("{} → {}", d.from, d.to),
        d.change.clone(),
        points(d.val_top1_points),
        points(d.seed_val_top1_points),
        points(d.gap_from_points),
        points(d.gap_to_points),
    ]
}

fn changes_text(m: &ModelSection) -> String {
    match &m.compared_with {
        None => "first model of the study".into(),
        Some(_) if m.changes.is_empty() => "no config change".into(),
        Some(_) => m
            .changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, c.old, c.new))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn md_code(text: &str) -> String {
    format!("```text\n{}\n```\n", text.trim_end())
}

/// The report as Markdown: the same sections as the HTML page, without the charts.
pub fn to_markdown(r: &StudyReport) -> String {
    let mut out = format!("# {}\n\n", r.title);
    if !r.missing.is_empty() {
        out.push_str(&format!(
            "**Unfinished:** {} (the report covers the finished runs only).\n\n",
            r.missing.join(", ")
        ));
    }
    out.push_str("## Setup\n\n");
    let facts: Vec<Vec<String>> = setup_facts(r)
        .into_iter()
        .map(|(k, v)| vec![k.to_string(), v])
        .collect();
    out.push_str(&md_table(&["setting", "value"], &facts));
    out.push_str("\n## Results\n\n");
    out.push_str(&results_markdown(r));
    out.push_str(
        "\nAccuracies at the kept epoch (best validation top-1; the last epoch on train+val). \
         \"seed\" columns: the reference study's numbers.\n",
    );
    if !r.deltas.is_empty() {
        out.push_str("\n## Pair-wise comparison\n\n");
        let rows: Vec<Vec<String>> = r.deltas.iter().map(delta_cells).collect();
        out.push_str(&md_table(&DELTA_HEAD, &rows));
    }
    out.push_str("\n## Models\n");
    for m in &r.models {
        out.push_str(&format!("\n### {} — {}\n\n", m.id, m.description));
        out.push_str(&format!("Changes: {}.\n\n", changes_text(m)));
        out.push_str(&md_code(&m.summary.to_text()));
        let rows: Vec<Vec<String>> = m
            .history
            .iter()
            .map(|e| {
                vec![
                    e.epoch.to_string(),
                    format!("{:.4}", e.train_loss),
                    pct(Some(e.train_accuracy)),
                    e.val_loss.map_or("–".into(), |l| format!("{l:.4}")),
                    pct(e.val_accuracy),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&md_table(
            &[
                "epoch",
                "train loss",
                "train top-1",
                "val loss",
                "val top-1",
            ],
            &rows,
        ));
    }
    if let Some(refit) = &r.refit {
        out.push_str(&format!(
            "\n## Train vs train+val on the test set\n\n{} ({}), chosen because {}: test top-1 {} on \
             train, {} on train+val ({}); the reference study: {} vs {}.\n",
            refit.variant,
            refit.variant.description(),
            refit.chosen_by,
            pct(Some(refit.train.report.accuracy)),
            pct(Some(refit.train_val.report.accuracy)),
            points(Some(refit.test_top1_points)),
            chosen_test_pct(Fit::Train),
            chosen_test_pct(Fit::TrainVal),
        ));
        for side in [&refit.train, &refit.train_val] {
            out.push_str(&format!("\n### {} (fit {})\n\n", side.id, side.fit));
            out.push_str(&md_code(&side.report.to_text(4)));
            out.push_str(&md_code(&side.report.confusion.to_text()));
        }
    }
    if let Some(c) = &r.catalogue {
        out.push_str(&format!(
            "\n## Product catalogue photos\n\nModel {}, preprocessing: {}; {} images, top-1 {}.\n\n",
            c.model,
            c.preprocess,
            thousands(c.images),
            pct(Some(c.accuracy))
        ));
        out.push_str(&md_code(&c.report.to_text(4)));
        out.push_str(&md_code(&c.report.confusion.to_text()));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// HTML.

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Colour-blind-safe colours (Okabe and Ito), one per variant in the overlay chart.
const PALETTE: [&str; 7] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
];
const TRAIN_COLOUR: &str = "#0072b2";
const VAL_COLOUR: &str = "#d55e00";

const CSS: &str = r#"
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --rule: #d0d7de; --band: #f6f8fa; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: #fff; margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1280px;
  line-height: 1.45; }
h1 { font-size: 1.8rem; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 2.2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; }
p.lead { color: var(--muted); margin-top: 0; }
nav ul { display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; padding: 0; list-style: none; margin: .6rem 0 0; }
a { color: #0550ae; }
.warn { background: #fff8c5; border: 1px solid #d4a72c; padding: .5rem .8rem; border-radius: 6px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: .4rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .2rem 0 .4rem; color: var(--muted); caption-side: top; }
th, td { padding: .28rem .6rem; border-bottom: 1px solid var(--rule); text-align: right; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
th[scope=row], td.text, th.text { text-align: left; }
tr.chosen td, tr.chosen th { background: #ddf4ff; }
.scroll { overflow-x: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.2rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
article.model { border-top: 1px solid var(--rule); }
h2 + article.model { border-top: none; }
.model-grid { display: grid; grid-template-columns: minmax(260px, 340px) 1fr 1fr; gap: 1rem; align-items: start; }
@media (max-width: 980px) { .model-grid { grid-template-columns: 1fr; } }
.model-grid table.summary { font-size: .78rem; width: 100%; }
.model-grid table.summary th, .model-grid table.summary td { padding: .12rem .35rem; }
ul.changes { margin: .2rem 0 .6rem; padding-left: 1.2rem; }
figure { margin: 0; }
figure svg { width: 100%; height: auto; display: block; }
figure.overlay { max-width: 960px; }
figcaption { font-size: .85rem; color: var(--muted); }
.side-by-side { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
pre { background: var(--band); padding: .6rem .8rem; border-radius: 6px; font-size: .8rem; overflow-x: auto; }
table.confusion { font-size: .78rem; }
table.confusion td { min-width: 2.8rem; border: 1px solid #fff; }
table.confusion th.corner { font-weight: 400; color: var(--muted); text-align: left; }
table.confusion thead th { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; padding: .4rem .2rem; }
table.confusion thead th.corner { writing-mode: horizontal-tb; transform: none; vertical-align: bottom; }
.num-good { color: #116329; }
.num-bad { color: #a40e26; }
"#;

/// Renders the report as one self-contained HTML page: inline CSS, inline SVG charts, no script
/// and no reference to anything outside the file.
pub fn to_html(r: &StudyReport) -> String {
    let mut body = String::new();
    body.push_str(&format!(
        "<header>\n<h1>{}</h1>\n<p class=\"lead\">{} finished run{} of the LeNet-5 family on \
         Fashion-MNIST, {} epoch{} each, seed {}.</p>\n",
        escape(&r.title),
        r.results.len(),
        if r.results.len() == 1 { "" } else { "s" },
        r.config.epochs,
        if r.config.epochs == 1 { "" } else { "s" },
        r.config.seed
    ));
    body.push_str(&html_nav(r));
    body.push_str("</header>\n<main>\n");
    if !r.missing.is_empty() {
        body.push_str(&format!(
            "<p class=\"warn\" role=\"note\"><strong>Unfinished:</strong> {}. The report covers \
             the finished runs only.</p>\n",
            escape(&r.missing.join(", "))
        ));
    }
    body.push_str(&html_setup(r));
    body.push_str(&html_results(r));
    body.push_str(&html_overlay(r));
    body.push_str(&html_deltas(r));
    body.push_str(&html_models(r));
    if let Some(refit) = &r.refit {
        body.push_str(&html_refit(refit));
    }
    if let Some(c) = &r.catalogue {
        body.push_str(&html_catalogue(c));
    }
    body.push_str("</main>\n");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta \
         name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
         <style>{}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
        escape(&r.title),
        CSS,
        body
    )
}

/// Section ids and headings, in page order (the catalogue only when present).
fn sections(r: &StudyReport) -> Vec<(&'static str, &'static str)> {
    let mut s = vec![
        ("setup", "Setup"),
        ("results", "Results"),
        ("validation", "Validation accuracy of all models"),
    ];
    if !r.deltas.is_empty() {
        s.push(("deltas", "Pair-wise comparison"));
    }
    s.push(("models", "Models"));
    if r.refit.is_some() {
        s.push(("refit", "Train vs train+val on the test set"));
    }
    if r.catalogue.is_some() {
        s.push(("catalogue", "Product catalogue photos"));
    }
    s
}

fn heading(r: &StudyReport, id: &str) -> String {
    let text = sections(r)
        .into_iter()
        .find(|(i, _)| *i == id)
        .map_or(id, |(_, t)| t);
    format!("<h2 id=\"{id}\">{}</h2>\n", escape(text))
}

fn html_nav(r: &StudyReport) -> String {
    let items: String = sections(r)
        .into_iter()
        .map(|(id, text)| format!("<li><a href=\"#{id}\">{}</a></li>", escape(text)))
        .collect();
    format!("<nav aria-label=\"Sections\"><ul>{items}</ul></nav>\n")
}

fn html_setup(r: &StudyReport) -> String {
    let facts: String = setup_facts(r)
        .into_iter()
        .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(&v)))
        .collect();
    format!(
        "<section aria-labelledby=\"setup\">\n{}<dl class=\"facts\">{facts}</dl>\n</section>\n",
        heading(r, "setup")
    )
}

/// An HTML table: caption, column headers, rows whose first cell is the row header; cells
/// whose index is in `text_cols` are left-aligned text.
fn html_table(
    class: &str,
    caption: &str,
    head: &[&str],
    rows: &[(Option<&str>, Vec<String>)],
    text_cols: &[usize],
) -> String {
    let mut out = format!(
        "<div class=\"scroll\"><table class=\"{class}\">\n<caption>{}</caption>\n<thead><tr>",
        escape(caption)
    );
    for (i, h) in head.iter().enumerate() {
        let class = if i == 0 || text_cols.contains(&i) {
            " class=\"text\""
        } else {
            ""
        };
        out.push_str(&format!("<th scope=\"col\"{class}>{}</th>", escape(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (row_class, cells) in rows {
        match row_class {
            Some(c) => out.push_str(&format!("<tr class=\"{c}\">")),
            None => out.push_str("<tr>"),
        }
        for (i, cell) in cells.iter().enumerate() {
            if i == 0 {
                out.push_str(&format!("<th scope=\"row\">{}</th>", escape(cell)));
            } else if text_cols.contains(&i) {
                out.push_str(&format!("<td class=\"text\">{}</td>", escape(cell)));
            } else {
                out.push_str(&format!("<td>{}</td>", escape(cell)));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
    out
}

fn html_results(r: &StudyReport) -> String {
    let best = best_val_row(r);
    let rows: Vec<(Option<&str>, Vec<String>)> = r
        .results
        .iter()
        .enumerate()
        .map(|(i, row)| ((Some(i) == best).then_some("chosen"), result_cells(row)))
        .collect();
    format!(
        "<section aria-labelledby=\"results\">\n{}{}<p>Accuracies at the kept epoch: the best \
         validation top-1, or the last epoch when fitting on train+val (no validation set). The \
         highlighted row has the best validation top-1. The “seed” columns are the reference \
         study's numbers.</p>\n</section>\n",
        heading(r, "results"),
        html_table("results", "Results per run", &RESULT_HEAD, &rows, &[1, 2])
    )
}

fn html_deltas(r: &StudyReport) -> String {
    if r.deltas.is_empty() {
        return String::new();
    }
    let rows: Vec<(Option<&str>, Vec<String>)> =
        r.deltas.iter().map(|d| (None, delta_cells(d))).collect();
    format!(
        "<section aria-labelledby=\"deltas\">\n{}{}<p>Δ val top-1: the later variant's validation \
         top-1 minus the earlier one's, in percentage points. Train − val gap: training minus \
         validation top-1 at the kept epoch; a larger gap means more over-fitting.</p>\n\
         </section>\n",
        heading(r, "deltas"),
        html_table(
            "deltas",
            "Consecutive variants compared on validation",
            &DELTA_HEAD,
            &rows,
            &[1]
        )
    )
}

fn html_overlay(r: &StudyReport) -> String {
    let series: Vec<Series> = r
        .models
        .iter()
        .filter(|m| m.config.fit == Fit::Train)
        .enumerate()
        .map(|(i, m)| Series {
            name: m.id.clone(),
            colour: PALETTE[i % PALETTE.len()],
            dashed: false,
            points: m
                .history
                .iter()
                .filter_map(|e| Some((e.epoch as f64, 100.0 * e.val_accuracy?)))
                .collect(),
        })
        .collect();
    let chart = Chart {
        title: "Validation top-1 per epoch, all models".into(),
        x_label: "epoch",
        y_label: "validation top-1 (%)",
        unit: " %",
        series,
        width: 900.0,
        height: 340.0,
        marker: None,
    };
    format!(
        "<section aria-labelledby=\"validation\">\n{}<figure class=\"overlay\">{}<figcaption>Each \
         line is one model fitted on train; hover a point for its value.</figcaption></figure>\n\
         </section>\n",
        heading(r, "validation"),
        chart.to_svg()
    )
}

fn html_models(r: &StudyReport) -> String {
    let mut out = format!(
        "<section aria-labelledby=\"models\">\n{}",
        heading(r, "models")
    );
    for m in &r.models {
        out.push_str(&html_model(m));
    }
    out.push_str("</section>\n");
    out
}

fn html_model(m: &ModelSection) -> String {
    let changes = match &m.compared_with {
        None => "<p>First model of the study.</p>".to_string(),
        Some(other) if m.changes.is_empty() => {
            format!("<p>Same config as {}.</p>", escape(other))
        }
        Some(other) => {
            let items: String = m
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "<li><code>{}</code>: {} → {}</li>",
                        escape(&c.field),
                        escape(&c.old),
                        escape(&c.new)
                    )
                })
                .collect();
            format!(
                "<p>Changes against {}:</p><ul class=\"changes\">{items}</ul>",
                escape(other)
            )
        }
    };
    let best = m.history.iter().find(|e| e.epoch == m.best_epoch);
    let kept = match best.and_then(|e| e.val_accuracy) {
        Some(val) => format!(
            "<p>Kept epoch {} (best validation): train top-1 {}, val top-1 {}.</p>",
            m.best_epoch,
            pct(best.map(|e| e.train_accuracy)),
            pct(Some(val))
        ),
        None => format!(
            "<p>Kept the last epoch, {} (no validation set): train top-1 {}.</p>",
            m.best_epoch,
            pct(best.map(|e| e.train_accuracy))
        ),
    };
    let best_marker = Some((m.best_epoch as f64, "kept".to_string()));
    let curves = |name: &str, f: fn(&EpochRecord) -> Option<f64>, colour, dashed| Series {
        name: name.to_string(),
        colour,
        dashed,
        points: m
            .history
            .iter()
            .filter_map(|e| Some((e.epoch as f64, f(e)?)))
            .collect(),
    };
    let keep_nonempty = |s: Vec<Series>| s.into_iter().filter(|s| !s.points.is_empty()).collect();
    let loss = Chart {
        title: format!("{}: cross-entropy loss per epoch", m.id),
        x_label: "epoch",
        y_label: "loss",
        unit: "",
        series: keep_nonempty(vec![
            curves("training", |e| Some(e.train_loss), TRAIN_COLOUR, false),
            curves("validation", |e| e.val_loss, VAL_COLOUR, true),
        ]),
        width: 420.0,
        height: 290.0,
        marker: best_marker.clone(),
    };
    let accuracy = Chart {
        title: format!("{}: top-1 accuracy per epoch", m.id),
        x_label: "epoch",
        y_label: "top-1 (%)",
        unit: " %",
        series: keep_nonempty(vec![
            curves(
                "training",
                |e| Some(100.0 * e.train_accuracy),
                TRAIN_COLOUR,
                false,
            ),
            curves(
                "validation",
                |e| e.val_accuracy.map(|a| 100.0 * a),
                VAL_COLOUR,
                true,
            ),
        ]),
        width: 420.0,
        height: 290.0,
        marker: best_marker,
    };
    let id = format!("model-{}", slug(&m.id));
    format!(
        "<article class=\"model\" aria-labelledby=\"{id}\">\n<h3 id=\"{id}\">{} — {}</h3>\n\
         <div class=\"model-grid\">\n<div>{changes}{kept}{}</div>\n<figure>{}</figure>\n\
         <figure>{}</figure>\n</div>\n</article>\n",
        escape(&m.id),
        escape(&m.description),
        html_summary(m),
        loss.to_svg(),
        accuracy.to_svg()
    )
}

/// `v4+trainval` → `v4-trainval`, for element ids.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn html_summary(m: &ModelSection) -> String {
    let s = &m.summary;
    let mut rows: Vec<(Option<&str>, Vec<String>)> = s
        .rows
        .iter()
        .map(|row| {
            (
                None,
                vec![
                    row.layer.clone(),
                    shape(&row.output_shape),
                    thousands(row.params),
                ],
            )
        })
        .collect();
    rows.push((
        None,
        vec![
            "Total params".into(),
            String::new(),
            thousands(s.total_params),
        ],
    ));
    rows.push((
        None,
        vec![
            "Estimated size".into(),
            String::new(),
            format!("{:.3} MB", s.total_size_mb),
        ],
    ));
    html_table(
        "summary",
        &format!("{} layers", m.id),
        &["Layer (type)", "Output shape", "Param #"],
        &rows,
        &[],
    )
}

fn html_refit(refit: &RefitComparison) -> String {
    let rows: Vec<(Option<&str>, Vec<String>)> = [&refit.train, &refit.train_val]
        .into_iter()
        .map(|side| {
            (
                None,
                vec![
                    side.id.clone(),
                    side.fit.to_string(),
                    side.best_epoch.to_string(),
                    pct(Some(side.report.accuracy)),
                    seed_pct(side.seed_test_top1),
                ],
            )
        })
        .collect();
    let mut out = format!(
        "<section aria-labelledby=\"refit\">\n<h2 id=\"refit\">Train vs train+val on the test \
         set</h2>\n<p>The chosen model is <strong>{}</strong> ({}), because {}. Fitted on \
         train it keeps the epoch with the best validation top-1; fitted on train+val there is \
         no validation set, so it keeps the last epoch. Test top-1 changes by {} from train to \
         train+val; the reference study measured {} vs {} for its chosen model ({}).</p>\n",
        escape(refit.variant.name()),
        escape(refit.variant.description()),
        escape(&refit.chosen_by),
        escape(&points(Some(refit.test_top1_points))),
        escape(&chosen_test_pct(Fit::Train)),
        escape(&chosen_test_pct(Fit::TrainVal)),
        PUBLISHED_CHOSEN
    );
    out.push_str(&html_table(
        "refit",
        "The chosen model on the test set",
        &["run", "fit", "kept epoch", "test top-1", "seed test top-1"],
        &rows,
        &[1],
    ));
    out.push_str("<div class=\"side-by-side\">\n");
    for side in [&refit.train, &refit.train_val] {
        out.push_str(&format!(
            "<div><h3>{} (fit {}): classification report</h3><pre>{}</pre></div>\n",
            escape(&side.id),
            escape(&side.fit.to_string()),
            escape(&side.report.to_text(4))
        ));
    }
    out.push_str("</div>\n<div class=\"side-by-side\">\n");
    for side in [&refit.train, &refit.train_val] {
        out.push_str(&format!(
            "<div><h3>{} (fit {}): confusion matrix</h3>{}</div>\n",
            escape(&side.id),
            escape(&side.fit.to_string()),
            html_confusion(
                &side.report.confusion,
                &format!("{}: test images by true and predicted class", side.id)
            )
        ));
    }
    out.push_str("</div>\n</section>\n");
    out
}

fn html_catalogue(c: &CatalogueSection) -> String {
    format!(
        "<section aria-labelledby=\"catalogue\">\n<h2 id=\"catalogue\">Product catalogue \
         photos</h2>\n<p>Model <strong>{}</strong> on {} catalogue photos, preprocessed by {}: \
         top-1 {}.</p>\n<div class=\"side-by-side\">\n<div><h3>Classification report</h3>\
         <pre>{}</pre></div>\n<div><h3>Confusion matrix</h3>{}</div>\n</div>\n</section>\n",
        escape(&c.model),
        thousands(c.images),
        escape(&c.preprocess),
        escape(&pct(Some(c.accuracy))),
        escape(&c.report.to_text(4)),
        html_confusion(
            &c.report.confusion,
            "Catalogue photos by true and predicted class"
        )
    )
}

/// A confusion matrix as a table whose cells are shaded by their share of the true class's
/// images (square-root scale, so small confusions still show).
fn html_confusion(m: &ConfusionMatrix, caption: &str) -> String {
    let mut out = format!(
        "<div class=\"scroll\"><table class=\"confusion\">\n<caption>{}</caption>\n<thead><tr>\
         <th class=\"corner\" scope=\"col\">true ↓ / predicted →</th>",
        escape(caption)
    );
    for name in CLASS_NAMES {
        out.push_str(&format!("<th scope=\"col\">{}</th>", escape(name)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (t, row) in m.counts.iter().enumerate() {
        let support: u64 = row.iter().sum();
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}</th>",
            escape(CLASS_NAMES[t])
        ));
        for (p, &count) in row.iter().enumerate() {
            let share = count as f64 / support.max(1) as f64;
            let (background, ink) = heat(share);
            out.push_str(&format!(
                "<td style=\"background:{background};color:{ink}\" title=\"true {}, predicted \
                 {}: {count} ({:.1} %)\">{count}</td>",
                escape(CLASS_NAMES[t]),
                escape(CLASS_NAMES[p]),
                100.0 * share
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
    out
}

/// White to dark blue by `share` in [0, 1] on a square-root scale, with a readable text colour.
fn heat(share: f64) -> (String, &'static str) {
    let t = share.clamp(0.0, 1.0).sqrt();
    let (from, to) = ([255.0, 255.0, 255.0], [8.0, 48.0, 107.0]);
    let c: Vec<u8> = (0..3)
        .map(|i| (from[i] + (to[i] - from[i]) * t).round() as u8)
        .collect();
    let ink = if t > 0.55 { "#ffffff" } else { "#1b1f24" };
    (format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]), ink)
}

// ---------------------------------------------------------------------------------------------
// SVG line charts.

/// One line of a chart.
struct Series {
    name: String,
    colour: &'static str,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

/// A line chart over epochs, drawn as inline SVG.
struct Chart {
    title: String,
    x_label: &'static str,
    y_label: &'static str,
    /// Appended to values in tooltips and the description.
    unit: &'static str,
    series: Vec<Series>,
    width: f64,
    height: f64,
    /// A dashed vertical line at this x with a label (the kept epoch).
    marker: Option<(f64, String)>,
}

const MARGIN_LEFT: f64 = 58.0;
const MARGIN_RIGHT: f64 = 16.0;
const MARGIN_TOP: f64 = 34.0;
const MARGIN_BOTTOM: f64 = 46.0;

/// Round tick positions covering `[lo, hi]`: steps of 1, 2, 2.5 or 5 times a power of ten.
fn nice_ticks(lo: f64, hi: f64, max_ticks: usize) -> (f64, f64, Vec<f64>) {
    let (lo, hi) = if (hi - lo).abs() < 1e-12 {
        let pad = if lo.abs() > 1e-12 {
            lo.abs() * 0.05
        } else {
            1.0
        };
        (lo - pad, hi + pad)
    } else {
        (lo, hi)
    };
    let rough = (hi - lo) / (max_ticks.max(2) - 1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let count = ((end - start) / step).round() as usize;
    let ticks = (0..=count).map(|i| start + i as f64 * step).collect();
    (start, end, ticks)
}

/// Enough decimals to tell ticks `step` apart (0.25 → 2, 2 → 0).
fn decimals_for(step: f64) -> usize {
    (0..6)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6
        })
        .unwrap_or(6)
}

impl Chart {
    fn to_svg(&self) -> String {
        let (w, h) = (self.width, self.height);
        let (plot_w, plot_h) = (
            w - MARGIN_LEFT - MARGIN_RIGHT,
            h - MARGIN_TOP - MARGIN_BOTTOM,
        );
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1));
        let x_max = xs.fold(1.0f64, f64::max);
        let (y_min, y_max) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
        let (y_min, y_max) = if y_min.is_finite() {
            (y_min, y_max)
        } else {
            (0.0, 1.0)
        };
        let (y_lo, y_hi, y_ticks) = nice_ticks(y_min, y_max, 6);
        // Epochs are whole numbers from 1; a single epoch gets some room on both sides.
        let (x_lo, x_hi) = if x_max > 1.0 {
            (1.0, x_max)
        } else {
            (0.0, 2.0)
        };
        let x_step = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
            .into_iter()
            .find(|s| (x_hi - x_lo) / s <= 10.0)
            .unwrap_or(100.0);
        let sx = |x: f64| MARGIN_LEFT + (x - x_lo) / (x_hi - x_lo) * plot_w;
        let sy = |y: f64| MARGIN_TOP + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h;
        let y_decimals = decimals_for(y_ticks.get(1).map_or(1.0, |t| t - y_ticks[0]));

        let mut svg = format!(
            "<svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\" \
             font-family=\"system-ui, sans-serif\" font-size=\"12\">\n<title>{}</title>\n\
             <desc>{}</desc>\n",
            escape(&self.title),
            escape(&self.title),
            escape(&self.describe())
        );
        // Grid and y ticks.
        for &t in &y_ticks {
            let y = sy(t);
            svg.push_str(&format!(
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e5e7eb\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#57606a\">{:.*}</text>\n",
                MARGIN_LEFT,
                MARGIN_LEFT + plot_w,
                MARGIN_LEFT - 6.0,
                y + 3.5,
                y_decimals,
                t
            ));
        }
        // X ticks at whole epochs.
        let mut epoch = x_lo.max(1.0);
        while epoch <= x_hi + 1e-9 {
            let x = sx(epoch);
            let y0 = MARGIN_TOP + plot_h;
            svg.push_str(&format!(
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y0:.1}\" y2=\"{:.1}\" stroke=\"#57606a\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#57606a\">{}</text>\n",
                y0 + 4.0,
                y0 + 16.0,
                epoch
            ));
            epoch += x_step;
        }
        // Axes and labels.
        let (x0, y0) = (MARGIN_LEFT, MARGIN_TOP + plot_h);
        svg.push_str(&format!(
            "<path d=\"M{x0:.1} {:.1} V{y0:.1} H{:.1}\" fill=\"none\" stroke=\"#57606a\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#1b1f24\">{}</text>\n\
             <text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\" \
             fill=\"#1b1f24\">{}</text>\n",
            MARGIN_TOP,
            MARGIN_LEFT + plot_w,
            MARGIN_LEFT + plot_w / 2.0,
            h - 8.0,
            escape(self.x_label),
            MARGIN_TOP + plot_h / 2.0,
            escape(self.y_label)
        ));
        if let Some((mx, label)) = &self.marker
            && (x_lo..=x_hi).contains(mx)
        {
            let x = sx(*mx);
            svg.push_str(&format!(
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{y0:.1}\" stroke=\"#8c959f\" \
                 stroke-dasharray=\"2 3\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#57606a\" \
                 text-anchor=\"end\">{}</text>\n",
                MARGIN_TOP,
                x - 3.0,
                MARGIN_TOP + 10.0,
                escape(label)
            ));
        }
        for s in &self.series {
            svg.push_str(&self.series_svg(s, &sx, &sy));
        }
        svg.push_str(&self.legend_svg());
        svg.push_str("</svg>");
        svg
    }

    fn series_svg(&self, s: &Series, sx: &dyn Fn(f64) -> f64, sy: &dyn Fn(f64) -> f64) -> String {
        let points: Vec<String> = s
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let dash = if s.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let mut out = format!(
            "<g><polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{dash}/>",
            points.join(" "),
            s.colour
        );
        let decimals = if self.unit.is_empty() { 4 } else { 2 };
        for &(x, y) in &s.points {
            out.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"><title>{}, epoch {}: \
                 {y:.decimals$}{}</title></circle>",
                sx(x),
                sy(y),
                s.colour,
                escape(&s.name),
                x,
                self.unit
            ));
        }
        out.push_str("</g>\n");
        out
    }

    fn legend_svg(&self) -> String {
        let mut out = String::from("<g aria-hidden=\"true\">");
        let mut x = MARGIN_LEFT;
        for s in &self.series {
            let dash = if s.dashed {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            out.push_str(&format!(
                "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"14\" y2=\"14\" stroke=\"{}\" \
                 stroke-width=\"2\"{dash}/><text x=\"{:.1}\" y=\"18\" fill=\"#1b1f24\">{}</text>",
                x + 22.0,
                s.colour,
                x + 27.0,
                escape(&s.name)
            ));
            x += 27.0 + 7.0 * s.name.chars().count() as f64 + 18.0;
        }
        out.push_str("</g>\n");
        out
    }

    /// A sentence per series for screen readers: first, last and best value.
    fn describe(&self) -> String {
        let decimals = if self.unit.is_empty() { 4 } else { 2 };
        self.series
            .iter()
            .filter_map(|s| {
                let first = s.points.first()?;
                let last = s.points.last()?;
                Some(format!(
                    "{}: {:.decimals$}{u} at epoch {} to {:.decimals$}{u} at epoch {}.",
                    s.name,
                    first.1,
                    first.0,
                    last.1,
                    last.0,
                    u = self.unit
                ))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::tests::fake_result;

    /// A finished two-variant study (base 0.85 val, v1 0.88 val, refit v1).
    fn finished(variants: &[Variant]) -> Study {
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

    fn report() -> StudyReport {
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

    #[test]
    fn html_is_self_contained_accessible_and_escaped() {
        let mut r = report();
        r.title = "Study <script>alert(1)</script> & \"co\"".into();
        r = r.with_catalogue(Some(CatalogueSection {
            model: "v1 <b>".into(),
            preprocess: "center-crop & invert".into(),
            images: 1200,
            accuracy: 0.5,
            report: ClassificationReport::new(&[0, 1], &[0, 0]),
        }));
        let html = to_html(&r);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script"), "unescaped text");
        assert!(html.contains("Study &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;"));
        assert!(html.contains("v1 &lt;b&gt;") && html.contains("center-crop &amp; invert"));
        for forbidden in ["http", "src=", "url(", "@import", "<link", "<img"] {
            assert!(!html.contains(forbidden), "found {forbidden}");
        }
        for needle in [
            "<title>",
            "<caption>",
            "<th scope=\"col\">",
            "<th scope=\"row\">",
            "role=\"img\"",
            "<h2 id=\"setup\">",
            "<h2 id=\"results\">",
            "<h2 id=\"validation\">",
            "<h2 id=\"deltas\">",
            "<h2 id=\"models\">",
            "<h2 id=\"refit\">",
            "<h2 id=\"catalogue\">",
            "class=\"confusion\"",
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
        // One loss and one accuracy chart per run, plus the overlay.
        assert_eq!(html.matches("<svg ").count(), 2 * r.models.len() + 1);
        assert!(!to_html(&report()).contains("id=\"catalogue\""));
    }

    #[test]
    fn csv_has_one_row_per_run_with_full_precision() {
        let study = finished(&[Variant::Base, Variant::V1]);
        let r = StudyReport::new(&study).unwrap();
        let csv = to_csv(&r);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "id,variant,fit,epochs,best_epoch,train_top1,val_top1,test_top1,seconds"
        );
        assert_eq!(lines.len(), 4);
        for (line, run) in lines[1..].iter().zip(study.finished_runs()) {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(
                (f[0], f[1], f[2]),
                (run.id.as_str(), run.variant.name(), &*run.fit().to_string())
            );
            assert_eq!(f[4].parse::<usize>().unwrap(), run.best_epoch);
            assert_eq!(f[5].parse::<f64>().unwrap(), run.train_top1().unwrap());
            assert_eq!(f[6].parse::<f64>().ok(), run.val_top1());
            assert_eq!(f[7].parse::<f64>().unwrap(), run.test_top1());
        }
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }

    #[test]
    fn markdown_and_json_carry_the_same_report() {
        let r = report();
        let md = to_markdown(&r);
        for needle in [
            "# Fashion-MNIST",
            "## Results",
            "## Pair-wise comparison",
            "### v1+trainval",
            "Total params: 99,976",
        ] {
            assert!(md.contains(needle), "missing {needle}");
        }
        assert!(
            md.contains(
                "| base | base | train | 4 | 4 | 87.00 % | 85.00 % | 84.00 % | 90.7 % | – |"
            ),
            "{md}"
        );
        let back: StudyReport = serde_json::from_str(&to_json(&r)).unwrap();
        assert_eq!(back.results, r.results);
        assert_eq!(back.models.len(), 3);
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let (lo, hi, ticks) = nice_ticks(84.3, 91.7, 6);
        assert_eq!((lo, hi), (84.0, 92.0));
        assert_eq!(ticks, [84.0, 86.0, 88.0, 90.0, 92.0]);
        let (lo, hi, _) = nice_ticks(0.5, 0.5, 6);
        assert!(lo < 0.5 && hi > 0.5);
        assert_eq!(decimals_for(0.25), 2);
        assert_eq!(decimals_for(2.0), 0);
        assert_eq!(heat(0.0).0, "#ffffff");
        assert_eq!(heat(1.0).0, "#08306b");
    }
}
