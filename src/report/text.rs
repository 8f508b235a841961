//! The report as text: the results as CSV, the whole report as JSON and as Markdown, and the
//! cell texts of the tables that the HTML page shows too.

use super::{BeyondRow, Delta, ModelSection, ResultRow, StudyReport};
use crate::data::Fit;
use crate::format;
use crate::format::thousands;
use crate::interop::ExportFormat;
use crate::presets::PUBLISHED_CHOSEN;

// ---------------------------------------------------------------------------------------------
// Cell texts, shared with the HTML page.

/// `0.91234` → `91.23 %`; `None` → an en dash.
pub(super) fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), format::percent)
}

/// The reference study's numbers have one decimal.
pub(super) fn seed_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{:.1} %", 100.0 * x))
}

/// The reference study's test top-1 of its chosen model fitted on `fit`.
pub(super) fn chosen_test_pct(fit: Fit) -> String {
    seed_pct(PUBLISHED_CHOSEN.published_test_top1(fit))
}

/// Signed percentage points, `+1.02 pt`.
pub(super) fn points(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{x:+.2} pt"))
}

/// `Some(5000)` → `first 5,000`; `None` → `all`, the caller's words for the whole split.
fn limit(n: Option<usize>, all: &str) -> String {
    n.map_or_else(|| all.to_string(), |n| format!("first {}", thousands(n)))
}

/// The setup facts shared by HTML and Markdown, as (label, value) pairs.
pub(super) fn setup_facts(r: &StudyReport) -> Vec<(&'static str, String)> {
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
        (
            "Total time (training and testing)",
            format::duration(r.total_seconds),
        ),
    ]
}

/// The results table's column headers.
pub(super) const RESULT_HEAD: [&str; 11] = [
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

/// One run's row of the results table.
pub(super) fn result_cells(row: &ResultRow) -> Vec<String> {
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

/// The pair-wise comparison's column headers.
pub(super) const DELTA_HEAD: [&str; 6] = [
    "from → to",
    "change",
    "Δ val top-1",
    "seed Δ val top-1",
    "train − val gap (from)",
    "train − val gap (to)",
];

/// One pair's row of the pair-wise comparison.
/// The "Beyond the study" table's columns.
pub(super) const BEYOND_HEAD: [&str; 8] = [
    "run",
    "recipe",
    "parameters",
    "epochs",
    "val top-1",
    "test top-1",
    "vs study's best val",
    "time",
];

pub(super) fn beyond_cells(row: &BeyondRow) -> Vec<String> {
    vec![
        row.id.clone(),
        row.recipe.clone(),
        thousands(row.params),
        row.epochs.to_string(),
        pct(row.val_top1),
        pct(Some(row.test_top1)),
        points(row.val_points_over_study),
        format::duration(row.seconds),
    ]
}

pub(super) fn delta_cells(d: &Delta) -> Vec<String> {
    vec![
        format!("{} → {}", d.from, d.to),
        d.change.clone(),
        points(d.val_top1_points),
        points(d.seed_val_top1_points),
        points(d.gap_from_points),
        points(d.gap_to_points),
    ]
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

/// The results table alone, as Markdown (also readable in a terminal).
pub fn results_markdown(r: &StudyReport) -> String {
    let rows: Vec<Vec<String>> = r.results.iter().map(result_cells).collect();
    md_table(&RESULT_HEAD, &rows)
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
    out.push_str(&format!("\n{}\n", super::REFERENCE_PROTOCOL_NOTE));
    if !r.deltas.is_empty() {
        out.push_str("\n## Pair-wise comparison\n\n");
        let rows: Vec<Vec<String>> = r.deltas.iter().map(delta_cells).collect();
        out.push_str(&md_table(&DELTA_HEAD, &rows));
    }
    if !r.beyond.is_empty() {
        out.push_str(&format!(
            "\n## Beyond the study\n\n{}\n\n",
            super::BEYOND_LEAD
        ));
        let rows: Vec<Vec<String>> = r.beyond.iter().map(beyond_cells).collect();
        out.push_str(&md_table(&BEYOND_HEAD, &rows));
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
    if !r.exports.is_empty() {
        out.push_str(&format!("\n## Exporting the models\n\n{EXPORTS_LEAD}\n"));
        for e in &r.exports {
            out.push_str(&format!(
                "\n### {} ({})\n\n```{}\n{}\n```\n",
                e.extension,
                e.title,
                if e.format == ExportFormat::Ftw {
                    "sh"
                } else {
                    "python"
                },
                e.snippet
            ));
        }
    }
    out
}

/// What the report's export section says before the snippets.
pub(super) const EXPORTS_LEAD: &str = "Every run's best weights are in its folder (`model.ftw`) \
     and in the page (Runs: Weights). `fashion-trainer export --model RUN --out FILE.safetensors` \
     (or `.onnx`) converts them, and the page's Test evaluation section exports the model in use \
     in any of these formats. The snippets are for the last run's kernel counts.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::Variant;
    use crate::report::tests::{finished, report};

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
            "not the official 10,000 t10k images",
            "## Exporting the models",
            "model.load_state_dict(load_file(\"model.safetensors\"))",
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
}
