//! What defines a training run, how it is checked, read from a form and described.

use std::collections::BTreeMap;

use burn::config::Config;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::Device;

use crate::data::Fit;
use crate::format::thousands;
use crate::limits::{self, ConfigError, FieldError, FieldLimit, collect_errors};
use crate::model::{LeNetConfig, Pooling};
use crate::training::optimizer::FlushedAdam;
use crate::training::{Augmentation, Schedule};

/// Everything that defines a training run.
#[derive(Config, Debug, PartialEq)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct TrainingConfig {
    /// The architecture.
    pub model: LeNetConfig,
    /// Adam's learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// L2 penalty added to the gradient before Adam's update (PyTorch's Adam `weight_decay`).
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Images per optimizer step.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Passes over the training images.
    #[config(default = 15)]
    pub epochs: usize,
    /// Seed for weight initialisation, shuffling and dropout.
    #[config(default = 42)]
    pub seed: u64,
    /// Which images the model is fitted on.
    #[config(default = "Fit::Train")]
    pub fit: Fit,
    /// Random changes to each training image; `None`: none, as in the study. (The fields beyond
    /// the study are `Option`s so that runs saved before they existed still read.)
    #[config(default = "None")]
    pub augmentation: Option<Augmentation>,
    /// How the learning rate changes over the run; `None`: constant, as in the study.
    #[config(default = "None")]
    pub schedule: Option<Schedule>,
    /// Label smoothing of the training loss (the target puts this much of its weight evenly on
    /// all ten classes), 0 to below 1; `None`: 0, as in the study.
    #[config(default = "None")]
    pub label_smoothing: Option<f64>,
}

/// A form's values as typed, by field name (`learning_rate` → `"5e-4"`, `fit` → `"train"`).
pub type FormValues = BTreeMap<String, String>;

impl TrainingConfig {
    /// Every field outside its limit ([`crate::limits`]), each with its message.
    pub fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = self.model.field_errors();
        let augmentation = self.augmentation.clone().unwrap_or_default();
        errors.extend(collect_errors([
            limits::WEIGHT_DECAY.check(self.weight_decay),
            limits::LEARNING_RATE.check(self.learning_rate),
            limits::BATCH_SIZE.check(self.batch_size as f64),
            limits::EPOCHS.check(self.epochs as f64),
            limits::SEED.check(self.seed as f64),
            limits::SHIFT.check(augmentation.shift as f64),
            limits::FLIP.check(augmentation.flip),
            limits::ERASING.check(augmentation.erasing),
            limits::LABEL_SMOOTHING.check(self.label_smoothing()),
        ]));
        errors
    }

    /// Checks every field, so a bad value fails before any work starts.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check(self.field_errors())
    }

    /// This config with batches `factor` times larger and the learning rate scaled as much (the
    /// linear scaling rule, Goyal et al. 2017), for a device whose step costs about as much for
    /// more images: a GPU, where a LeNet step is bound by kernel launches, not arithmetic.
    /// Measured on base, 15 epochs, seed 42 (README, "Larger batches on the GPU"): validation
    /// top-1 91.02 % at batch 64, 90.59 % at 256 with lr x4, 90.18 % with lr x2 (the square-root
    /// rule).
    pub fn with_larger_batches(self, factor: usize) -> Self {
        let (batch_size, learning_rate) =
            (self.batch_size * factor, self.learning_rate * factor as f64);
        self.with_batch_size(batch_size)
            .with_learning_rate(learning_rate)
    }

    /// Reads a config from a form's fields ([`limits::TRAINING_FIELDS`] and `fit`), reporting
    /// every bad field at once.
    pub fn from_form(values: &FormValues) -> Result<TrainingConfig, ConfigError> {
        let mut errors = Vec::new();
        let mut read = |limit: FieldLimit| {
            let text = values.get(limit.field).map_or("", String::as_str);
            limit.parse(text).unwrap_or_else(|e| {
                errors.push(e);
                0.0
            })
        };
        let mut model = LeNetConfig::new()
            .with_conv1_kernels(read(limits::CONV1_KERNELS) as usize)
            .with_conv2_kernels(read(limits::CONV2_KERNELS) as usize)
            .with_dropout(read(limits::DROPOUT));
        let weight_decay = read(limits::WEIGHT_DECAY);
        let learning_rate = read(limits::LEARNING_RATE);
        let batch_size = read(limits::BATCH_SIZE) as usize;
        let epochs = read(limits::EPOCHS) as usize;
        let seed = read(limits::SEED) as u64;
        // The recipe fields may be left out (forms and scripts from before them): the study's.
        let mut optional = |limit: FieldLimit| match values.get(limit.field) {
            Some(_) => read(limit),
            None => 0.0,
        };
        let augmentation = Augmentation::new()
            .with_shift(optional(limits::SHIFT) as usize)
            .with_flip(optional(limits::FLIP))
            .with_erasing(optional(limits::ERASING));
        let label_smoothing = optional(limits::LABEL_SMOOTHING);
        let fit = read_choice(values, "fit", "Fit on", "", &mut errors);
        model.pooling = read_choice(values, "pooling", "Pooling", "average", &mut errors)
            .filter(|&p| p != Pooling::Average);
        model.batch_norm =
            read_choice::<Switch>(values, "batch_norm", "Batch norm", "off", &mut errors)
                .and_then(|on| on.0.then_some(true));
        let schedule = read_choice(values, "schedule", "Schedule", "constant", &mut errors)
            .filter(|&s| s != Schedule::Constant);
        ConfigError::check(errors)?;
        let config = TrainingConfig {
            model,
            learning_rate,
            weight_decay,
            batch_size,
            epochs,
            seed,
            fit: fit.unwrap_or(Fit::Train),
            augmentation: (!augmentation.is_identity()).then_some(augmentation),
            schedule,
            label_smoothing: (label_smoothing > 0.0).then_some(label_smoothing),
        };
        config.validate()?;
        Ok(config)
    }

    /// The config as a form's values ([`from_form`](Self::from_form) reads them back).
    pub fn form_values(&self) -> FormValues {
        let augmentation = self.augmentation.clone().unwrap_or_default();
        [
            (
                limits::CONV1_KERNELS.field,
                self.model.conv1_kernels.to_string(),
            ),
            (
                limits::CONV2_KERNELS.field,
                self.model.conv2_kernels.to_string(),
            ),
            (limits::DROPOUT.field, self.model.dropout.to_string()),
            (limits::WEIGHT_DECAY.field, self.weight_decay.to_string()),
            (limits::LEARNING_RATE.field, self.learning_rate.to_string()),
            (limits::BATCH_SIZE.field, self.batch_size.to_string()),
            (limits::EPOCHS.field, self.epochs.to_string()),
            (limits::SEED.field, self.seed.to_string()),
            (limits::SHIFT.field, augmentation.shift.to_string()),
            (limits::FLIP.field, augmentation.flip.to_string()),
            (limits::ERASING.field, augmentation.erasing.to_string()),
            (
                limits::LABEL_SMOOTHING.field,
                self.label_smoothing().to_string(),
            ),
            ("fit", self.fit.to_string()),
            ("pooling", self.model.pooling().name().to_string()),
            (
                "batch_norm",
                if self.model.has_batch_norm() {
                    "on"
                } else {
                    "off"
                }
                .to_string(),
            ),
            ("schedule", self.schedule().name().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The learning-rate schedule.
    pub fn schedule(&self) -> Schedule {
        self.schedule.unwrap_or_default()
    }

    /// The label smoothing of the training loss (0: none).
    pub fn label_smoothing(&self) -> f64 {
        self.label_smoothing.unwrap_or(0.0)
    }

    /// The augmentation, when it changes anything.
    pub fn augmentation(&self) -> Option<&Augmentation> {
        self.augmentation.as_ref().filter(|a| !a.is_identity())
    }

    /// The learning rate of step `step` (0-based) of `total`.
    pub fn rate_at(&self, step: usize, total: usize) -> f64 {
        self.schedule().rate(self.learning_rate, step, total)
    }

    /// The training loss: cross-entropy, smoothed when the config asks.
    pub fn loss(&self, device: &Device) -> CrossEntropyLoss {
        let smoothing = self.label_smoothing();
        CrossEntropyLossConfig::new()
            .with_smoothing((smoothing > 0.0).then_some(smoothing as f32))
            .init(device)
    }

    /// The recipe beyond the study, as `, shift 2, flip 0.5, one-cycle, smoothing 0.1`; empty
    /// for the study's own settings.
    fn describe_recipe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = self.augmentation() {
            if a.shift > 0 {
                parts.push(format!("shift {}", a.shift));
            }
            if a.flip > 0.0 {
                parts.push(format!("flip {}", a.flip));
            }
            if a.erasing > 0.0 {
                parts.push(format!("erasing {}", a.erasing));
            }
        }
        if self.schedule() != Schedule::Constant {
            parts.push(self.schedule().name().to_string());
        }
        if self.label_smoothing() > 0.0 {
            parts.push(format!("smoothing {}", self.label_smoothing()));
        }
        parts.iter().map(|p| format!(", {p}")).collect()
    }

    /// One line for tables and logs:
    /// `conv 6/16 kernels, dropout 0, wd 0, lr 0.001, batch 64, seed 42, fit train`, followed by
    /// the recipe when there is one (`, shift 2, flip 0.5, one-cycle, smoothing 0.1`).
    pub fn describe(&self) -> String {
        format!(
            "{}, wd {}, lr {}, batch {}, seed {}, fit {}{}",
            self.model.describe(),
            self.weight_decay,
            self.learning_rate,
            self.batch_size,
            self.seed,
            self.fit,
            self.describe_recipe()
        )
    }

    /// The description of a run of this config, with its image limit when it has one
    /// (`..., fit train, limit 600`).
    pub fn describe_run(&self, limit: Option<usize>) -> String {
        match limit {
            Some(n) => format!("{}, limit {}", self.describe(), thousands(n)),
            None => self.describe(),
        }
    }

    /// True when two configs describe the same run. Floats are compared with a tolerance, so a
    /// config that went through a JSON file (or a browser) still matches.
    pub fn same_run(&self, other: &TrainingConfig) -> bool {
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0);
        let (a, b) = (
            self.augmentation.clone().unwrap_or_default(),
            other.augmentation.clone().unwrap_or_default(),
        );
        self.model.same_model(&other.model)
            && (a.shift, self.schedule()) == (b.shift, other.schedule())
            && close(a.flip, b.flip)
            && close(a.erasing, b.erasing)
            && close(self.label_smoothing(), other.label_smoothing())
            && close(self.learning_rate, other.learning_rate)
            && close(self.weight_decay, other.weight_decay)
            && (self.batch_size, self.epochs, self.seed, self.fit)
                == (other.batch_size, other.epochs, other.seed, other.fit)
    }

    /// The Adam optimizer this config asks for (its moments flushed of subnormal values,
    /// `FlushedAdam`). Epsilon 1e-8 as in PyTorch and Keras.
    pub fn optimizer(&self) -> ModuleOptimizer {
        let decay =
            (self.weight_decay > 0.0).then(|| WeightDecayConfig::new(self.weight_decay as f32));
        let adam = AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(decay)
            .build();
        ModuleOptimizer::from(FlushedAdam(adam))
    }
}

/// A choice field of a form, parsed; a bad value is pushed to `errors` as `None`. A missing
/// field reads as `default`.
fn read_choice<T: std::str::FromStr<Err = String>>(
    values: &FormValues,
    field: &str,
    label: &str,
    default: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let text = values.get(field).map_or(default, String::as_str);
    text.parse::<T>()
        .map_err(|e| errors.push(FieldError::new(field, format!("{label}: {e}"))))
        .ok()
}

/// An on/off choice of a form.
struct Switch(bool);

impl std::str::FromStr for Switch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "on" => Ok(Switch(true)),
            "off" => Ok(Switch(false)),
            _ => Err(format!("'{s}' is neither on nor off")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::Variant;

    fn form(pairs: &[(&str, &str)]) -> FormValues {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn v4_form() -> FormValues {
        form(&[
            ("conv1_kernels", "16"),
            ("conv2_kernels", "26"),
            ("dropout", "0.3"),
            ("weight_decay", "0.0001"),
            ("learning_rate", "5e-4"),
            ("batch_size", "64"),
            ("epochs", "15"),
            ("seed", "42"),
            ("fit", "train"),
        ])
    }

    #[test]
    fn a_form_reads_as_its_config() {
        let config = TrainingConfig::from_form(&v4_form()).unwrap();
        assert!(config.same_run(&Variant::V4.config()));
        assert_eq!(config, Variant::V4.config());
    }

    #[test]
    fn recipes_round_trip_through_the_form_and_old_runs_still_read() {
        let best = Variant::Best.config();
        let again = TrainingConfig::from_form(&best.form_values()).unwrap();
        assert!(again.same_run(&best) && Variant::matching(&again) == Some(Variant::Best));
        // The study's settings leave every recipe field out of the JSON's meaning: `None`.
        let base = TrainingConfig::from_form(&Variant::Base.config().form_values()).unwrap();
        assert_eq!(base, Variant::Base.config());
        // A run saved before the recipes existed.
        let old = r#"{"model":{"conv1_kernels":6,"conv2_kernels":16,"dropout":0.0},
            "learning_rate":0.001,"weight_decay":0.0,"batch_size":64,"epochs":15,"seed":42,
            "fit":"train"}"#;
        let old: TrainingConfig = serde_json::from_str(old).unwrap();
        assert_eq!(old, Variant::Base.config());
        assert_eq!(old.schedule(), Schedule::Constant);
        assert!(old.augmentation().is_none() && old.label_smoothing() == 0.0);
        let mut bad = best.form_values();
        bad.insert("pooling".into(), "median".into());
        bad.insert("batch_norm".into(), "maybe".into());
        let ConfigError(errors) = TrainingConfig::from_form(&bad).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["pooling", "batch_norm"]);
    }

    #[test]
    fn every_bad_field_of_a_form_is_named() {
        let mut values = v4_form();
        values.insert("learning_rate".into(), "0".into());
        values.insert("epochs".into(), "".into());
        values.insert("fit".into(), "everything".into());
        let ConfigError(errors) = TrainingConfig::from_form(&values).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["learning_rate", "epochs", "fit"]);
        assert!(errors[1].message.starts_with("Epochs: "), "{errors:?}");
    }

    #[test]
    fn validate_names_each_field_out_of_range() {
        let config = Variant::Base
            .config()
            .with_batch_size(0)
            .with_learning_rate(2.0);
        let err = config.validate().unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["learning_rate", "batch_size"]);
        assert!(Variant::V4.config().validate().is_ok());
    }

    #[test]
    fn larger_batches_scale_the_learning_rate_as_much() {
        let base = TrainingConfig::new(LeNetConfig::new());
        let x4 = base.clone().with_larger_batches(4);
        assert_eq!((x4.batch_size, x4.learning_rate), (256, 0.004));
        assert_eq!(base.clone().with_larger_batches(1), base);
        // Beyond the batch limit the scaled config is refused, naming the field.
        let big = base.with_batch_size(2048).with_larger_batches(4);
        let fields: Vec<_> = big.field_errors().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["batch_size"]);
    }

    #[test]
    fn descriptions_and_run_equality() {
        assert_eq!(
            Variant::V4.config().describe(),
            "conv 16/26 kernels, dropout 0.3, wd 0.0001, lr 0.0005, batch 64, seed 42, fit train"
        );
        assert!(
            Variant::Base
                .config()
                .describe_run(Some(6000))
                .ends_with("fit train, limit 6,000")
        );
        let base = Variant::Base.config();
        let mut through_json = base.clone();
        through_json.learning_rate = 0.001 + 1e-18;
        assert!(base.same_run(&through_json));
        assert!(!base.same_run(&base.clone().with_seed(1)));
        assert!(!base.same_run(&Variant::V1.config()));
    }
}
