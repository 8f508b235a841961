//! Classification metrics on host data: confusion matrix, per-class precision / recall / F1 /
//! support, accuracy and averages, rendered like scikit-learn's `classification_report`.

use serde::{Deserialize, Serialize};

use crate::data::{CLASS_NAMES, NUM_CLASSES};

/// Counts of (true class, predicted class) pairs; `counts[t][p]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct ConfusionMatrix {
    /// Rows are true classes, columns predicted classes.
    pub counts: [[u64; NUM_CLASSES]; NUM_CLASSES],
}

impl ConfusionMatrix {
    /// Tallies predictions against labels; pairs with an id outside 0..=9 are ignored.
    pub fn new(labels: &[u8], predictions: &[u8]) -> Self {
        let mut counts = [[0u64; NUM_CLASSES]; NUM_CLASSES];
        for (&t, &p) in labels.iter().zip(predictions) {
            if (t as usize) < NUM_CLASSES && (p as usize) < NUM_CLASSES {
                counts[t as usize][p as usize] += 1;
            }
        }
        Self { counts }
    }

    /// All tallied pairs.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Pairs on the diagonal.
    pub fn correct(&self) -> u64 {
        (0..NUM_CLASSES).map(|c| self.counts[c][c]).sum()
    }

    /// The matrix as aligned text, true classes down, predictions across.
    pub fn to_text(&self) -> String {
        let width = self
            .counts
            .iter()
            .flatten()
            .map(|c| c.to_string().len())
            .max()
            .unwrap_or(1)
            .max(4);
        let name_width = CLASS_NAMES
            .iter()
            .map(|n| n.len() + 2)
            .max()
            .unwrap_or(0)
            .max(16);
        let mut out = format!("{:>name_width$} ", "true \\ predicted");
        for c in 0..NUM_CLASSES {
            out.push_str(&format!(" {:>width$}", c));
        }
        out.push('\n');
        for (t, row) in self.counts.iter().enumerate() {
            out.push_str(&format!(
                "{:>name_width$} ",
                format!("{} {}", CLASS_NAMES[t], t)
            ));
            for count in row {
                out.push_str(&format!(" {count:>width$}"));
            }
            out.push('\n');
        }
        out
    }
}

/// Precision, recall, F1 and support of one class (or an average).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct ClassScores {
    /// Class name, or `macro avg` / `weighted avg`.
    pub name: String,
    /// TP / (TP + FP); 0 when nothing was predicted as this class.
    pub precision: f64,
    /// TP / (TP + FN); 0 when the class has no support.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Images whose true class this is.
    pub support: u64,
}

/// A full classification report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct ClassificationReport {
    /// One entry per class, in label order.
    pub classes: Vec<ClassScores>,
    /// Top-1 accuracy in [0, 1].
    pub accuracy: f64,
    /// Unweighted mean over classes with support.
    pub macro_avg: ClassScores,
    /// Mean over classes weighted by support.
    pub weighted_avg: ClassScores,
    /// The confusion matrix the scores come from.
    pub confusion: ConfusionMatrix,
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl ClassificationReport {
    /// Computes the report from true labels and predictions.
    pub fn new(labels: &[u8], predictions: &[u8]) -> Self {
        Self::from_confusion(ConfusionMatrix::new(labels, predictions))
    }

    /// Computes the report from a confusion matrix.
    pub fn from_confusion(confusion: ConfusionMatrix) -> Self {
        let m = &confusion.counts;
        let classes: Vec<ClassScores> = (0..NUM_CLASSES)
            .map(|c| {
                let tp = m[c][c];
                let support: u64 = m[c].iter().sum();
                let predicted: u64 = (0..NUM_CLASSES).map(|t| m[t][c]).sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassScores {
                    name: CLASS_NAMES[c].to_string(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let total = confusion.total();
        // Classes absent from the labels have undefined recall; like scikit-learn's "labels
        // present" behaviour, they are left out of the macro average.
        let present: Vec<&ClassScores> = classes.iter().filter(|c| c.support > 0).collect();
        let n = present.len().max(1) as f64;
        let macro_avg = ClassScores {
            name: "macro avg".into(),
            precision: present.iter().map(|c| c.precision).sum::<f64>() / n,
            recall: present.iter().map(|c| c.recall).sum::<f64>() / n,
            f1: present.iter().map(|c| c.f1).sum::<f64>() / n,
            support: total,
        };
        let w = |f: fn(&ClassScores) -> f64| {
            classes.iter().map(|c| f(c) * c.support as f64).sum::<f64>() / total.max(1) as f64
        };
        let weighted_avg = ClassScores {
            name: "weighted avg".into(),
            precision: w(|c| c.precision),
            recall: w(|c| c.recall),
            f1: w(|c| c.f1),
            support: total,
        };
        Self {
            accuracy: ratio(confusion.correct(), total),
            classes,
            macro_avg,
            weighted_avg,
            confusion,
        }
    }

    /// What is wrong with a stored report (edited or damaged): a count beyond any test set, or
    /// scores that do not follow from its confusion matrix. `None` when it is sound.
    pub fn inconsistency(&self) -> Option<String> {
        // Far more images than any test set, and small enough that no sum overflows.
        const MAX_COUNT: u64 = 1 << 40;
        if self
            .confusion
            .counts
            .iter()
            .flatten()
            .any(|&n| n > MAX_COUNT)
        {
            return Some("a confusion matrix count is out of range".into());
        }
        if self.confusion.total() == 0 {
            return Some("the confusion matrix is empty (no test image)".into());
        }
        let expected = Self::from_confusion(self.confusion.clone());
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6;
        let same = |a: &ClassScores, b: &ClassScores| {
            close(a.precision, b.precision)
                && close(a.recall, b.recall)
                && close(a.f1, b.f1)
                && a.support == b.support
        };
        let classes_agree = self.classes.len() == expected.classes.len()
            && self
                .classes
                .iter()
                .zip(&expected.classes)
                .all(|(a, b)| same(a, b));
        if !close(self.accuracy, expected.accuracy)
            || !classes_agree
            || !same(&self.macro_avg, &expected.macro_avg)
            || !same(&self.weighted_avg, &expected.weighted_avg)
        {
            return Some("the test scores do not follow from its confusion matrix".into());
        }
        None
    }

    /// The report as text, in the layout of scikit-learn's `classification_report(digits=2)`;
    /// classes without support are marked.
    pub fn to_text(&self, digits: usize) -> String {
        let width = self
            .classes
            .iter()
            .map(|c| c.name.len())
            .chain([12, digits])
            .max()
            .unwrap_or(12);
        let mut out = format!(
            "{:>width$}  {:>9} {:>9} {:>9} {:>9}\n\n",
            "", "precision", "recall", "f1-score", "support"
        );
        let row = |c: &ClassScores| {
            format!(
                "{:>width$}  {:>9.digits$} {:>9.digits$} {:>9.digits$} {:>9}{}\n",
                c.name,
                c.precision,
                c.recall,
                c.f1,
                c.support,
                if c.support == 0 { "  (no support)" } else { "" }
            )
        };
        for c in &self.classes {
            out.push_str(&row(c));
        }
        out.push('\n');
        out.push_str(&format!(
            "{:>width$}  {:>9} {:>9} {:>9.digits$} {:>9}\n",
            "accuracy", "", "", self.accuracy, self.macro_avg.support
        ));
        let mut avg = |c: &ClassScores| out.push_str(&row(c).replace("  (no support)", ""));
        avg(&self.macro_avg);
        avg(&self.weighted_avg);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example() {
        // True:      0 0 0 1 1 2
        // Predicted: 0 0 1 1 2 2
        let labels = [0, 0, 0, 1, 1, 2];
        let preds = [0, 0, 1, 1, 2, 2];
        let r = ClassificationReport::new(&labels, &preds);
        assert_eq!(r.confusion.counts[0][0], 2);
        assert_eq!(r.confusion.counts[0][1], 1);
        assert_eq!(r.confusion.counts[1][2], 1);
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // class 0: P = 2/2, R = 2/3, F1 = 0.8
        let c0 = &r.classes[0];
        assert_eq!((c0.precision, c0.support), (1.0, 3));
        assert!((c0.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((c0.f1 - 0.8).abs() < 1e-12);
        // class 1: P = 1/2, R = 1/2; class 2: P = 1/2, R = 1
        assert_eq!((r.classes[1].precision, r.classes[1].recall), (0.5, 0.5));
        assert_eq!((r.classes[2].precision, r.classes[2].recall), (0.5, 1.0));
        assert!((r.classes[2].f1 - 2.0 / 3.0).abs() < 1e-12);
        // macro over the three present classes
        assert!((r.macro_avg.precision - (1.0 + 0.5 + 0.5) / 3.0).abs() < 1e-12);
        assert!((r.macro_avg.recall - (2.0 / 3.0 + 0.5 + 1.0) / 3.0).abs() < 1e-12);
        // weighted by support 3, 2, 1
        assert!((r.weighted_avg.precision - (3.0 * 1.0 + 2.0 * 0.5 + 0.5) / 6.0).abs() < 1e-12);
        assert_eq!(r.weighted_avg.support, 6);
        // absent classes: zero scores, no support
        assert_eq!(r.classes[5].support, 0);
        assert_eq!(r.classes[5].f1, 0.0);
    }

    #[test]
    fn text_layout_matches_scikit_learn() {
        let r = ClassificationReport::new(&[0, 1, 1, 9], &[0, 1, 0, 9]);
        let text = r.to_text(2);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "              precision    recall  f1-score   support"
        );
        assert_eq!(
            lines[2],
            " T-shirt/top       0.50      1.00      0.67         1"
        );
        assert_eq!(
            lines[3],
            "     Trouser       1.00      0.50      0.67         2"
        );
        assert!(lines[4].ends_with("0  (no support)"), "{}", lines[4]);
        assert_eq!(lines[12], "");
        assert_eq!(
            lines[13],
            "    accuracy                           0.75         4"
        );
        assert!(lines[14].starts_with("   macro avg"));
        assert!(lines[15].starts_with("weighted avg"));
    }

    #[test]
    fn json_round_trip() {
        let r = ClassificationReport::new(&[3, 3, 4], &[3, 4, 4]);
        let json = serde_json::to_string(&r).unwrap();
        let back: ClassificationReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn confusion_text_has_a_row_per_class() {
        let m = ConfusionMatrix::new(&[0, 1], &[1, 1]);
        assert_eq!(m.to_text().lines().count(), 11);
        assert_eq!(m.total(), 2);
        assert_eq!(m.correct(), 1);
    }
}
