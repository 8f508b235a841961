//! Convolutions whose kernel is larger than their output: the shape of a weight gradient.
//!
//! Burn computes a conv's weight gradient as a convolution of the input (batch and channels
//! swapped) with the output gradient as the kernel: for LeNet's conv1 that is a 64-channel
//! 32x32 padded input, a 28x28 "kernel" and a 5x5 output. im2col would copy every input value
//! once per output position (25 copies of 50,176 values) to feed a GEMM with a tiny result.
//! Here each output value is a dot product of one padded kernel with a window of one padded
//! input plane, taken in registers, several output columns at once.

use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_backend::ops::conv::calculate_conv_output_size;

use crate::{FlexTensor, Layout};

use super::conv_common::{f32_conv_output, pad_planes, unit_stride_2d_output};

/// Output planes up to this many values (LeNet's weight gradients have 25).
const MAX_OUT_SPATIAL: usize = 64;

/// Padded kernels are a multiple of this many values: the widest vector (AVX-512's 16 lanes).
const RUN_MULTIPLE: usize = 16;

/// The widest block of output columns summed together: one accumulator register each, plus the
/// kernel's and an input window's, within the 16 vector registers of AVX2 and of wasm on x86.
const MAX_COLUMNS: usize = 6;

/// Bytes of kernels and input planes whose dot products are summed in registers before one
/// horizontal reduction per output (with a reduction per channel, conv2's 144-value kernels
/// gave each reduction only nine AVX-512 products); within L1, they serve every output of the
/// block. 16 KB takes
/// 11 channels of conv2's weight gradient and 2 of conv1's: natively, alternating with a
/// reduction per channel, conv2's fell from 1.01-1.32 to 0.89-0.97 ms a call, conv1's from
/// 0.51-0.63 to 0.47-0.58 (all 64 channels at once: no gain, beyond L1).
const BLOCK_BYTES: usize = 16 * 1024;

/// Whether `conv3d_large_kernel` takes this convolution: groups 1, unit stride and dilation, a
/// 2D shape inside 3D, an output of at most [`MAX_OUT_SPATIAL`] values and a kernel at least as
/// large as the output.
pub(crate) fn should_use_large_kernel_conv(
    x_shape: &[usize],
    w_shape: &[usize],
    options: &ConvOptions<3>,
) -> bool {
    let Some([out_h, out_w]) = unit_stride_2d_output(x_shape, w_shape, options) else {
        return false;
    };
    let out_spatial = out_h * out_w;
    x_shape[3] > 0
        && x_shape[4] > 0
        && out_spatial <= MAX_OUT_SPATIAL
        && w_shape[3] * w_shape[4] >= out_spatial
}

/// The f32 convolution `x [batch, channels_in, 1, h, w] * weight [channels_out, channels_in, 1,
/// kh, kw]` as dot products; `None` for other types, and when an input value is not finite: the
/// padded kernel's zero columns meet input values outside each window, and `0 * inf` would be
/// NaN where the definition has no term, so such inputs take the general path.
#[cfg(feature = "simd")]
pub(crate) fn conv3d_large_kernel(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
    options: &ConvOptions<3>,
) -> Option<FlexTensor> {
    if x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
        return None;
    }
    // Burn hands the weight gradient's input and kernel over with batch and channels swapped:
    // their planes are still contiguous, so they are read in place rather than transposed.
    let (x, x_planes) = with_plane_starts(x);
    let (weight, w_planes) = with_plane_starts(weight);
    let x_data: &[f32] = x.storage();
    let w_data: &[f32] = weight.storage();
    let zero = 0.0f32;

    let x_shape = x.layout().shape();
    let w_shape = weight.layout().shape();
    let (batch_size, channels_in, in_h, in_w) = (x_shape[0], x_shape[1], x_shape[3], x_shape[4]);
    let (channels_out, kernel_h, kernel_w) = (w_shape[0], w_shape[3], w_shape[4]);
    let x_plane = |p: usize| &x_data[x_planes[p]..x_planes[p] + in_h * in_w];
    if !(0..x_planes.len()).all(|p| x_plane(p).iter().all(|value| value.is_finite())) {
        return None;
    }
    let [_, pad_h, pad_w] = options.padding_begin();
    let out_h = calculate_conv_output_size(kernel_h, 1, pad_h, 1, in_h);
    let out_w = calculate_conv_output_size(kernel_w, 1, pad_w, 1, in_w);
    let out_spatial = out_h * out_w;

    // A kernel row is laid out `padded_w` apart, like the padded input's rows, with zeros
    // after its `kernel_w` values: then the whole window of an output is one contiguous run.
    let padded_w = out_w + kernel_w - 1;
    let run = ((kernel_h - 1) * padded_w + kernel_w).div_ceil(RUN_MULTIPLE) * RUN_MULTIPLE;
    let plane_len = (out_h - 1) * padded_w + out_w - 1 + run;
    let padded = pad_planes(
        (0..x_planes.len()).map(x_plane),
        [in_h, in_w],
        [pad_h, pad_w],
        padded_w,
        plane_len,
        zero,
    );
    // Each kernel is padded once: every output image uses it.
    let k_spatial = kernel_h * kernel_w;
    let kernels = pad_planes(
        w_planes
            .iter()
            .map(|&start| &w_data[start..start + k_spatial]),
        [kernel_h, kernel_w],
        [0, 0],
        padded_w,
        run,
        zero,
    );

    let channel_block = (BLOCK_BYTES / ((run + plane_len) * size_of::<f32>())).max(1);
    let plane_work = |b_co: usize, out_plane: &mut [f32]| {
        let (b, co) = (b_co / channels_out, b_co % channels_out);
        let kernels = &kernels[co * channels_in * run..][..channels_in * run];
        let planes = &padded[b * channels_in * plane_len..][..channels_in * plane_len];
        for first in (0..channels_in).step_by(channel_block) {
            let block = channel_block.min(channels_in - first);
            accumulate_window_dots(
                out_plane,
                &kernels[first * run..][..block * run],
                &planes[first * plane_len..][..block * plane_len],
                [run, plane_len],
                out_w,
                padded_w,
            );
        }
    };

    Some(f32_conv_output(
        [batch_size, channels_out, out_h, out_w],
        out_spatial,
        plane_work,
        bias,
    ))
}

/// `tensor` (`[d0, d1, 1, h, w]`) with the storage offset of each `h x w` plane, `d1` planes per
/// `d0`: in place when every plane is contiguous whatever the order of the planes (a
/// transposed batch and channels), else from a contiguous copy.
#[cfg(feature = "simd")]
fn with_plane_starts(tensor: &FlexTensor) -> (FlexTensor, Vec<usize>) {
    let starts = |layout: &Layout| {
        let (shape, strides) = (layout.shape(), layout.strides());
        let [d0, d1, depth, h, w] = [shape[0], shape[1], shape[2], shape[3], shape[4]];
        let rows_contiguous = (w <= 1 || strides[4] == 1) && (h <= 1 || strides[3] == w as isize);
        if depth != 1 || !rows_contiguous || strides[0] < 0 || strides[1] < 0 {
            return None;
        }
        let (s0, s1) = (strides[0] as usize, strides[1] as usize);
        let start = layout.start_offset();
        Some(
            (0..d0)
                .flat_map(|i| (0..d1).map(move |j| start + i * s0 + j * s1))
                .collect::<Vec<_>>(),
        )
    };
    match starts(tensor.layout()) {
        Some(planes) => (tensor.clone(), planes),
        None => {
            let tensor = tensor.to_contiguous();
            let planes =
                starts(tensor.layout()).expect("a contiguous tensor has contiguous planes");
            (tensor, planes)
        }
    }
}

/// Without SIMD the general path runs (`should_use_large_kernel_conv` says no).
#[cfg(not(feature = "simd"))]
pub(crate) fn conv3d_large_kernel(
    _x: &FlexTensor,
    _weight: &FlexTensor,
    _bias: Option<&FlexTensor>,
    _options: &ConvOptions<3>,
) -> Option<FlexTensor> {
    None
}

/// Adds to each output `(oh, ow)` the dot products of each kernel (`run` values apart in
/// `kernels`) with its plane (`plane_len` apart in `planes`) from `oh * padded_w + ow`, up to
/// [`MAX_COLUMNS`] neighbouring outputs of a row at a time so that each kernel load serves all
/// of them.
#[cfg(feature = "simd")]
#[macerator::with_simd]
fn accumulate_window_dots<S: macerator::Simd>(
    out_plane: &mut [f32],
    kernels: &[f32],
    planes: &[f32],
    run_and_plane_len: [usize; 2],
    out_w: usize,
    padded_w: usize,
) {
    let [run, plane_len] = run_and_plane_len;
    let windows = Windows {
        kernels,
        planes,
        run,
        plane_len,
    };
    for (oh, row) in out_plane.chunks_exact_mut(out_w).enumerate() {
        let mut ow = 0;
        while ow < out_w {
            let columns = (out_w - ow).min(MAX_COLUMNS);
            let sums = &mut row[ow..ow + columns];
            let at = oh * padded_w + ow;
            match columns {
                1 => add_dots::<S, 1>(sums, &windows, at),
                2 => add_dots::<S, 2>(sums, &windows, at),
                3 => add_dots::<S, 3>(sums, &windows, at),
                4 => add_dots::<S, 4>(sums, &windows, at),
                5 => add_dots::<S, 5>(sums, &windows, at),
                _ => add_dots::<S, MAX_COLUMNS>(sums, &windows, at),
            }
            ow += columns;
        }
    }
}

/// A block of channels: one padded kernel and one padded input plane each.
#[cfg(feature = "simd")]
struct Windows<'a> {
    kernels: &'a [f32],
    planes: &'a [f32],
    run: usize,
    plane_len: usize,
}

/// `sums[j] += sum over channels c of kernel_c . plane_c[at + j..at + j + run]` for `j < N`, one
/// accumulator register per output, reduced once for the whole block of channels. `run` is a
/// multiple of [`RUN_MULTIPLE`].
#[cfg(feature = "simd")]
#[inline(always)]
fn add_dots<S: macerator::Simd, const N: usize>(sums: &mut [f32], windows: &Windows, at: usize) {
    use macerator::{Scalar, vload_unaligned};
    let Windows {
        kernels,
        planes,
        run,
        plane_len,
    } = *windows;
    let lanes = f32::lanes::<S>();
    let channels = kernels.len() / run.max(1);
    assert!(
        run % lanes == 0
            && kernels.len() == channels * run
            && planes.len() == channels * plane_len
            && at + run + N <= plane_len + 1
    );
    let mut acc = [0.0f32.splat::<S>(); N];
    for c in 0..channels {
        let kernel = &kernels[c * run..][..run];
        let window = &planes[c * plane_len + at..(c + 1) * plane_len];
        for i in (0..run).step_by(lanes) {
            // SAFETY: `i + lanes <= run`, and `i + j + lanes <= run + N - 1 <= window.len()` for
            // `j < N` (asserted above).
            unsafe {
                let k = vload_unaligned::<S, f32>(kernel.as_ptr().add(i));
                for (j, sum) in acc.iter_mut().enumerate() {
                    let x = vload_unaligned::<S, f32>(window.as_ptr().add(i + j));
                    *sum = k.mul_add(x, *sum);
                }
            }
        }
    }
    for (sum, lanes) in sums.iter_mut().zip(acc) {
        *sum += lanes.reduce_add();
    }
}
