//! Transposed 2D convolutions of unit stride over input rows padded to the output's width: the
//! shape of a convolution's input gradient (LeNet's conv2: 16 planes of 10x10 back to 6 of
//! 14x14).
//!
//! The general path (`conv_transpose.rs`) multiplies the weight by the input into one column per
//! kernel tap and input position, then adds each input row's run of a column onto the output:
//! for conv2, 1,500 runs of 10 values per image. Padding each input row with zeros to the
//! output's width puts input position `p` and tap `(kh, kw)` on output `p + kh * out_w + kw`, so
//! a tap's whole column lands on the output as one run: 150 runs of 136 per image, for a GEMM
//! 40 % wider (natively only: see [`conv_transpose2d_rows`]).

use alloc::vec;
use burn_backend::DType;
use burn_backend::ops::ConvTransposeOptions;
use burn_std::{Bytes, Shape};

use crate::{FlexTensor, Layout};

use super::conv_common::{add_bias, pad_planes};
use super::conv_transpose::conv_transpose_gemm_f32;

/// Largest column buffer of one image taken here (the general path tiles larger ones).
const MAX_COLUMNS_BYTES: usize = 8 * 1024 * 1024;

/// `x [batch, channels_in, h, w]` transposed-convolved with `weight [channels_in, channels_out,
/// kh, kw]`: `Some` for f32 with unit stride and dilation, no padding and one group, else `None`
/// (the general path). Also `None` when a weight is not finite: the padding's zeros meet every
/// weight, and `0 * inf` would be NaN where the definition has no term.
pub(crate) fn conv_transpose2d_rows(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
    options: &ConvTransposeOptions<2>,
) -> Option<FlexTensor> {
    // In wasm (4 lanes, no FMA) the wider GEMM cost more than the runs saved: conv2's input
    // gradient took 2.49-3.13 ms a call against 2.26-3.02 on the general path (Chromium,
    // `benches/browser.rs`, three alternating pairs), so only native code takes this path.
    if cfg!(target_family = "wasm") {
        return None;
    }
    let plain = options.stride == [1, 1]
        && options.dilation == [1, 1]
        && options.padding == [0, 0]
        && options.padding_out == [0, 0]
        && options.groups == 1;
    if !plain || x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
        return None;
    }
    let (x_shape, w_shape) = (x.layout().shape(), weight.layout().shape());
    let [batch, channels_in, in_h, in_w] = [x_shape[0], x_shape[1], x_shape[2], x_shape[3]];
    let [w_in, channels_out, kernel_h, kernel_w] = [w_shape[0], w_shape[1], w_shape[2], w_shape[3]];
    let sizes = [batch, channels_in, in_h, in_w, channels_out, kernel_h, kernel_w];
    if w_in != channels_in || sizes.contains(&0) {
        return None;
    }
    let (out_h, out_w) = (in_h + kernel_h - 1, in_w + kernel_w - 1);
    // Padded positions from the first input value to the last: a tap's run.
    let run = (in_h - 1) * out_w + in_w;
    let k_spatial = kernel_h * kernel_w;
    let col_ch = channels_out * k_spatial;
    if col_ch.checked_mul(run)? > MAX_COLUMNS_BYTES / size_of::<f32>() {
        return None;
    }
    let weight = weight.to_contiguous();
    let w_data: &[f32] = weight.storage();
    if !w_data.iter().all(|w| w.is_finite()) {
        return None;
    }
    let x = x.to_contiguous();
    let x_data: &[f32] = x.storage();

    let out_spatial = out_h * out_w;
    let mut output = vec![0.0f32; batch * channels_out * out_spatial];
    // Every input plane's rows `out_w` apart, each plane `run` long.
    let padded = pad_planes(
        x_data.chunks_exact(in_h * in_w),
        [in_h, in_w],
        [0, 0],
        out_w,
        run,
        0.0f32,
    );
    let mut columns = vec![0.0f32; col_ch * run];
    let images = padded.chunks_exact(channels_in * run);
    for (image, image_out) in images.zip(output.chunks_exact_mut(channels_out * out_spatial)) {
        // columns [col_ch, run] = weight^T [col_ch, channels_in] x image [channels_in, run]
        conv_transpose_gemm_f32(&mut columns, w_data, image, col_ch, channels_in, run, run);
        // Taps in the general path's order, so each output adds its terms in the same order.
        for (tap_columns, out_plane) in columns
            .chunks_exact(k_spatial * run)
            .zip(image_out.chunks_exact_mut(out_spatial))
        {
            for (tap, column) in tap_columns.chunks_exact(run).enumerate() {
                let start = tap / kernel_w * out_w + tap % kernel_w;
                for (out, value) in out_plane[start..start + run].iter_mut().zip(column) {
                    *out += value;
                }
            }
        }
    }
    if let Some(bias) = bias {
        let bias = bias.to_contiguous();
        add_bias(&mut output, bias.storage(), batch, channels_out, out_spatial);
    }
    let shape = Shape::from(vec![batch, channels_out, out_h, out_w]);
    Some(FlexTensor::new(
        Bytes::from_elems(output),
        Layout::contiguous(shape),
        DType::F32,
    ))
}
