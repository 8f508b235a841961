//! The range of every number a user can set, in one place: `validate` enforces it, the CLI and
//! the page report it with the same words, and the page's form reads its bounds from it (the
//! page has no copy of these numbers).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One number a user can set: where it lives in a config, how the form labels it, its range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct FieldLimit {
    /// The field's name in a config and in the form (`learning_rate`).
    pub field: &'static str,
    /// The form's label (`Learning rate`).
    pub label: &'static str,
    /// A short help text shown under the field, or empty.
    pub hint: &'static str,
    /// The smallest value (allowed unless `min_exclusive`).
    pub min: f64,
    /// True when `min` itself is not allowed (a learning rate above 0).
    pub min_exclusive: bool,
    /// The largest value (allowed unless `max_exclusive`).
    pub max: f64,
    /// True when `max` itself is not allowed (a dropout below 1).
    pub max_exclusive: bool,
    /// Whole numbers only.
    pub integer: bool,
}

/// Kernels of the first convolution.
pub const CONV1_KERNELS: FieldLimit = FieldLimit::whole("conv1_kernels", "Conv1 kernels", 1, 512);
/// Kernels of the second convolution.
pub const CONV2_KERNELS: FieldLimit = FieldLimit::whole("conv2_kernels", "Conv2 kernels", 1, 512);
/// Dropout after fc1 and fc2: `[0, 1)`.
pub const DROPOUT: FieldLimit = FieldLimit {
    hint: "After fc1 and fc2, 0 to below 1.",
    max_exclusive: true,
    ..FieldLimit::real("dropout", "Dropout", 0.0, 1.0)
};
/// L2 weight decay: `[0, 1]`.
pub const WEIGHT_DECAY: FieldLimit =
    FieldLimit::real("weight_decay", "Weight decay (L2)", 0.0, 1.0);
/// Adam's learning rate: `(0, 1]`.
pub const LEARNING_RATE: FieldLimit = FieldLimit {
    min_exclusive: true,
    ..FieldLimit::real("learning_rate", "Learning rate", 0.0, 1.0)
};
/// Images per step.
pub const BATCH_SIZE: FieldLimit = FieldLimit::whole("batch_size", "Batch size", 1, 4096);
/// Passes over the training images.
pub const EPOCHS: FieldLimit = FieldLimit::whole("epochs", "Epochs", 1, 1000);
/// The seed of weights, shuffles and dropout; at most 2^53 - 1, the largest whole number a
/// browser's numbers hold exactly, so a seed means the same run in the page and the CLI.
pub const SEED: FieldLimit = FieldLimit::whole("seed", "Seed", 0, (1 << 53) - 1);
/// Augmentation: random shift of up to this many pixels.
pub const SHIFT: FieldLimit = FieldLimit {
    hint: "Augmentation: each training image moved by up to this many pixels (0: off).",
    ..FieldLimit::whole("shift", "Random shift (pixels)", 0, 4)
};
/// Augmentation: probability of a left-right mirror.
pub const FLIP: FieldLimit = FieldLimit {
    hint: "Augmentation: chance that a training image is mirrored left to right.",
    ..FieldLimit::real("flip", "Random flip", 0.0, 1.0)
};
/// Augmentation: probability of random erasing.
pub const ERASING: FieldLimit = FieldLimit {
    hint: "Augmentation: chance that a rectangle of a training image is blanked.",
    ..FieldLimit::real("erasing", "Random erasing", 0.0, 1.0)
};
/// Label smoothing: `[0, 1)`.
pub const LABEL_SMOOTHING: FieldLimit = FieldLimit {
    hint: "Share of each target spread over all ten classes, 0 to below 1.",
    max_exclusive: true,
    ..FieldLimit::real("label_smoothing", "Label smoothing", 0.0, 1.0)
};
/// Workers (or threads) sharing each batch on the CPU.
pub const WORKERS: FieldLimit = FieldLimit {
    hint: "Each trains a share of every batch on a core of its own; a change applies from the next run, the study's too.",
    ..FieldLimit::whole("workers", "CPU workers", 1, 64)
};

/// How many times larger a run's batches may be on the GPU ([`gpu_batches_field`]); 1: as set.
pub const GPU_BATCH_FACTORS: [usize; 4] = [1, 2, 4, 8];

/// The GPU batch setting: how, not what, to train (like the workers), so outside the model's
/// fields; it applies to a new run that trains on the GPU.
pub fn gpu_batches_field() -> ChoiceField {
    ChoiceField {
        field: "gpu_batches",
        label: "Batches on the GPU",
        hint: "On a GPU a LeNet step costs about as much for 256 images as for 64 (kernel launches, not arithmetic): larger batches train more images a second there, with the learning rate scaled as much. Base, 15 epochs: 91.02 % validation at x1, 90.59 % at x4. CPU runs and studies keep the batch as set.",
        options: GPU_BATCH_FACTORS
            .map(|k| {
                let label = if k == 1 {
                    "x1 (as set)".to_string()
                } else {
                    format!("x{k} (learning rate x{k})")
                };
                (k.to_string(), label)
            })
            .to_vec(),
    }
}

/// The numbers of a training config, in the form's order.
pub const TRAINING_FIELDS: [FieldLimit; 12] = [
    CONV1_KERNELS,
    CONV2_KERNELS,
    DROPOUT,
    WEIGHT_DECAY,
    LEARNING_RATE,
    BATCH_SIZE,
    EPOCHS,
    SEED,
    SHIFT,
    FLIP,
    ERASING,
    LABEL_SMOOTHING,
];

/// A setting chosen from a list (the form's select), with the value each option stands for.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct ChoiceField {
    /// The field's name in the form (`schedule`).
    pub field: &'static str,
    /// The form's label.
    pub label: &'static str,
    /// A short help text shown under the field.
    pub hint: &'static str,
    /// `(value, label)` of each option; the first is the study's.
    pub options: Vec<(String, String)>,
}

/// The choices of a training config beyond its numbers, in the form's order.
pub fn training_choices() -> Vec<ChoiceField> {
    use crate::model::Pooling;
    use crate::training::Schedule;
    let named = |value: &str, label: &str| (value.to_string(), label.to_string());
    vec![
        ChoiceField {
            field: "pooling",
            label: "Pooling",
            hint: "After each convolution, 2x2.",
            options: [Pooling::Average, Pooling::Max]
                .map(|p| named(p.name(), p.name()))
                .to_vec(),
        },
        ChoiceField {
            field: "batch_norm",
            label: "Batch norm",
            hint: "Normalise each convolution's output over the batch.",
            options: vec![named("off", "off"), named("on", "on")],
        },
        ChoiceField {
            field: "schedule",
            label: "Learning-rate schedule",
            hint: "Step: /10 at 1/2 and 3/4 of the run. Cosine: down to 0. One-cycle: warm up over 30 %, then down.",
            options: crate::training::Schedule::ALL
                .map(|s: Schedule| named(s.name(), s.name()))
                .to_vec(),
        },
    ]
}

impl FieldLimit {
    const fn whole(field: &'static str, label: &'static str, min: u64, max: u64) -> Self {
        Self {
            field,
            label,
            hint: "",
            min: min as f64,
            min_exclusive: false,
            max: max as f64,
            max_exclusive: false,
            integer: true,
        }
    }

    const fn real(field: &'static str, label: &'static str, min: f64, max: f64) -> Self {
        Self {
            field,
            label,
            hint: "",
            min,
            min_exclusive: false,
            max,
            max_exclusive: false,
            integer: false,
        }
    }

    /// The allowed values in words: `from 1 to 512`, `above 0 and at most 1`.
    pub fn range_text(&self) -> String {
        let low = if self.min_exclusive {
            format!("above {}", self.min)
        } else {
            format!("from {}", self.min)
        };
        let high = if self.max_exclusive {
            format!("below {}", self.max)
        } else if self.min_exclusive {
            format!("at most {}", self.max)
        } else {
            format!("to {}", self.max)
        };
        let joiner = if self.min_exclusive || self.max_exclusive {
            " and "
        } else {
            " "
        };
        format!("{low}{joiner}{high}")
    }

    fn error(&self, message: String) -> FieldError {
        FieldError {
            field: self.field.to_string(),
            message,
        }
    }

    fn expected(&self) -> String {
        let kind = if self.integer {
            "a whole number"
        } else {
            "a number"
        };
        format!("{}: enter {kind} {}", self.label, self.range_text())
    }

    /// Checks `value` against the range; the error names the field and the range.
    pub fn check(&self, value: f64) -> Result<(), FieldError> {
        let above = if self.min_exclusive {
            value > self.min
        } else {
            value >= self.min
        };
        let below = if self.max_exclusive {
            value < self.max
        } else {
            value <= self.max
        };
        let whole = !self.integer || value.fract() == 0.0;
        if above && below && whole {
            Ok(())
        } else {
            Err(self.error(format!("{}, got {value}", self.expected())))
        }
    }

    /// Reads the field from text as typed in a form; an empty or non-numeric entry is an error
    /// naming the field.
    pub fn parse(&self, text: &str) -> Result<f64, FieldError> {
        let text = text.trim();
        let value: f64 = text
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                if text.is_empty() {
                    self.error(format!("{} (it is empty)", self.expected()))
                } else {
                    self.error(format!("{}, got '{text}'", self.expected()))
                }
            })?;
        self.check(value)?;
        Ok(value)
    }
}

/// One field with a value it cannot take, and why, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Error)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
#[error("{message}")]
pub struct FieldError {
    /// The field (`learning_rate`, `variants`); the form marks its input.
    pub field: String,
    /// What is wrong, naming the field (`Learning rate: enter a number above 0 and at most 1,
    /// got 2`).
    pub message: String,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A configuration that cannot be used: every field that is wrong, each with its message.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("invalid configuration: {}", join(.0))]
pub struct ConfigError(pub Vec<FieldError>);

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<FieldError> for ConfigError {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

impl ConfigError {
    /// Ok when no field is wrong.
    pub fn check(errors: Vec<FieldError>) -> Result<(), ConfigError> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(errors))
        }
    }
}

/// Runs every check and keeps the errors, so a form can mark all bad fields at once.
pub fn collect_errors(checks: impl IntoIterator<Item = Result<(), FieldError>>) -> Vec<FieldError> {
    checks.into_iter().filter_map(Result::err).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_with_their_bounds() {
        assert!(LEARNING_RATE.check(1.0).is_ok());
        assert!(LEARNING_RATE.check(1e-9).is_ok());
        let err = LEARNING_RATE.check(0.0).unwrap_err();
        assert_eq!(err.field, "learning_rate");
        assert_eq!(
            err.message,
            "Learning rate: enter a number above 0 and at most 1, got 0"
        );
        assert!(DROPOUT.check(0.0).is_ok());
        assert!(DROPOUT.check(0.999).is_ok());
        assert!(DROPOUT.check(1.0).is_err());
        assert!(EPOCHS.check(1000.0).is_ok());
        assert_eq!(
            EPOCHS.check(2.5).unwrap_err().message,
            "Epochs: enter a whole number from 1 to 1000, got 2.5"
        );
        assert!(SEED.check(9_007_199_254_740_991.0).is_ok());
        assert!(SEED.check(9_007_199_254_740_993.0).is_err());
    }

    #[test]
    fn typed_text_is_parsed_or_named() {
        assert_eq!(BATCH_SIZE.parse(" 64 "), Ok(64.0));
        assert_eq!(LEARNING_RATE.parse("5e-4"), Ok(5e-4));
        assert_eq!(
            BATCH_SIZE.parse("").unwrap_err().message,
            "Batch size: enter a whole number from 1 to 4096 (it is empty)"
        );
        assert_eq!(
            WEIGHT_DECAY.parse("lots").unwrap_err().message,
            "Weight decay (L2): enter a number from 0 to 1, got 'lots'"
        );
        assert!(EPOCHS.parse("NaN").is_err());
        assert!(EPOCHS.parse("inf").is_err());
    }

    #[test]
    fn a_config_error_lists_every_field() {
        let err = ConfigError(vec![
            FieldError::new("epochs", "Epochs: too many"),
            FieldError::new("seed", "Seed: negative"),
        ]);
        assert_eq!(
            err.to_string(),
            "invalid configuration: Epochs: too many; Seed: negative"
        );
        assert!(ConfigError::check(Vec::new()).is_ok());
    }
}
