//! Inside the network: the first layer's kernels, the feature maps of both convolutions and a
//! saliency map for one image, as grey-level tiles the page (or a test) can draw directly.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData, Transaction};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::data::{IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES, normalize_pixel};
use crate::model::{Activation, Layer, LeNet};
use crate::training::TrainingError;

/// Square grey-level images of one size, one after the other.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct Tiles {
    /// How many tiles.
    pub count: usize,
    /// The side of each, in pixels.
    pub side: usize,
    /// `count * side * side` levels, tile after tile, row by row.
    #[serde(with = "serde_bytes")]
    #[cfg_attr(target_family = "wasm", tsify(type = "Uint8Array"))]
    pub pixels: Vec<u8>,
    /// The value that maps to level 255 (and, for signed tiles, minus it to 0).
    pub scale: f32,
}

impl Tiles {
    /// `values` as levels: `level(value / scale)` clamped to 0..=255, `scale` the largest of
    /// `magnitude(value)` (never 0).
    fn scaled(
        values: &[f32],
        count: usize,
        side: usize,
        magnitude: impl Fn(f32) -> f32,
        level: impl Fn(f32) -> f32,
    ) -> Self {
        let scale = values
            .iter()
            .fold(0f32, |m, &v| m.max(magnitude(v)))
            .max(f32::MIN_POSITIVE);
        let pixels = values
            .iter()
            .map(|&v| level(v / scale).round().clamp(0.0, 255.0) as u8)
            .collect();
        Self {
            count,
            side,
            pixels,
            scale,
        }
    }

    /// Signed values (kernels): 0 is mid-grey (128), ±`scale` black and white, one scale for
    /// all tiles so they compare.
    fn signed(values: &[f32], count: usize, side: usize) -> Self {
        Self::scaled(values, count, side, f32::abs, |x| 127.5 + 127.5 * x)
    }

    /// Non-negative values (activations after ReLU, saliency): 0 is black, the largest of the
    /// layer white.
    fn positive(values: &[f32], count: usize, side: usize) -> Self {
        Self::scaled(values, count, side, |v| v, |x| 255.0 * x.max(0.0))
    }
}

/// What the network does with one image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct NetworkView {
    /// The first layer's kernels (5x5 each).
    pub kernels: Tiles,
    /// conv1's output after ReLU: one 28x28 map per kernel.
    pub conv1: Tiles,
    /// conv2's output after ReLU: one 10x10 map per kernel.
    pub conv2: Tiles,
    /// |d score / d pixel| of the explained class over the 28x28 input (one tile).
    pub saliency: Tiles,
    /// The class the saliency explains: the one asked for, else the predicted one.
    pub class: u8,
    /// The predicted class.
    pub predicted: u8,
    /// The ten class probabilities.
    pub probabilities: Vec<f32>,
}

/// The first layer's kernels of `checkpoint` (no device needed: the page gets them with each
/// epoch's weights).
pub fn kernel_tiles(checkpoint: &Checkpoint) -> Result<Tiles, CheckpointError> {
    let (entry, values) = checkpoint
        .tensors()
        .iter()
        .find(|(entry, _)| entry.path == "conv1.weight")
        .ok_or_else(|| CheckpointError::NotWeights("no conv1.weight".into()))?;
    Ok(Tiles::signed(values, entry.shape[0], 5))
}

/// The first layer's kernels of `model`, read back from its device.
pub async fn model_kernels(model: &LeNet) -> Result<Tiles, TrainingError> {
    let kernels = model.conv1_kernels();
    let count = kernels.dims()[0];
    let values = kernels
        .into_data_async()
        .await?
        .try_to_vec_as::<f32>()
        .map_err(|e| TrainingError::Device(format!("{e:?}")))?;
    Ok(Tiles::signed(&values, count, 5))
}

/// The kernels, both layers' feature maps and the saliency of `class` (default: the predicted
/// one) for one 28x28 image (784 `u8` pixels, light object on black); one readback.
///
/// # Shapes
/// - pixels: `[784]`
pub async fn network_view(
    model: &LeNet,
    pixels: &[u8],
    class: Option<u8>,
) -> Result<NetworkView, TrainingError> {
    if pixels.len() != IMAGE_PIXELS {
        return Err(TrainingError::Device(format!(
            "expected 784 pixels, got {}",
            pixels.len()
        )));
    }
    if class.is_some_and(|c| usize::from(c) >= NUM_CLASSES) {
        return Err(TrainingError::Device("a class is 0 to 9".into()));
    }
    let inference = model.valid();
    let device = inference
        .devices()
        .into_iter()
        .next()
        .unwrap_or_else(Device::flex);
    let input = |device: &Device| {
        let values: Vec<f32> = pixels.iter().map(|&p| normalize_pixel(p)).collect();
        Tensor::<4>::from_data(
            TensorData::new(values, [1, 1, IMAGE_SIDE, IMAGE_SIDE]),
            device,
        )
    };
    // Feature maps, layer by layer, on the inference model.
    let mut x = Activation::Maps(input(&device));
    let mut maps = Vec::new();
    for layer in inference.layers() {
        x = inference.apply(layer, x);
        if matches!(layer, Layer::Relu1 | Layer::Relu2) {
            if let Activation::Maps(m) = &x {
                maps.push(m.clone());
            }
        }
    }
    let logits = x.into_flat();
    let probabilities = burn::tensor::activation::softmax(logits.clone(), 1);
    let predicted = logits.argmax(1);
    // Saliency: the same weights on an autodiff device (training flags stay off, so dropout
    // does nothing), the gradient of one class's logit with respect to the input.
    let ad = device.clone().autodiff();
    let traced = inference.clone().to_device(&ad);
    let image = input(&ad).require_grad();
    let out = traced.forward(image.clone());
    let class_at = |c: usize| out.clone().slice([0..1, c..c + 1]).sum();
    let kernels = inference.conv1_kernels();
    let kernel_count = kernels.dims()[0];
    let tx = Transaction::default()
        .register(kernels)
        .register(maps[0].clone())
        .register(maps[1].clone())
        .register(probabilities)
        .register(predicted);
    // The predicted class is needed before the backward when none was asked for.
    let data = tx.execute_async().await?;
    let read = |i: usize| -> Result<Vec<f32>, TrainingError> {
        data[i]
            .clone()
            .try_to_vec_as::<f32>()
            .map_err(|e| TrainingError::Device(format!("{e:?}")))
    };
    let predicted = data[4]
        .clone()
        .try_to_vec_as::<i64>()
        .map_err(|e| TrainingError::Device(format!("{e:?}")))?[0] as u8;
    let explained = class.unwrap_or(predicted);
    let grads = class_at(usize::from(explained)).backward();
    let gradient = image
        .grad(&grads)
        .ok_or_else(|| TrainingError::Device("no gradient for the input".into()))?
        .abs();
    let gradient: Vec<f32> = gradient
        .into_data_async()
        .await?
        .try_to_vec_as::<f32>()
        .map_err(|e| TrainingError::Device(format!("{e:?}")))?;
    let (conv1, conv2) = (read(1)?, read(2)?);
    let c1 = maps[0].dims()[1];
    let c2 = maps[1].dims()[1];
    Ok(NetworkView {
        kernels: Tiles::signed(&read(0)?, kernel_count, 5),
        conv1: Tiles::positive(&conv1, c1, IMAGE_SIDE),
        conv2: Tiles::positive(&conv2, c2, 10),
        saliency: Tiles::positive(&gradient, 1, IMAGE_SIDE),
        class: explained,
        predicted,
        probabilities: read(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::Variant;

    fn shirt() -> Vec<u8> {
        (0..IMAGE_PIXELS)
            .map(|i| {
                if (i % 28) > 6 && (i % 28) < 21 && i / 28 > 4 {
                    200
                } else {
                    0
                }
            })
            .collect()
    }

    #[test]
    fn the_view_has_a_tile_per_kernel_and_map() {
        let device = Device::flex();
        device.seed(1);
        let model = Variant::V2.config().model.init(&device);
        let view = pollster::block_on(network_view(&model, &shirt(), None)).unwrap();
        assert_eq!((view.kernels.count, view.kernels.side), (16, 5));
        assert_eq!(view.kernels.pixels.len(), 16 * 25);
        assert_eq!(
            (view.conv1.count, view.conv1.side, view.conv1.pixels.len()),
            (16, 28, 16 * 784)
        );
        assert_eq!(
            (view.conv2.count, view.conv2.side, view.conv2.pixels.len()),
            (26, 10, 2600)
        );
        assert_eq!(view.saliency.pixels.len(), 784);
        assert_eq!(view.saliency.pixels.iter().max(), Some(&255));
        assert_eq!(view.class, view.predicted);
        let sum: f32 = view.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4);
        // Dropout is off: the same image gives the same view twice.
        let again = pollster::block_on(network_view(&model, &shirt(), None)).unwrap();
        assert_eq!(again, view);
    }

    #[test]
    fn saliency_matches_a_finite_difference() {
        let device = Device::flex();
        device.seed(2);
        let model = Variant::Base.config().model.init(&device);
        let image = shirt();
        let view = pollster::block_on(network_view(&model, &image, Some(3))).unwrap();
        assert_eq!(view.class, 3);
        // The most salient pixel changes class 3's logit more than a pixel the map calls flat.
        let logit = |pixels: &[u8]| -> f32 {
            let x: Vec<f32> = pixels.iter().map(|&p| normalize_pixel(p)).collect();
            let x = Tensor::<4>::from_data(TensorData::new(x, [1, 1, 28, 28]), &device);
            model.forward(x).into_data().try_to_vec::<f32>().unwrap()[3]
        };
        let top = (0..784).max_by_key(|&i| view.saliency.pixels[i]).unwrap();
        let flat = (0..784).min_by_key(|&i| view.saliency.pixels[i]).unwrap();
        let nudge = |i: usize| {
            let mut p = image.clone();
            p[i] = if p[i] > 127 { p[i] - 20 } else { p[i] + 20 };
            (logit(&p) - logit(&image)).abs()
        };
        assert!(
            nudge(top) > nudge(flat),
            "{} vs {}",
            nudge(top),
            nudge(flat)
        );
    }

    #[test]
    fn kernels_map_zero_to_mid_grey_and_the_largest_weight_to_an_end() {
        let tiles = Tiles::signed(&[0.0, 0.5, -1.0, 0.25], 1, 2);
        assert_eq!(tiles.pixels, [128, 191, 0, 159]);
        let model = Variant::Base.config().model.init(&Device::flex());
        let checkpoint = pollster::block_on(Checkpoint::of_model(
            &model,
            &Variant::Base.config().model,
            None,
            "",
        ))
        .unwrap();
        assert_eq!(
            pollster::block_on(model_kernels(&model)).unwrap(),
            kernel_tiles(&checkpoint).unwrap()
        );
        let maps = Tiles::positive(&[0.0, 2.0, 1.0, -0.0], 1, 2);
        assert_eq!(maps.pixels, [0, 255, 128, 0]);
    }

    #[test]
    fn wrong_inputs_are_refused() {
        let model = Variant::Base.config().model.init(&Device::flex());
        assert!(pollster::block_on(network_view(&model, &[0; 10], None)).is_err());
        assert!(pollster::block_on(network_view(&model, &shirt(), Some(10))).is_err());
    }
}
