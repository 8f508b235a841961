//! What defines a training run, how it is checked, read from a form and described.

use std::collections::BTreeMap;

use burn::config::Config;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, ModuleOptimizer};

use crate::data::Fit;
use crate::format::thousands;
use crate::limits::{self, ConfigError, FieldError, FieldLimit, collect_errors};
use crate::model::LeNetConfig;

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
}

/// A form's values as typed, by field name (`learning_rate` → `"5e-4"`, `fit` → `"train"`).
pub type FormValues = BTreeMap<String, String>;

impl TrainingConfig {
    /// Every field outside its limit ([`crate::limits`]), each with its message.
    pub fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = self.model.field_errors();
        errors.extend(collect_errors([
            limits::WEIGHT_DECAY.check(self.weight_decay),
            limits::LEARNING_RATE.check(self.learning_rate),
            limits::BATCH_SIZE.check(self.batch_size as f64),
            limits::EPOCHS.check(self.epochs as f64),
            limits::SEED.check(self.seed as f64),
        ]));
        errors
    }

    /// Checks every field, so a bad value fails before any work starts.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check(self.field_errors())
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
        let model = LeNetConfig {
            conv1_kernels: read(limits::CONV1_KERNELS) as usize,
            conv2_kernels: read(limits::CONV2_KERNELS) as usize,
            dropout: read(limits::DROPOUT),
        };
        let weight_decay = read(limits::WEIGHT_DECAY);
        let learning_rate = read(limits::LEARNING_RATE);
        let batch_size = read(limits::BATCH_SIZE) as usize;
        let epochs = read(limits::EPOCHS) as usize;
        let seed = read(limits::SEED) as u64;
        let fit = values
            .get("fit")
            .map_or("", String::as_str)
            .parse::<Fit>()
            .unwrap_or_else(|e| {
                errors.push(FieldError::new("fit", format!("Fit on: {e}")));
                Fit::Train
            });
        ConfigError::check(errors)?;
        Ok(TrainingConfig {
            model,
            learning_rate,
            weight_decay,
            batch_size,
            epochs,
            seed,
            fit,
        })
    }

    /// One line for tables and logs:
    /// `conv 6/16 kernels, dropout 0, wd 0, lr 0.001, batch 64, seed 42, fit train`.
    pub fn describe(&self) -> String {
        format!(
            "{}, wd {}, lr {}, batch {}, seed {}, fit {}",
            self.model.describe(),
            self.weight_decay,
            self.learning_rate,
            self.batch_size,
            self.seed,
            self.fit
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
        self.model.same_architecture(&other.model)
            && close(self.model.dropout, other.model.dropout)
            && close(self.learning_rate, other.learning_rate)
            && close(self.weight_decay, other.weight_decay)
            && (self.batch_size, self.epochs, self.seed, self.fit)
                == (other.batch_size, other.epochs, other.seed, other.fit)
    }

    /// The Adam optimizer this config asks for. Epsilon 1e-8 as in PyTorch and Keras.
    pub fn optimizer(&self) -> ModuleOptimizer {
        let decay =
            (self.weight_decay > 0.0).then(|| WeightDecayConfig::new(self.weight_decay as f32));
        AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(decay)
            .init()
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
