//! Shared macros and helpers for forward and transposed convolution.

use crate::{FlexTensor, Layout};
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_backend::ops::conv::calculate_conv_output_size;
use burn_std::{Bytes, Element, ElementAdd, Shape, bf16};

// ============================================================================
// Macros for dtype wrappers
// ============================================================================

/// Generates a convNd function that delegates to a conv3d function via expand/squeeze.
macro_rules! conv_nd_via_3d {
    ($fn_name:ident, $conv3d_fn:ident, $expand_fn:ident, $squeeze_fn:ident, $dim:literal, $Options:ident) => {
        pub fn $fn_name(
            x: FlexTensor,
            weight: FlexTensor,
            bias: Option<FlexTensor>,
            options: &$Options<$dim>,
        ) -> FlexTensor {
            let (x_3d, weight_3d, options_3d) = $expand_fn(&x, &weight, options);
            let result_3d = $conv3d_fn(x_3d, weight_3d, bias, &options_3d);
            $squeeze_fn(result_3d)
        }
    };
}

/// Generates a bf16 function that converts to f32, calls the f32 variant, converts back.
macro_rules! bf16_via_f32 {
    ($bf16_fn:ident, $f32_fn:ident, $dim:literal, $Options:ident) => {
        pub fn $bf16_fn(
            x: FlexTensor,
            weight: FlexTensor,
            bias: Option<FlexTensor>,
            options: &$Options<$dim>,
        ) -> FlexTensor {
            let x_f32 = $crate::ops::conv_common::convert_bf16_to_f32(&x);
            let weight_f32 = $crate::ops::conv_common::convert_bf16_to_f32(&weight);
            let bias_f32 = bias.map(|b| $crate::ops::conv_common::convert_bf16_to_f32(&b));
            let result_f32 = $f32_fn(x_f32, weight_f32, bias_f32, options);
            $crate::ops::conv_common::convert_f32_to_bf16(&result_f32)
        }
    };
}

// ============================================================================
// Squeeze helpers (used by both conv and conv_transpose 1d/2d paths)
// ============================================================================

pub(crate) fn squeeze_3d_to_1d(tensor: FlexTensor) -> FlexTensor {
    let shape = tensor.layout().shape();
    tensor.reshape(Shape::from(alloc::vec![shape[0], shape[1], shape[4]]))
}

pub(crate) fn squeeze_3d_to_2d(tensor: FlexTensor) -> FlexTensor {
    let shape = tensor.layout().shape();
    tensor.reshape(Shape::from(alloc::vec![
        shape[0], shape[1], shape[3], shape[4]
    ]))
}

// ============================================================================
// bf16 conversion helpers
// ============================================================================

pub(crate) fn convert_bf16_to_f32(tensor: &FlexTensor) -> FlexTensor {
    let tensor = tensor.to_contiguous();
    let data: &[bf16] = tensor.storage();
    let f32_data: Vec<f32> = data.iter().map(|x| x.to_f32()).collect();
    FlexTensor::new(
        Bytes::from_elems(f32_data),
        Layout::contiguous(tensor.layout().shape().clone()),
        DType::F32,
    )
}

pub(crate) fn convert_f32_to_bf16(tensor: &FlexTensor) -> FlexTensor {
    let data: &[f32] = tensor.storage();
    let bf16_data: Vec<bf16> = data.iter().map(|x| bf16::from_f32(*x)).collect();
    FlexTensor::new(
        Bytes::from_elems(bf16_data),
        Layout::contiguous(tensor.layout().shape().clone()),
        DType::BF16,
    )
}

// ============================================================================
// Shapes the padded-plane SIMD paths take
// ============================================================================

/// The `[out_h, out_w]` of a convolution the SIMD paths over padded planes
/// (`conv_channel_block`, `conv_large_kernel`) can take: groups 1, unit stride and dilation, a 2D
/// shape inside 3D and a kernel within the padded input; `None` for any other, and without the
/// `simd` feature.
pub(crate) fn unit_stride_2d_output(
    x_shape: &[usize],
    w_shape: &[usize],
    options: &ConvOptions<3>,
) -> Option<[usize; 2]> {
    if cfg!(not(feature = "simd")) {
        return None;
    }
    if options.groups != 1 || options.stride != [1, 1, 1] || options.dilation != [1, 1, 1] {
        return None;
    }
    let [pad_d, pad_h, pad_w] = options.padding_begin();
    if w_shape[2] != 1 || x_shape[2] != 1 || pad_d != 0 {
        return None;
    }
    let (kernel_h, kernel_w) = (w_shape[3], w_shape[4]);
    if kernel_h == 0 || kernel_w == 0 {
        return None;
    }
    if x_shape[3] + 2 * pad_h < kernel_h || x_shape[4] + 2 * pad_w < kernel_w {
        return None;
    }
    Some([
        calculate_conv_output_size(kernel_h, 1, pad_h, 1, x_shape[3]),
        calculate_conv_output_size(kernel_w, 1, pad_w, 1, x_shape[4]),
    ])
}

/// The common ending of the SIMD paths over padded planes: runs `work(index, chunk)` over an f32
/// output of `[batch, channels_out, 1, out_h, out_w]` in chunks of `chunk_len` values (in
/// parallel with rayon), adds `bias` per output channel and wraps it as a tensor.
#[cfg_attr(not(feature = "simd"), allow(dead_code))]
pub(crate) fn f32_conv_output(
    [batch, channels_out, out_h, out_w]: [usize; 4],
    chunk_len: usize,
    work: impl Fn(usize, &mut [f32]) + Sync,
    bias: Option<&FlexTensor>,
) -> FlexTensor {
    let out_spatial = out_h * out_w;
    let mut output = alloc::vec![0.0f32; batch * channels_out * out_spatial];
    if chunk_len > 0 {
        #[cfg(feature = "rayon")]
        {
            use rayon::prelude::*;
            output
                .par_chunks_mut(chunk_len)
                .enumerate()
                .for_each(|(index, chunk)| work(index, chunk));
        }
        #[cfg(not(feature = "rayon"))]
        for (index, chunk) in output.chunks_mut(chunk_len).enumerate() {
            work(index, chunk);
        }
    }
    if let Some(bias) = bias {
        let bias = bias.to_contiguous();
        add_bias(
            &mut output,
            bias.storage::<f32>(),
            batch,
            channels_out,
            out_spatial,
        );
    }
    let out_shape = Shape::from(alloc::vec![batch, channels_out, 1, out_h, out_w]);
    FlexTensor::new(
        Bytes::from_elems(output),
        Layout::contiguous(out_shape),
        DType::F32,
    )
}

// ============================================================================
// Padded planes
// ============================================================================

/// Copies each `in_h x in_w` plane of `planes` into zeros, at row `pad_h` and column `pad_w` of a
/// plane whose rows are `padded_w` apart; the padded planes lie `plane_len` apart (their last
/// row must fit; more leaves zeros after it for readers that run past it).
pub(crate) fn pad_planes<'a, T: Copy + 'a>(
    planes: impl ExactSizeIterator<Item = &'a [T]>,
    [in_h, in_w]: [usize; 2],
    [pad_h, pad_w]: [usize; 2],
    padded_w: usize,
    plane_len: usize,
    zero: T,
) -> Vec<T> {
    let mut padded = alloc::vec![zero; planes.len() * plane_len];
    if in_h * in_w == 0 || plane_len == 0 {
        return padded;
    }
    for (out, input) in padded.chunks_exact_mut(plane_len).zip(planes) {
        for (ih, row) in input.chunks_exact(in_w).enumerate() {
            let at = (ih + pad_h) * padded_w + pad_w;
            out[at..at + in_w].copy_from_slice(row);
        }
    }
    padded
}

// ============================================================================
// Bias addition
// ============================================================================

#[allow(clippy::needless_range_loop, clippy::extra_unused_type_parameters)]
#[cfg_attr(feature = "simd", macerator::with_simd)]
pub(crate) fn add_bias<#[cfg(feature = "simd")] S: macerator::Simd, T: Element + ElementAdd>(
    output: &mut [T],
    bias: &[T],
    batch: usize,
    channels: usize,
    spatial: usize,
) {
    assert_eq!(
        bias.len(),
        channels,
        "conv: bias length ({}) must equal channels_out ({channels})",
        bias.len()
    );
    for b in 0..batch {
        for c in 0..channels {
            let offset = b * channels * spatial + c * spatial;
            let bias_val = bias[c];
            for i in 0..spatial {
                output[offset + i] = T::add(output[offset + i], bias_val);
            }
        }
    }
}
