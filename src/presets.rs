//! The study's five models as configuration values.

use crate::model::LeNetConfig;
use crate::training::TrainingConfig;

/// A named model of the study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// LeNet-5: 6/16 kernels, no dropout, lr 1e-3, no weight decay.
    Base,
    /// `base` with 16/26 kernels.
    V1,
    /// `v1` with dropout 0.3 after fc1 and fc2.
    V2,
    /// `v2` with L2 weight decay 1e-4.
    V3,
    /// `v3` with the learning rate halved to 5e-4.
    V4,
}

impl Variant {
    /// All variants in study order.
    pub const ALL: [Variant; 5] = [
        Variant::Base,
        Variant::V1,
        Variant::V2,
        Variant::V3,
        Variant::V4,
    ];

    /// The lower-case name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Base => "base",
            Variant::V1 => "v1",
            Variant::V2 => "v2",
            Variant::V3 => "v3",
            Variant::V4 => "v4",
        }
    }

    /// What changes against the previous variant, in the study's words.
    pub fn description(self) -> &'static str {
        match self {
            Variant::Base => "Base LeNet-5 (6/16 kernels)",
            Variant::V1 => "V1: more kernels (16/26)",
            Variant::V2 => "V2: V1 + dropout 0.3",
            Variant::V3 => "V3: V2 + L2 weight decay 1e-4",
            Variant::V4 => "V4: V3 + halved learning rate (5e-4)",
        }
    }

    /// The full training configuration of this variant (15 epochs, batch 64, seed 42).
    pub fn config(self) -> TrainingConfig {
        let base = TrainingConfig::new(LeNetConfig::new());
        let v1 = TrainingConfig {
            model: LeNetConfig::new()
                .with_conv1_kernels(16)
                .with_conv2_kernels(26),
            ..base.clone()
        };
        let v2 = TrainingConfig {
            model: v1.model.clone().with_dropout(0.3),
            ..v1.clone()
        };
        let v3 = v2.clone().with_weight_decay(1e-4);
        let v4 = v3.clone().with_learning_rate(5e-4);
        match self {
            Variant::Base => base,
            Variant::V1 => v1,
            Variant::V2 => v2,
            Variant::V3 => v3,
            Variant::V4 => v4,
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Variant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown variant '{s}' (expected base, v1, v2, v3 or v4)"))
    }
}

impl Variant {
    /// The preset whose settings `config` has, if any: the page names a form after it.
    pub fn matching(config: &TrainingConfig) -> Option<Variant> {
        Variant::ALL
            .into_iter()
            .find(|v| v.config().same_run(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_match_the_study() {
        let c = |v: Variant| v.config();
        let base = c(Variant::Base);
        assert_eq!(
            (base.model.conv1_kernels, base.model.conv2_kernels),
            (6, 16)
        );
        assert_eq!(
            (base.model.dropout, base.learning_rate, base.weight_decay),
            (0.0, 1e-3, 0.0)
        );
        assert_eq!((base.batch_size, base.epochs), (64, 15));
        let v1 = c(Variant::V1);
        assert_eq!(
            (
                v1.model.conv1_kernels,
                v1.model.conv2_kernels,
                v1.model.dropout
            ),
            (16, 26, 0.0)
        );
        let v2 = c(Variant::V2);
        assert_eq!(
            (v2.model.dropout, v2.weight_decay, v2.learning_rate),
            (0.3, 0.0, 1e-3)
        );
        let v3 = c(Variant::V3);
        assert_eq!(
            (v3.model.dropout, v3.weight_decay, v3.learning_rate),
            (0.3, 1e-4, 1e-3)
        );
        let v4 = c(Variant::V4);
        assert_eq!(
            (v4.model, v4.weight_decay, v4.learning_rate),
            (v3.model, 1e-4, 5e-4)
        );
    }

    #[test]
    fn names_round_trip() {
        for v in Variant::ALL {
            assert_eq!(v.name().parse::<Variant>().unwrap(), v);
        }
        assert!(
            "v9".parse::<Variant>()
                .unwrap_err()
                .contains("expected base")
        );
    }

    #[test]
    fn a_config_is_named_after_its_preset() {
        assert_eq!(Variant::matching(&Variant::V3.config()), Some(Variant::V3));
        assert_eq!(Variant::matching(&Variant::V3.config().with_seed(1)), None);
    }
}
