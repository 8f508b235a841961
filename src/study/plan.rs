//! A study's plan: which variants, how long, on how much data, and which model is refitted; read
//! from the command line, the page's form or a stored study, and checked field by field.

use serde::{Deserialize, Serialize};

use crate::data::Fit;
use crate::limits::{self, ConfigError, FieldError};
use crate::presets::Variant;
use crate::training::TrainingConfig;

/// Which model is refitted on train+val for the final test-set comparison.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify), tsify(type = "string"))]
#[serde(into = "String", try_from = "String")]
pub enum RefitChoice {
    /// The variant with the highest best-epoch validation top-1 (ties: the earlier variant).
    #[default]
    Best,
    /// A fixed variant, whatever the validation says.
    Variant(Variant),
}

impl std::fmt::Display for RefitChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefitChoice::Best => f.write_str("best"),
            RefitChoice::Variant(v) => f.write_str(v.name()),
        }
    }
}

impl std::str::FromStr for RefitChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("best") {
            return Ok(RefitChoice::Best);
        }
        s.parse::<Variant>().map(RefitChoice::Variant).map_err(|_| {
            format!("unknown refit choice '{s}' (expected best, base, v1, v2, v3 or v4)")
        })
    }
}

impl From<RefitChoice> for String {
    fn from(choice: RefitChoice) -> String {
        choice.to_string()
    }
}

impl TryFrom<String> for RefitChoice {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// The plan of a study: which variants, how long, on how much data, and which model to refit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct StudyConfig {
    /// Epochs of every run.
    pub epochs: usize,
    /// Seed of every run (initialisation, shuffles, dropout).
    pub seed: u64,
    /// Use only the first N fitting images (quick studies); `None` for all.
    pub limit_train: Option<usize>,
    /// Use only the first N validation and test images; `None` for all.
    pub limit_eval: Option<usize>,
    /// The variants trained on train and compared on validation, in study order.
    pub variants: Vec<Variant>,
    /// The model refitted on train+val.
    pub refit: RefitChoice,
}

impl Default for StudyConfig {
    /// The study as published: all five variants, 15 epochs, seed 42, all data, refit the best.
    fn default() -> Self {
        Self {
            epochs: 15,
            seed: 42,
            limit_train: None,
            limit_eval: None,
            variants: Variant::ALL.to_vec(),
            refit: RefitChoice::Best,
        }
    }
}

impl StudyConfig {
    /// Every field of the plan that is wrong: no variant or one listed twice, a refit variant
    /// that is not part of the study (its train run is the other half of the comparison), an
    /// image limit of 0, and the run configs' own fields ([`TrainingConfig::field_errors`]).
    pub fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.variants.is_empty() {
            errors.push(FieldError::new("variants", "Variants: choose at least one"));
        }
        let repeated =
            (0..self.variants.len()).find(|&i| self.variants[..i].contains(&self.variants[i]));
        if let Some(v) = repeated.map(|i| self.variants[i]) {
            errors.push(FieldError::new(
                "variants",
                format!("Variants: {v} is listed twice"),
            ));
        }
        if let RefitChoice::Variant(v) = self.refit
            && !self.variants.contains(&v)
        {
            errors.push(FieldError::new(
                "refit",
                format!(
                    "Refit: {v} is not among the study's variants ({})",
                    names(&self.variants)
                ),
            ));
        }
        for (field, limit) in [
            ("limit_train", self.limit_train),
            ("limit_eval", self.limit_eval),
        ] {
            if limit == Some(0) {
                errors.push(FieldError::new(field, "Image limits must be at least 1"));
            }
        }
        // Epochs and seed are the same for every run: check them once.
        let runs = self.variants.iter().take(1);
        errors.extend(
            runs.flat_map(|&v| self.run_config(v, Fit::Train).field_errors())
                .filter(|e| e.field == limits::EPOCHS.field || e.field == limits::SEED.field),
        );
        errors
    }

    /// The plan in a few words: "base, v1; 2 epochs; seed 42; refit best; limit 600/100".
    pub fn describe(&self) -> String {
        let limit = |l: Option<usize>| l.map_or("all".to_string(), |n| n.to_string());
        let limits = match (self.limit_train, self.limit_eval) {
            (None, None) => "all images".to_string(),
            (train, eval) => format!("limit {}/{}", limit(train), limit(eval)),
        };
        format!(
            "{}; {} epoch{}; seed {}; refit {}; {limits}",
            names(&self.variants),
            self.epochs,
            if self.epochs == 1 { "" } else { "s" },
            self.seed,
            self.refit
        )
    }

    /// Checks the plan before any run starts ([`field_errors`](Self::field_errors)).
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check(self.field_errors())
    }

    /// A plan from the page's study form, every bad field named.
    pub fn from_form(form: &StudyForm) -> Result<StudyConfig, ConfigError> {
        let mut errors = Vec::new();
        let mut number = |limit: limits::FieldLimit, text: &str| {
            limit.parse(text).unwrap_or_else(|e| {
                errors.push(e);
                0.0
            })
        };
        let epochs = number(limits::EPOCHS, &form.epochs) as usize;
        let seed = number(limits::SEED, &form.seed) as u64;
        let mut variants = Vec::new();
        for name in &form.variants {
            match name.parse() {
                Ok(v) => variants.push(v),
                Err(e) => errors.push(FieldError::new("variants", format!("Variants: {e}"))),
            }
        }
        let refit = form.refit.parse().unwrap_or_else(|e| {
            errors.push(FieldError::new("refit", format!("Refit: {e}")));
            RefitChoice::Best
        });
        let config = StudyConfig {
            epochs,
            seed,
            limit_train: form.limit,
            limit_eval: form.limit,
            variants,
            refit,
        };
        if errors.is_empty() {
            errors = config.field_errors();
        }
        ConfigError::check(errors)?;
        Ok(config)
    }

    /// The variant's preset with this study's epochs, seed and the given fit. A recipe beyond
    /// the study keeps its own epochs when they are fewer (`fast` stops by its rule).
    pub fn run_config(&self, variant: Variant, fit: Fit) -> TrainingConfig {
        let config = variant.config();
        let epochs = match variant.in_study() {
            true => self.epochs,
            false => self.epochs.min(config.epochs),
        };
        config
            .with_epochs(epochs)
            .with_seed(self.seed)
            .with_fit(fit)
    }
}

/// The page's study form as typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct StudyForm {
    /// Epochs of every run.
    pub epochs: String,
    /// Seed of every run.
    pub seed: String,
    /// The variants ticked, in study order.
    pub variants: Vec<String>,
    /// `best` or a variant.
    pub refit: String,
    /// Images per run for quick studies (the page's `?limit=N`), else none.
    pub limit: Option<usize>,
}

fn names(variants: &[Variant]) -> String {
    variants
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_study_form_names_every_bad_field() {
        let form = StudyForm {
            epochs: "2".into(),
            seed: "7".into(),
            variants: vec!["base".into(), "v2".into()],
            refit: "v2".into(),
            limit: Some(600),
        };
        let config = StudyConfig::from_form(&form).unwrap();
        assert_eq!((config.epochs, config.seed), (2, 7));
        assert_eq!(config.variants, [Variant::Base, Variant::V2]);
        assert_eq!(config.refit, RefitChoice::Variant(Variant::V2));
        assert_eq!(
            (config.limit_train, config.limit_eval),
            (Some(600), Some(600))
        );

        let bad = StudyForm {
            epochs: "0".into(),
            variants: vec![],
            ..form.clone()
        };
        let ConfigError(errors) = StudyConfig::from_form(&bad).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["epochs"], "{errors:?}");
        let none = StudyForm {
            variants: vec![],
            ..form
        };
        let ConfigError(errors) = StudyConfig::from_form(&none).unwrap_err();
        assert_eq!(errors[0].message, "Variants: choose at least one");
        assert_eq!(errors[1].field, "refit");
    }
}
