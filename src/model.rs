//! The LeNet-5 family: one model, one config; each study variant is a config value.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::tensor::{Device, Tensor};

use crate::data::{IMAGE_SIDE, NUM_CLASSES};
use crate::limits::{self, ConfigError, FieldError, collect_errors};

/// Architecture of a LeNet-5-family classifier for 1x28x28 images.
///
/// conv1 (5x5, padding 2) → [batch norm] → ReLU → 2x2 pool → conv2 (5x5) → [batch norm] → ReLU →
/// 2x2 pool → flatten → fc1 (→120) → ReLU → dropout → fc2 (→84) → ReLU → dropout → fc3 (→10).
///
/// The fields beyond the study are `Option`s so that files written before they existed still
/// read: `None` is the study's choice.
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
    /// The pooling after each convolution; `None` is the study's average pooling.
    #[config(default = "None")]
    pub pooling: Option<Pooling>,
    /// `Some(true)` normalises each convolution's output over the batch (batch normalisation,
    /// before the ReLU); `None` or `Some(false)`: none, as in the study.
    #[config(default = "None")]
    pub batch_norm: Option<bool>,
}

/// The 2x2, stride-2 pooling after each convolution.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The mean of each 2x2 window (the study's, as in LeCun et al. 1998).
    #[default]
    Average,
    /// The largest value of each 2x2 window.
    Max,
}

impl Pooling {
    /// The name used in forms, files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Average => "average",
            Pooling::Max => "max",
        }
    }
}

impl std::str::FromStr for Pooling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Pooling::Average, Pooling::Max]
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown pooling '{s}' (expected average or max)"))
    }
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

    /// The pooling after each convolution.
    pub fn pooling(&self) -> Pooling {
        self.pooling.unwrap_or_default()
    }

    /// True when each convolution is followed by batch normalisation.
    pub fn has_batch_norm(&self) -> bool {
        self.batch_norm == Some(true)
    }

    /// A short human description, e.g. `conv 6/16 kernels, dropout 0`; the options beyond the
    /// study are named only when on (`conv 32/22 kernels, batch norm, max pool, dropout 0`).
    pub fn describe(&self) -> String {
        let mut text = format!("conv {}/{} kernels", self.conv1_kernels, self.conv2_kernels);
        if self.has_batch_norm() {
            text.push_str(", batch norm");
        }
        if self.pooling() == Pooling::Max {
            text.push_str(", max pool");
        }
        format!("{text}, dropout {}", self.dropout)
    }

    /// True when weights of one fit the other: the same kernel counts and batch normalisation.
    /// Dropout and pooling have no weights, so v1's weights fit a v2 model.
    pub fn same_architecture(&self, other: &LeNetConfig) -> bool {
        (
            self.conv1_kernels,
            self.conv2_kernels,
            self.has_batch_norm(),
        ) == (
            other.conv1_kernels,
            other.conv2_kernels,
            other.has_batch_norm(),
        )
    }

    /// True when both describe the same model: [`same_architecture`](Self::same_architecture),
    /// the same pooling and dropout.
    pub fn same_model(&self, other: &LeNetConfig) -> bool {
        self.same_architecture(other)
            && self.pooling() == other.pooling()
            && (self.dropout - other.dropout).abs() <= 1e-12
    }

    /// Builds the model with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> LeNet {
        let flat = self.conv2_kernels * CONV2_OUT_SIDE * CONV2_OUT_SIDE;
        let norm = |channels: usize| {
            self.has_batch_norm()
                .then(|| BatchNormConfig::new(channels).init(device))
        };
        LeNet {
            conv1: Conv2dConfig::new([1, self.conv1_kernels], [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                .init(device),
            bn1: norm(self.conv1_kernels),
            conv2: Conv2dConfig::new([self.conv1_kernels, self.conv2_kernels], [5, 5]).init(device),
            bn2: norm(self.conv2_kernels),
            avg_pool: AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            max_pool: (self.pooling() == Pooling::Max)
                .then(|| MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init()),
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
    bn1: Option<BatchNorm>,
    conv2: Conv2d,
    bn2: Option<BatchNorm>,
    avg_pool: AvgPool2d,
    /// Replaces `avg_pool` when present.
    max_pool: Option<MaxPool2d>,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    dropout: Dropout,
    relu: Relu,
}

/// One step of the forward pass, in PyTorch's naming; [`LeNet::layers`] lists them in order and
/// [`LeNet::apply`] runs one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// 5x5 convolution, padding 2: `[B, 1, 28, 28]` → `[B, c1, 28, 28]`.
    Conv1,
    /// Batch normalisation after conv1 (listed only when the model has it).
    Norm1,
    /// ReLU after conv1.
    Relu1,
    /// 2x2 pool (average or max): `[B, c1, 28, 28]` → `[B, c1, 14, 14]`.
    Pool1,
    /// 5x5 convolution, no padding: `[B, c1, 14, 14]` → `[B, c2, 10, 10]`.
    Conv2,
    /// Batch normalisation after conv2 (listed only when the model has it).
    Norm2,
    /// ReLU after conv2.
    Relu2,
    /// 2x2 pool (average or max): `[B, c2, 10, 10]` → `[B, c2, 5, 5]`.
    Pool2,
    /// Maps to vectors: `[B, c2, 5, 5]` → `[B, c2 * 25]`.
    Flatten,
    /// Fully connected: `[B, c2 * 25]` → `[B, 120]`.
    Fc1,
    /// ReLU after fc1.
    Relu3,
    /// Dropout after fc1 (listed only when the dropout probability is above 0).
    Dropout1,
    /// Fully connected: `[B, 120]` → `[B, 84]`.
    Fc2,
    /// ReLU after fc2.
    Relu4,
    /// Dropout after fc2 (listed only when the dropout probability is above 0).
    Dropout2,
    /// Fully connected: `[B, 84]` → `[B, 10]`, the class logits.
    Fc3,
}

impl Layer {
    /// Every layer in forward order, the optional ones included.
    pub const ALL: [Layer; 16] = [
        Layer::Conv1,
        Layer::Norm1,
        Layer::Relu1,
        Layer::Pool1,
        Layer::Conv2,
        Layer::Norm2,
        Layer::Relu2,
        Layer::Pool2,
        Layer::Flatten,
        Layer::Fc1,
        Layer::Relu3,
        Layer::Dropout1,
        Layer::Fc2,
        Layer::Relu4,
        Layer::Dropout2,
        Layer::Fc3,
    ];

    /// The layer's name: `conv1`, `relu1`, `pool1`, ..., `fc3`.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Conv1 => "conv1",
            Layer::Norm1 => "bn1",
            Layer::Relu1 => "relu1",
            Layer::Pool1 => "pool1",
            Layer::Conv2 => "conv2",
            Layer::Norm2 => "bn2",
            Layer::Relu2 => "relu2",
            Layer::Pool2 => "pool2",
            Layer::Flatten => "flatten",
            Layer::Fc1 => "fc1",
            Layer::Relu3 => "relu3",
            Layer::Dropout1 => "dropout1",
            Layer::Fc2 => "fc2",
            Layer::Relu4 => "relu4",
            Layer::Dropout2 => "dropout2",
            Layer::Fc3 => "fc3",
        }
    }

    /// The layer's type in PyTorch's naming: `Conv2d`, `BatchNorm2d`, `ReLU`, `AvgPool2d`,
    /// `Flatten`, `Linear` or `Dropout` (the model summary's rows); a model with max pooling
    /// names its pools with [`LeNet::kind`].
    pub fn kind(self) -> &'static str {
        match self {
            Layer::Conv1 | Layer::Conv2 => "Conv2d",
            Layer::Norm1 | Layer::Norm2 => "BatchNorm2d",
            Layer::Relu1 | Layer::Relu2 | Layer::Relu3 | Layer::Relu4 => "ReLU",
            Layer::Pool1 | Layer::Pool2 => "AvgPool2d",
            Layer::Flatten => "Flatten",
            Layer::Fc1 | Layer::Fc2 | Layer::Fc3 => "Linear",
            Layer::Dropout1 | Layer::Dropout2 => "Dropout",
        }
    }

    fn is_dropout(self) -> bool {
        matches!(self, Layer::Dropout1 | Layer::Dropout2)
    }

    fn is_norm(self) -> bool {
        matches!(self, Layer::Norm1 | Layer::Norm2)
    }
}

/// What flows between layers: feature maps up to [`Layer::Flatten`], vectors after it.
#[derive(Clone, Debug)]
pub enum Activation {
    /// Feature maps, `[batch, channels, height, width]`.
    Maps(Tensor<4>),
    /// One vector per image, `[batch, features]`.
    Flat(Tensor<2>),
}

impl Activation {
    /// The tensor's shape, batch dimension first.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Activation::Maps(x) => x.dims().to_vec(),
            Activation::Flat(x) => x.dims().to_vec(),
        }
    }

    /// The vectors (after [`Layer::Flatten`]).
    ///
    /// # Shapes
    /// - output: `[batch, features]`
    ///
    /// # Panics
    /// On feature maps: flatten them first.
    pub fn into_flat(self) -> Tensor<2> {
        match self {
            Activation::Flat(x) => x,
            Activation::Maps(x) => panic!("expected vectors, got feature maps {:?}", x.dims()),
        }
    }
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
    /// Class logits for a batch of images: [`apply`](Self::apply) folded over
    /// [`layers`](Self::layers).
    ///
    /// # Shapes
    /// - images: `[batch, 1, 28, 28]`
    /// - output: `[batch, 10]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.steps()
            .fold(Activation::Maps(images), |x, layer| self.apply(layer, x))
            .into_flat()
    }

    /// Like [`forward`](Self::forward), also recording every layer's output shape and parameter
    /// count in execution order (the model summary is built from this, not from a list).
    ///
    /// # Shapes
    /// - images: `[batch, 1, 28, 28]`
    /// - output: `[batch, 10]`, and one [`LayerOutput`] per layer, shapes without the batch
    pub fn forward_traced(&self, images: Tensor<4>) -> (Tensor<2>, Vec<LayerOutput>) {
        let mut trace = Vec::new();
        let out = self.steps().fold(Activation::Maps(images), |x, layer| {
            let x = self.apply(layer, x);
            trace.push(LayerOutput {
                kind: self.kind(layer).to_string(),
                shape: x.dims()[1..].to_vec(),
                params: self.layer_params(layer),
            });
            x
        });
        (out.into_flat(), trace)
    }

    /// The layers [`forward`](Self::forward) runs, in order. Dropout and batch normalisation are
    /// listed (and applied) only when the model has them, as in the study's tables.
    pub fn layers(&self) -> Vec<Layer> {
        self.steps().collect()
    }

    /// Runs one layer (all layers use the same [`Relu`]; the dropout ones this model's [`Dropout`]).
    ///
    /// # Shapes
    /// - x: [`Activation::Maps`] for the layers up to and including [`Layer::Flatten`],
    ///   [`Activation::Flat`] after it; `[batch, 1, 28, 28]` into [`Layer::Conv1`]
    /// - output: as documented on each [`Layer`]; `[batch, 10]` out of [`Layer::Fc3`]
    ///
    /// # Panics
    /// When `x` is maps where the layer takes vectors or the other way round.
    pub fn apply(&self, layer: Layer, x: Activation) -> Activation {
        use Activation::{Flat, Maps};
        match (layer, x) {
            (Layer::Conv1, Maps(x)) => Maps(self.conv1.forward(x)),
            (Layer::Norm1, Maps(x)) => Maps(normalize(&self.bn1, x)),
            (Layer::Relu1 | Layer::Relu2, Maps(x)) => Maps(self.relu.forward(x)),
            (Layer::Pool1 | Layer::Pool2, Maps(x)) => Maps(match &self.max_pool {
                Some(max) => max.forward(x),
                None => self.avg_pool.forward(x),
            }),
            (Layer::Conv2, Maps(x)) => Maps(self.conv2.forward(x)),
            (Layer::Norm2, Maps(x)) => Maps(normalize(&self.bn2, x)),
            (Layer::Flatten, Maps(x)) => Flat(x.flatten(1, 3)),
            (Layer::Fc1, Flat(x)) => Flat(self.fc1.forward(x)),
            (Layer::Relu3 | Layer::Relu4, Flat(x)) => Flat(self.relu.forward(x)),
            (Layer::Dropout1 | Layer::Dropout2, Flat(x)) => Flat(self.dropout.forward(x)),
            (Layer::Fc2, Flat(x)) => Flat(self.fc2.forward(x)),
            (Layer::Fc3, Flat(x)) => Flat(self.fc3.forward(x)),
            (layer, x) => panic!(
                "{} cannot take an input of shape {:?}",
                layer.name(),
                x.dims()
            ),
        }
    }

    /// The first convolution's kernels.
    ///
    /// # Shapes
    /// - output: `[conv1_kernels, 1, 5, 5]`
    pub fn conv1_kernels(&self) -> Tensor<4> {
        self.conv1.weight.val()
    }

    /// The layer's type in PyTorch's naming ([`Layer::kind`]; `MaxPool2d` for this model's
    /// pools when it has max pooling).
    pub fn kind(&self, layer: Layer) -> &'static str {
        match layer {
            Layer::Pool1 | Layer::Pool2 if self.max_pool.is_some() => "MaxPool2d",
            _ => layer.kind(),
        }
    }

    /// Parameters that receive gradients (a batch norm's running statistics are not counted, as
    /// in PyTorch's `parameters()`); `num_params` counts them too.
    pub fn num_params_trainable(&self) -> usize {
        self.steps().map(|layer| self.layer_params(layer)).sum()
    }

    /// [`layers`](Self::layers) without the allocation, for the per-step forward pass.
    fn steps(&self) -> impl Iterator<Item = Layer> {
        let dropout = self.dropout.prob > 0.0;
        let norm = self.bn1.is_some();
        Layer::ALL
            .into_iter()
            .filter(move |layer| (dropout || !layer.is_dropout()) && (norm || !layer.is_norm()))
    }

    /// Parameters owned by `layer`.
    fn layer_params(&self, layer: Layer) -> usize {
        match layer {
            Layer::Conv1 => self.conv1.num_params(),
            Layer::Conv2 => self.conv2.num_params(),
            Layer::Norm1 => trainable_norm_params(&self.bn1),
            Layer::Norm2 => trainable_norm_params(&self.bn2),
            Layer::Fc1 => self.fc1.num_params(),
            Layer::Fc2 => self.fc2.num_params(),
            Layer::Fc3 => self.fc3.num_params(),
            _ => 0,
        }
    }
}

/// A batch norm's scale and shift; its running mean and variance are state, not parameters (as
/// PyTorch counts them).
fn trainable_norm_params(norm: &Option<BatchNorm>) -> usize {
    norm.as_ref()
        .map_or(0, |n| n.gamma.num_params() + n.beta.num_params())
}

/// `x` through `norm` when there is one.
fn normalize(norm: &Option<BatchNorm>, x: Tensor<4>) -> Tensor<4> {
    match norm {
        Some(norm) => norm.forward(x),
        None => x,
    }
}

/// Input shape of one image, without the batch dimension.
pub const INPUT_SHAPE: [usize; 3] = [1, IMAGE_SIDE, IMAGE_SIDE];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::Variant;
    use burn::tensor::Distribution;

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
    fn stepping_layer_by_layer_gives_the_logits_of_forward() {
        let device = Device::flex();
        device.seed(7);
        let model = Variant::Base.config().model.init(&device);
        let images = Tensor::<4>::random([3, 1, 28, 28], Distribution::Default, &device);
        let stepped = model
            .layers()
            .into_iter()
            .fold(Activation::Maps(images.clone()), |x, layer| {
                model.apply(layer, x)
            })
            .into_flat();
        let logits = model.forward(images.clone());
        stepped
            .into_data()
            .assert_eq(&logits.clone().into_data(), true);
        let (traced, _) = model.forward_traced(images);
        traced.into_data().assert_eq(&logits.into_data(), true);
    }

    #[test]
    fn layers_list_dropout_only_when_it_is_on() {
        let device = Device::flex();
        let names = |variant: Variant| -> Vec<&str> {
            let model = variant.config().model.init(&device);
            model.layers().into_iter().map(Layer::name).collect()
        };
        assert_eq!(
            names(Variant::Base),
            [
                "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3",
                "fc2", "relu4", "fc3"
            ]
        );
        let v2 = names(Variant::V2);
        assert_eq!(v2.len(), Layer::ALL.len() - 2);
        assert_eq!(&v2[9..13], ["dropout1", "fc2", "relu4", "dropout2"]);
        let best = names(Variant::Best);
        assert_eq!(
            &best[..8],
            [
                "conv1", "bn1", "relu1", "pool1", "conv2", "bn2", "relu2", "pool2"
            ]
        );
    }

    #[test]
    fn batch_norm_and_max_pooling_are_layers_of_their_own() {
        let device = Device::flex();
        let config = Variant::Best.config().model;
        let model = config.init(&device);
        let (logits, trace) = model.forward_traced(Tensor::zeros([2, 1, 28, 28], &device));
        assert_eq!(logits.dims(), [2, 10]);
        let kinds: Vec<&str> = trace.iter().map(|l| l.kind.as_str()).collect();
        assert_eq!(&kinds[..4], ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]);
        // Scale and shift are trained; the running statistics are state.
        assert_eq!(trace[1].params, 2 * config.conv1_kernels);
        assert_eq!(
            model.num_params(),
            model.num_params_trainable() + 2 * (config.conv1_kernels + config.conv2_kernels)
        );
        // Weights of a model without batch norm do not fit one with it; pooling has none.
        let plain = config.clone().with_batch_norm(None);
        assert!(!config.same_architecture(&plain));
        assert!(config.same_architecture(&config.clone().with_pooling(None)));
        assert!(!config.same_model(&config.clone().with_pooling(None)));
    }

    #[test]
    fn the_trace_follows_the_layers() {
        let device = Device::flex();
        let model = Variant::V2.config().model.init(&device);
        let (_, trace) = model.forward_traced(Tensor::zeros([2, 1, 28, 28], &device));
        let kinds: Vec<&str> = trace.iter().map(|l| l.kind.as_str()).collect();
        let expected: Vec<&str> = model.layers().into_iter().map(Layer::kind).collect();
        assert_eq!(kinds, expected);
        assert_eq!(trace[6].shape, [650]);
        let params: usize = trace.iter().map(|l| l.params).sum();
        assert_eq!(params, model.num_params());
    }

    #[test]
    #[should_panic(expected = "fc1 cannot take an input of shape [2, 6, 28, 28]")]
    fn a_layer_refuses_the_wrong_kind_of_activation() {
        let device = Device::flex();
        let model = LeNetConfig::new().init(&device);
        model.apply(
            Layer::Fc1,
            Activation::Maps(Tensor::zeros([2, 6, 28, 28], &device)),
        );
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
