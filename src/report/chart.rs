//! Line charts over epochs as inline SVG, with round ticks, a legend, a tooltip per point and
//! a text description for screen readers.

use super::html::escape;

/// Colour-blind-safe colours (Okabe and Ito), one per variant in the overlay chart.
pub(super) const PALETTE: [&str; 7] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
];
/// The training curve's colour in a model's own charts.
pub(super) const TRAIN_COLOUR: &str = "#0072b2";
/// The validation curve's colour in a model's own charts.
pub(super) const VAL_COLOUR: &str = "#d55e00";

/// One line of a chart.
pub(super) struct Series {
    /// Shown in the legend and the tooltips.
    pub(super) name: String,
    /// A CSS colour.
    pub(super) colour: &'static str,
    /// Dashed rather than solid (validation against training).
    pub(super) dashed: bool,
    /// (epoch, value) pairs in drawing order.
    pub(super) points: Vec<(f64, f64)>,
}

/// A line chart over epochs, drawn as inline SVG.
pub(super) struct Chart {
    /// The chart's accessible name (`<title>` and `aria-label`).
    pub(super) title: String,
    /// Under the x axis.
    pub(super) x_label: &'static str,
    /// Beside the y axis.
    pub(super) y_label: &'static str,
    /// Appended to values in tooltips and the description.
    pub(super) unit: &'static str,
    /// The lines, drawn in order.
    pub(super) series: Vec<Series>,
    /// Width of the view box, in SVG units.
    pub(super) width: f64,
    /// Height of the view box, in SVG units.
    pub(super) height: f64,
    /// A dashed vertical line at this x with a label (the kept epoch).
    pub(super) marker: Option<(f64, String)>,
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

/// The smallest whole step of 1, 2 or 5 times a power of ten that cuts `range` into at most
/// `max_steps` steps.
fn whole_step(range: f64, max_steps: usize) -> f64 {
    let rough = (range / max_steps as f64).max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| range / s <= max_steps as f64 + 1e-9)
        .unwrap_or(10.0 * power)
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
    /// The chart as an `<svg>` element with a title, a description, axes, a legend and a
    /// tooltip per point.
    pub(super) fn to_svg(&self) -> String {
        let (w, h) = (self.width, self.height);
        let (plot_w, plot_h) = (
            w - MARGIN_LEFT - MARGIN_RIGHT,
            h - MARGIN_TOP - MARGIN_BOTTOM,
        );
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .filter(|x| x.is_finite());
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|y| y.is_finite());
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
        let x_step = whole_step(x_hi - x_lo, 10);
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
        // X ticks at whole epochs; at most 11 of them, whatever the epoch numbers say.
        let first = x_lo.max(1.0);
        let count = ((x_hi - first) / x_step + 1e-9).floor().clamp(0.0, 10.0) as usize;
        for epoch in (0..=count).map(|i| first + i as f64 * x_step) {
            let x = sx(epoch);
            let y0 = MARGIN_TOP + plot_h;
            svg.push_str(&format!(
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y0:.1}\" y2=\"{:.1}\" stroke=\"#57606a\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#57606a\">{}</text>\n",
                y0 + 4.0,
                y0 + 16.0,
                epoch
            ));
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

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let (lo, hi, ticks) = nice_ticks(84.3, 91.7, 6);
        assert_eq!((lo, hi), (84.0, 92.0));
        assert_eq!(ticks, [84.0, 86.0, 88.0, 90.0, 92.0]);
        let (lo, hi, _) = nice_ticks(0.5, 0.5, 6);
        assert!(lo < 0.5 && hi > 0.5);
        assert_eq!(decimals_for(0.25), 2);
        assert_eq!(decimals_for(2.0), 0);
    }

    #[test]
    fn untrusted_epoch_numbers_give_a_few_ticks() {
        assert_eq!(whole_step(14.0, 10), 2.0);
        assert_eq!(whole_step(1.0, 10), 1.0);
        assert_eq!(whole_step(99.0, 10), 10.0);
        for x_max in [15.0, 1e6, 1e18, f64::MAX, f64::INFINITY, f64::NAN] {
            let chart = Chart {
                title: "t".into(),
                x_label: "epoch",
                y_label: "loss",
                unit: "",
                series: vec![Series {
                    name: "train".into(),
                    colour: TRAIN_COLOUR,
                    dashed: false,
                    points: vec![(1.0, 0.5), (x_max, f64::NAN), (2.0, f64::INFINITY)],
                }],
                width: 640.0,
                height: 320.0,
                marker: None,
            };
            let svg = chart.to_svg();
            let ticks = svg
                .matches("text-anchor=\"middle\" fill=\"#57606a\"")
                .count();
            assert!((1..=11).contains(&ticks), "{x_max}: {ticks} x ticks");
        }
    }
}
