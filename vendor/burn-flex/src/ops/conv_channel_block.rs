//! Stride-1 f32 convolutions with few input channels, a block of output channels at a time in
//! registers: LeNet's conv1 (1 -> 6 channels, 5x5, padding 2).
//!
//! Each image's input planes are padded once, into rows as wide as an output row plus the
//! kernel's reach, so a kernel position is one contiguous run over the whole output plane (its
//! rows `padded_w` apart, the few columns between them discarded). A stretch of two vectors of
//! outputs is summed over every input channel and kernel position in registers for up to
//! [`CHANNEL_BLOCK`] output channels together, and stored once: each input load serves the
//! whole block, where a run per kernel position loaded and stored every sum 25 times.

use alloc::vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_backend::ops::conv::calculate_conv_output_size;

use crate::FlexTensor;

use super::conv_common::{f32_conv_output, pad_planes, unit_stride_2d_output};

/// Input channels up to this many (more, and im2col + GEMM reuses the input better). Natively
/// LeNet's conv2 (6 -> 16 channels, 10x10 outputs) took half im2col's time here; in wasm, with
/// 4 lanes and no FMA, its 44 % of discarded columns cost what the copy saved, so there only
/// conv1's shape (1 channel) gains.
const MAX_CHANNELS_IN: usize = if cfg!(target_family = "wasm") { 4 } else { 8 };

/// Output channels up to this many.
const MAX_CHANNELS_OUT: usize = 16;

/// Output channels summed together: with [`VECTORS`] accumulators each, plus the input's and a
/// weight's registers, within the 16 vector registers of AVX2 and of wasm on x86.
const CHANNEL_BLOCK: usize = 6;

/// Vectors of neighbouring outputs per accumulator row.
const VECTORS: usize = 2;

/// Output runs are computed in multiples of this many values: [`VECTORS`] of the widest vector
/// (AVX-512's 16 lanes).
const RUN_MULTIPLE: usize = VECTORS * 16;

/// Whether [`conv3d_channel_block`] takes this convolution: groups 1, unit stride and dilation,
/// a 2D shape inside 3D, at most [`MAX_CHANNELS_IN`] input and [`MAX_CHANNELS_OUT`] output
/// channels.
pub(crate) fn should_use_channel_block_conv(
    x_shape: &[usize],
    w_shape: &[usize],
    options: &ConvOptions<3>,
) -> bool {
    if unit_stride_2d_output(x_shape, w_shape, options).is_none() {
        return false;
    }
    let (channels_in, channels_out) = (x_shape[1], w_shape[0]);
    (1..=MAX_CHANNELS_IN).contains(&channels_in) && (1..=MAX_CHANNELS_OUT).contains(&channels_out)
}

/// The f32 convolution `x [batch, channels_in, 1, h, w] * weight [channels_out, channels_in, 1,
/// kh, kw]`; `None` for other types.
#[cfg(feature = "simd")]
pub(crate) fn conv3d_channel_block(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
    options: &ConvOptions<3>,
) -> Option<FlexTensor> {
    if x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
        return None;
    }
    let x = x.to_contiguous();
    let weight = weight.to_contiguous();
    let x_data: &[f32] = x.storage();
    let w_data: &[f32] = weight.storage();

    let x_shape = x.layout().shape();
    let w_shape = weight.layout().shape();
    let (batch_size, channels_in, in_h, in_w) = (x_shape[0], x_shape[1], x_shape[3], x_shape[4]);
    let (channels_out, kernel_h, kernel_w) = (w_shape[0], w_shape[3], w_shape[4]);
    let [_, pad_h, pad_w] = options.padding_begin();
    let out_h = calculate_conv_output_size(kernel_h, 1, pad_h, 1, in_h);
    let out_w = calculate_conv_output_size(kernel_w, 1, pad_w, 1, in_w);
    let out_spatial = out_h * out_w;

    let geometry = Geometry::new(channels_in, [out_h, out_w], [kernel_h, kernel_w]);
    // Weights by (input channel, kernel position), then output channel: a block's weights for
    // one kernel position are neighbours.
    let k_total = channels_in * kernel_h * kernel_w;
    let mut weights = vec![0.0f32; k_total * channels_out];
    for (co, kernel) in w_data.chunks_exact(k_total).enumerate() {
        for (k, &value) in kernel.iter().enumerate() {
            weights[k * channels_out + co] = value;
        }
    }

    let image_work = |b: usize, out_image: &mut [f32]| {
        let image = &x_data[b * channels_in * in_h * in_w..][..channels_in * in_h * in_w];
        let planes = pad_planes(
            image.chunks_exact(in_h * in_w),
            [in_h, in_w],
            [pad_h, pad_w],
            geometry.padded_w,
            geometry.plane_len,
            0.0,
        );
        let mut sums = vec![0.0f32; channels_out * geometry.run];
        convolve_image(&mut sums, &planes, &weights, channels_out, &geometry);
        for (out_plane, run) in out_image
            .chunks_exact_mut(out_spatial)
            .zip(sums.chunks_exact(geometry.run))
        {
            for (oh, row) in out_plane.chunks_exact_mut(out_w).enumerate() {
                let at = oh * geometry.padded_w;
                row.copy_from_slice(&run[at..at + out_w]);
            }
        }
    };

    Some(f32_conv_output(
        [batch_size, channels_out, out_h, out_w],
        channels_out * out_spatial,
        image_work,
        bias,
    ))
}

/// Without SIMD the small-channel path runs (`should_use_channel_block_conv` says no).
#[cfg(not(feature = "simd"))]
pub(crate) fn conv3d_channel_block(
    _x: &FlexTensor,
    _weight: &FlexTensor,
    _bias: Option<&FlexTensor>,
    _options: &ConvOptions<3>,
) -> Option<FlexTensor> {
    None
}

/// Where the values of one image lie.
struct Geometry {
    channels_in: usize,
    kernel_h: usize,
    kernel_w: usize,
    /// A padded row: an output row plus the kernel's reach.
    padded_w: usize,
    /// Outputs computed per output channel, the discarded columns included, rounded up to
    /// [`RUN_MULTIPLE`].
    run: usize,
    /// A padded input plane, long enough for the last run's reads.
    plane_len: usize,
}

impl Geometry {
    fn new(
        channels_in: usize,
        [out_h, out_w]: [usize; 2],
        [kernel_h, kernel_w]: [usize; 2],
    ) -> Self {
        let padded_w = out_w + kernel_w - 1;
        let run =
            (out_h.saturating_sub(1) * padded_w + out_w).div_ceil(RUN_MULTIPLE) * RUN_MULTIPLE;
        let plane_len = run + (kernel_h - 1) * padded_w + kernel_w - 1;
        Self {
            channels_in,
            kernel_h,
            kernel_w,
            padded_w,
            run,
            plane_len,
        }
    }
}

/// Writes one image's convolution into `sums`, a [`Geometry::run`] per output channel, from
/// its padded `planes` and the `weights` laid out (input channel, kernel position, output
/// channel).
#[cfg(feature = "simd")]
#[macerator::with_simd]
fn convolve_image<S: macerator::Simd>(
    sums: &mut [f32],
    planes: &[f32],
    weights: &[f32],
    channels_out: usize,
    geometry: &Geometry,
) {
    let mut co = 0;
    while co < channels_out {
        let block = (channels_out - co).min(CHANNEL_BLOCK);
        let sums = &mut sums[co * geometry.run..(co + block) * geometry.run];
        let args = (sums, planes, weights, channels_out, co, geometry);
        match block {
            1 => convolve_block::<S, 1>(args),
            2 => convolve_block::<S, 2>(args),
            3 => convolve_block::<S, 3>(args),
            4 => convolve_block::<S, 4>(args),
            5 => convolve_block::<S, 5>(args),
            _ => convolve_block::<S, CHANNEL_BLOCK>(args),
        }
        co += block;
    }
}

/// Output channels `first..first + N` of [`convolve_image`].
#[cfg(feature = "simd")]
#[inline(always)]
fn convolve_block<S: macerator::Simd, const N: usize>(
    (sums, planes, weights, channels_out, first, geometry): (
        &mut [f32],
        &[f32],
        &[f32],
        usize,
        usize,
        &Geometry,
    ),
) {
    use macerator::{Scalar, vload_unaligned, vstore_unaligned};
    let Geometry {
        channels_in,
        kernel_h,
        kernel_w,
        padded_w,
        run,
        plane_len,
    } = *geometry;
    let lanes = f32::lanes::<S>();
    let step = lanes * VECTORS;
    let k_spatial = kernel_h * kernel_w;
    assert!(run % step == 0 && sums.len() == N * run);
    assert!(planes.len() >= channels_in * plane_len);
    assert!(weights.len() >= channels_in * k_spatial * channels_out && first + N <= channels_out);
    assert!(plane_len >= run + (kernel_h - 1) * padded_w + kernel_w - 1);
    for start in (0..run).step_by(step) {
        let mut acc = [[0.0f32.splat::<S>(); VECTORS]; N];
        for ci in 0..channels_in {
            let plane = &planes[ci * plane_len..];
            for kh in 0..kernel_h {
                for kw in 0..kernel_w {
                    let at = start + kh * padded_w + kw;
                    let k = ci * k_spatial + kh * kernel_w + kw;
                    let block_weights = &weights[k * channels_out + first..][..N];
                    // SAFETY: `at + step <= run - step + (kernel_h - 1) * padded_w + kernel_w
                    // - 1 + step <= plane_len` (asserted above), within `plane`.
                    let x: [_; VECTORS] = core::array::from_fn(|v| unsafe {
                        vload_unaligned::<S, f32>(plane.as_ptr().add(at + v * lanes))
                    });
                    for (row, &w) in acc.iter_mut().zip(block_weights) {
                        let w = w.splat::<S>();
                        for (sum, &x) in row.iter_mut().zip(&x) {
                            *sum = w.mul_add(x, *sum);
                        }
                    }
                }
            }
        }
        for (j, row) in acc.into_iter().enumerate() {
            for (v, sum) in row.into_iter().enumerate() {
                // SAFETY: `j * run + start + (v + 1) * lanes <= N * run == sums.len()`.
                unsafe {
                    vstore_unaligned::<S, f32>(
                        sums.as_mut_ptr().add(j * run + start + v * lanes),
                        sum,
                    )
                };
            }
        }
    }
}
