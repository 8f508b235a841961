//! The report as one self-contained HTML page: inline CSS and SVG charts, no script, nothing
//! loaded from outside the file.

use super::chart::{Chart, PALETTE, Series, TRAIN_COLOUR, VAL_COLOUR};
use super::text::{
    BEYOND_HEAD, DELTA_HEAD, RESULT_HEAD, beyond_cells, chosen_test_pct, delta_cells, pct, points,
    result_cells, seed_pct, setup_facts,
};
use super::{CatalogueSection, ModelSection, RefitComparison, StudyReport};
use crate::data::{CLASS_NAMES, Fit};
use crate::format::thousands;
use crate::metrics::ConfusionMatrix;
use crate::presets::PUBLISHED_CHOSEN;
use crate::training::EpochRecord;

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

/// The page's style sheet, inlined into its `<style>` element.
const CSS: &str = include_str!("report.css");

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
    body.push_str(&html_beyond(r));
    body.push_str(&html_models(r));
    if let Some(refit) = &r.refit {
        body.push_str(&html_refit(refit));
    }
    if let Some(c) = &r.catalogue {
        body.push_str(&html_catalogue(c));
    }
    if !r.exports.is_empty() {
        body.push_str(&html_exports(r));
    }
    body.push_str("</main>\n");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta \
         name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
         <style>\n{}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
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
    if !r.beyond.is_empty() {
        s.push(("beyond", "Beyond the study"));
    }
    s.push(("models", "Models"));
    if r.refit.is_some() {
        s.push(("refit", "Train vs train+val on the test set"));
    }
    if r.catalogue.is_some() {
        s.push(("catalogue", "Product catalogue photos"));
    }
    if !r.exports.is_empty() {
        s.push(("exports", "Exporting the models"));
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
         study's numbers.</p>\n<p class=\"lead\">{}</p>\n</section>\n",
        heading(r, "results"),
        html_table("results", "Results per run", &RESULT_HEAD, &rows, &[1, 2]),
        escape(super::REFERENCE_PROTOCOL_NOTE)
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

fn html_beyond(r: &StudyReport) -> String {
    if r.beyond.is_empty() {
        return String::new();
    }
    let rows: Vec<(Option<&str>, Vec<String>)> =
        r.beyond.iter().map(|b| (None, beyond_cells(b))).collect();
    format!(
        "<section aria-labelledby=\"beyond\">\n{}<p>{}</p>\n{}</section>\n",
        heading(r, "beyond"),
        code_spans(super::BEYOND_LEAD),
        html_table(
            "beyond",
            "Recipe runs beside the study",
            &BEYOND_HEAD,
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
    // One chart per measure, training solid and validation dashed, the kept epoch marked.
    type Measure = fn(&EpochRecord) -> Option<f64>;
    let chart =
        |what: &str, y_label: &'static str, unit: &'static str, train: Measure, val: Measure| {
            let series = [
                ("training", train, TRAIN_COLOUR, false),
                ("validation", val, VAL_COLOUR, true),
            ]
            .into_iter()
            .map(|(name, f, colour, dashed)| Series {
                name: name.to_string(),
                colour,
                dashed,
                points: m
                    .history
                    .iter()
                    .filter_map(|e| Some((e.epoch as f64, f(e)?)))
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect();
            Chart {
                title: format!("{}: {what} per epoch", m.id),
                x_label: "epoch",
                y_label,
                unit,
                series,
                width: 420.0,
                height: 290.0,
                marker: Some((m.best_epoch as f64, "kept".to_string())),
            }
        };
    let loss = chart(
        "cross-entropy loss",
        "loss",
        "",
        |e| Some(e.train_loss),
        |e| e.val_loss,
    );
    let accuracy = chart(
        "top-1 accuracy",
        "top-1 (%)",
        " %",
        |e| Some(100.0 * e.train_accuracy),
        |e| e.val_accuracy.map(|a| 100.0 * a),
    );
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

fn shape(s: &[i64]) -> String {
    format!(
        "[{}]",
        s.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    )
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

fn html_exports(r: &StudyReport) -> String {
    let mut out = format!(
        "<section aria-labelledby=\"exports\">\n{}<p>{}</p>\n",
        heading(r, "exports"),
        code_spans(&escape(super::text::EXPORTS_LEAD))
    );
    for e in &r.exports {
        out.push_str(&format!(
            "<h3>{} <small>{}</small></h3>\n<pre><code>{}</code></pre>\n",
            escape(&e.extension),
            escape(&e.title),
            escape(&e.snippet)
        ));
    }
    out.push_str("</section>\n");
    out
}

/// Markdown's `code` spans of an escaped text as `<code>` elements.
fn code_spans(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ClassificationReport;
    use crate::report::tests::report;

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
            "<h2 id=\"exports\">",
            "class=\"confusion\"",
            "not the official 10,000 t10k images",
            "(<code>model.ftw</code>)",
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
        // One loss and one accuracy chart per run, plus the overlay.
        assert_eq!(html.matches("<svg ").count(), 2 * r.models.len() + 1);
        assert!(!to_html(&report()).contains("id=\"catalogue\""));
    }

    #[test]
    fn heat_runs_from_white_to_dark_blue() {
        assert_eq!(heat(0.0).0, "#ffffff");
        assert_eq!(heat(1.0).0, "#08306b");
    }
}
