//! The LeNet-5 family: one model, one config; each study variant is a config value.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::tensor::{Device, Tensor};

use crate::data::{IMAGE_SIDE, NUM_CLASSES};
use crate::limits::{self, ConfigError, FieldError, collect_errors};

/// Architecture of a LeNet-5-family classifier for 1x28x28 images.
///
/// conv1 (5x5, padding 2) → ReLU → 2x2 average pool → conv2 (5x5) → ReLU → 2x2 average pool →
/// flatten → fc1 (→120) → ReLU → dropout → fc2 (→84) → ReLU → dropout → fc3 (→10).
#[derive(Config, Debug, PartialEq)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct LeNetConfig {
    /// Kernels (output channels) of the first convolution.
    #[config(default = 6)]
    pub conv1_kernels: usize,
    /// Kernels (output channels) of the second convolution; fc1's input is `conv2_kernels * 5 * 5`.
    #[config(default = 16)]
    pub conv2_kernels: usize,
    /// Dropout probability after fc1 and after fc2 (0 disables it).
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// Width of fc1 and fc2, as in LeCun et al. (1998).
const FC1_UNITS: usize = 120;
const FC2_UNITS: usize = 84;
/// conv2 sees 14x14 maps and has no padding, so it yields 10x10, pooled to 5x5.
const CONV2_OUT_SIDE: usize = 5;

impl LeNetConfig {
    /// Every field outside its limit ([`crate::limits`]), each with its message.
    pub fn field_errors(&self) -> Vec<FieldError> {
        collect_errors([
            limits::CONV1_KERNELS.check(self.conv1_kernels as f64),
            limits::CONV2_KERNELS.check(self.conv2_kernels as f64),
            limits::DROPOUT.check(self.dropout),
        ])
    }

    /// Checks that the numbers describe a buildable model.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check(self.field_errors())
    }

    /// A short human description, e.g. `conv 6/16 kernels, dropout 0`.
    pub fn describe(&self) -> String {
        format!(
            "conv {}/{} kernels, dropout {}",
            self.conv1_kernels, self.conv2_kernels, self.dropout
        )
    }

    /// True when weights of one fit the other: the same kernel counts. Dropout has no weights,
    /// so v1's weights fit a v2 model.
    pub fn same_architecture(&self, other: &LeNetConfig) -> bool {
        (self.conv1_kernels, self.conv2_kernels) == (other.conv1_kernels, other.conv2_kernels)
    }

    /// Builds the model with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> LeNet {
        let flat = self.conv2_kernels * CONV2_OUT_SIDE * CONV2_OUT_SIDE;
        let pool = AvgPool2dConfig::new([2, 2]).with_strides([2, 2]);
        LeNet {
            conv1: Conv2dConfig::new([1, self.conv1_kernels], [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                .init(device),
            pool1: pool.init(),
            conv2: Conv2dConfig::new([self.conv1_kernels, self.conv2_kernels], [5, 5]).init(device),
            pool2: pool.init(),
            fc1: LinearConfig::new(flat, FC1_UNITS).init(device),
            fc2: LinearConfig::new(FC1_UNITS, FC2_UNITS).init(device),
            fc3: LinearConfig::new(FC2_UNITS, NUM_CLASSES).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            relu: Relu::new(),
        }
    }
}

/// A LeNet-5-family classifier; build it with [`LeNetConfig::init`].
#[derive(Module, Debug)]
pub struct LeNet {
    conv1: Conv2d,
    pool1: AvgPool2d,
    conv2: Conv2d,
    pool2: AvgPool2d,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    dropout: Dropout,
    relu: Relu,
}

/// One layer's output as seen by [`LeNet::forward_traced`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerOutput {
    /// Layer type in PyTorch's naming (`Conv2d`, `ReLU`, `AvgPool2d`, `Flatten`, `Linear`, `Dropout`).
    pub kind: String,
    /// Output shape without the batch dimension.
    pub shape: Vec<usize>,
    /// Parameters owned by the layer.
    pub params: usize,
}

impl LeNet {
    /// Class logits for a batch of images.
    ///
    /// # Shapes
    /// - images: `[batch, 1, 28, 28]`
    /// - output: `[batch, 10]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.run(images, None)
    }

    /// Like [`forward`](Self::forward), also recording every layer's output shape and parameter
    /// count in execution order (the model summary is built from this, not from a list).
    pub fn forward_traced(&self, images: Tensor<4>) -> (Tensor<2>, Vec<LayerOutput>) {
        let mut trace = Vec::new();
        let out = self.run(images, Some(&mut trace));
        (out, trace)
    }

    fn run(&self, x: Tensor<4>, mut trace: Option<&mut Vec<LayerOutput>>) -> Tensor<2> {
        let mut note = |kind: &str, dims: &[usize], params: usize| {
            if let Some(t) = trace.as_deref_mut() {
                t.push(LayerOutput {
                    kind: kind.to_string(),
                    shape: dims[1..].to_vec(),
                    params,
                });
            }
        };
        // Dropout is listed (and applied) only when it does something, as in the study's tables.
        let dropout_layer = |x: Tensor<2>, note: &mut dyn FnMut(&str, &[usize], usize)| {
            if self.dropout.prob > 0.0 {
                let x = self.dropout.forward(x);
                note("Dropout", &x.dims(), 0);
                x
            } else {
                x
            }
        };

        let x = self.conv1.forward(x); // [B, c1, 28, 28]
        note("Conv2d", &x.dims(), self.conv1.num_params());
        let x = self.relu.forward(x);
        note("ReLU", &x.dims(), 0);
        let x = self.pool1.forward(x); // [B, c1, 14, 14]
        note("AvgPool2d", &x.dims(), 0);
        let x = self.conv2.forward(x); // [B, c2, 10, 10]
        note("Conv2d", &x.dims(), self.conv2.num_params());
        let x = self.relu.forward(x);
        note("ReLU", &x.dims(), 0);
        let x = self.pool2.forward(x); // [B, c2, 5, 5]
        note("AvgPool2d", &x.dims(), 0);
        let x: Tensor<2> = x.flatten(1, 3); // [B, c2 * 25]
        note("Flatten", &x.dims(), 0);
        let x = self.fc1.forward(x); // [B, 120]
        note("Linear", &x.dims(), self.fc1.num_params());
        let x = self.relu.forward(x);
        note("ReLU", &x.dims(), 0);
        let x = dropout_layer(x, &mut note);
        let x = self.fc2.forward(x); // [B, 84]
        note("Linear", &x.dims(), self.fc2.num_params());
        let x = self.relu.forward(x);
        note("ReLU", &x.dims(), 0);
        let x = dropout_layer(x, &mut note);
        let x = self.fc3.forward(x); // [B, 10]
        note("Linear", &x.dims(), self.fc3.num_params());
        x
    }
}

/// Input shape of one image, without the batch dimension.
pub const INPUT_SHAPE: [usize; 3] = [1, IMAGE_SIDE, IMAGE_SIDE];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::Variant;

    #[test]
    fn parameter_counts_of_the_presets() {
        let device = Device::flex();
        let expected = [
            (Variant::Base, 61_706),
            (Variant::V1, 99_976),
            (Variant::V2, 99_976),
            (Variant::V3, 99_976),
            (Variant::V4, 99_976),
        ];
        for (variant, params) in expected {
            let model = variant.config().model.init(&device);
            assert_eq!(model.num_params(), params, "{variant}");
        }
    }

    #[test]
    fn forward_gives_ten_logits_per_image() {
        let device = Device::flex();
        let model = LeNetConfig::new().with_conv1_kernels(3).init(&device);
        let out = model.forward(Tensor::zeros([5, 1, 28, 28], &device));
        assert_eq!(out.dims(), [5, 10]);
    }

    #[test]
    fn invalid_configs_are_refused_field_by_field() {
        assert!(LeNetConfig::new().with_dropout(1.0).validate().is_err());
        assert!(LeNetConfig::new().validate().is_ok());
        let errors = LeNetConfig::new()
            .with_conv2_kernels(0)
            .with_dropout(-0.1)
            .field_errors();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["conv2_kernels", "dropout"]);
    }

    #[test]
    fn dropout_does_not_change_the_architecture() {
        let v1 = Variant::V1.config().model;
        assert!(v1.same_architecture(&Variant::V2.config().model));
        assert!(!v1.same_architecture(&Variant::Base.config().model));
    }
}
