//! The vendored burn-flex patch (vendor/burn-flex/PATCH.md) must compute what the generic code
//! did: its fast paths against plain reference computations on the public tensor API.
#![cfg(not(target_family = "wasm"))]

use burn::tensor::module::{avg_pool2d, avg_pool2d_backward, conv_transpose2d, conv2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

fn random(shape: [usize; 4]) -> Tensor<4> {
    Tensor::random(shape, Distribution::Uniform(-1.0, 1.0), &Device::flex())
}

fn values(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_to_vec_as::<f32>().unwrap()
}

/// The 2x2, stride-2 average over each plane, written out.
fn reference_pool(x: &[f32], planes: usize, h: usize, w: usize) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = Vec::with_capacity(planes * oh * ow);
    for p in 0..planes {
        for y in 0..oh {
            for x_ in 0..ow {
                let at = |dy: usize, dx: usize| x[p * h * w + (2 * y + dy) * w + 2 * x_ + dx];
                out.push((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4.0);
            }
        }
    }
    out
}

#[test]
fn two_by_two_average_pooling_matches_the_definition() {
    // Even sizes (LeNet's) and odd ones, whose last row and column floor mode drops.
    for [b, c, h, w] in [[3, 4, 28, 28], [2, 3, 7, 9], [1, 1, 2, 2]] {
        let x = random([b, c, h, w]);
        let pooled = avg_pool2d(x.clone(), AvgPoolOptions::new([2, 2]));
        assert_eq!(pooled.dims(), [b, c, h / 2, w / 2]);
        let expected = reference_pool(&values(x.clone()), b * c, h, w);
        let got = values(pooled);
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-6, "{g} vs {e} for {:?}", [b, c, h, w]);
        }

        let grad = random([b, c, h / 2, w / 2]);
        let dx = avg_pool2d_backward(x, grad.clone(), [2, 2], [2, 2], [0, 0], true, false);
        assert_eq!(dx.dims(), [b, c, h, w]);
        let g = values(grad);
        let dx = values(dx);
        for p in 0..b * c {
            for y in 0..h {
                for x_ in 0..w {
                    let expected = if y < 2 * (h / 2) && x_ < 2 * (w / 2) {
                        g[p * (h / 2) * (w / 2) + (y / 2) * (w / 2) + x_ / 2] / 4.0
                    } else {
                        0.0
                    };
                    let got = dx[p * h * w + y * w + x_];
                    assert!((got - expected).abs() < 1e-6, "dx {got} vs {expected}");
                }
            }
        }
    }
}

#[test]
fn pooling_with_padding_or_other_windows_still_works() {
    // Not the fast path: 3x3 windows, and 2x2 with padding (not counted), on a constant input.
    let ones: Tensor<4> = Tensor::ones([1, 1, 6, 6], &Device::flex());
    let pooled = avg_pool2d(ones.clone(), AvgPoolOptions::new([3, 3]));
    assert_eq!(values(pooled), vec![1.0; 4]);
    let padded = avg_pool2d(
        ones,
        AvgPoolOptions::new([2, 2])
            .with_padding([1, 1])
            .with_count_include_pad(false),
    );
    assert_eq!(padded.dims(), [1, 1, 4, 4]);
    assert_eq!(values(padded), vec![1.0; 16]);
}

/// A convolution with symmetric zero padding and equal strides, written out.
fn reference_conv(
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    pad: usize,
    stride: usize,
) -> Vec<f32> {
    let [b, c, h, w] = x.dims();
    let [k, _, kh, kw] = weight.dims();
    let (oh, ow) = (
        (h + 2 * pad - kh) / stride + 1,
        (w + 2 * pad - kw) / stride + 1,
    );
    let xs = values(x.clone());
    let ws = values(weight.clone());
    let bs: Vec<f32> = bias.clone().into_data().try_to_vec_as::<f32>().unwrap();
    let mut out = Vec::with_capacity(b * k * oh * ow);
    for n in 0..b {
        for o in 0..k {
            for y in 0..oh {
                for x_ in 0..ow {
                    let mut sum = bs[o];
                    for i in 0..c {
                        for dy in 0..kh {
                            for dx in 0..kw {
                                let (iy, ix) = (y * stride + dy, x_ * stride + dx);
                                if iy < pad || ix < pad || iy - pad >= h || ix - pad >= w {
                                    continue;
                                }
                                sum += xs[((n * c + i) * h + iy - pad) * w + ix - pad]
                                    * ws[((o * c + i) * kh + dy) * kw + dx];
                            }
                        }
                    }
                    out.push(sum);
                }
            }
        }
    }
    out
}

#[test]
fn convolution_matches_the_definition() {
    let cases = [
        // More than eight input channels: im2col (contiguous patch rows) and GEMM.
        ([64, 12, 14, 14], [16, 12, 5, 5], 0, 1), // conv2's shape with more channels
        ([40, 9, 12, 12], [5, 9, 3, 3], 1, 1),    // padded
        ([200, 6, 6, 6], [20, 6, 5, 5], 2, 1),    // 20 output channels; padding past some rows
        ([6, 10, 7, 7], [4, 10, 3, 3], 4, 1),     // padding past the kernel: rows of zeros
        ([10, 8, 13, 13], [5, 8, 3, 3], 1, 2),    // stride 2
        ([2, 10, 30, 30], [4, 10, 5, 5], 2, 1),   // large outputs: the per-image tiles
        // Up to eight input channels (four in wasm) and 16 output channels, stride 1: blocks of
        // output channels in registers over padded planes.
        ([64, 1, 28, 28], [6, 1, 5, 5], 2, 1),  // LeNet's conv1
        ([64, 6, 14, 14], [16, 6, 5, 5], 0, 1), // LeNet's conv2: blocks of 6, 6 and 4
        ([4, 3, 9, 11], [5, 3, 3, 3], 1, 1),    // rows of another width
        ([3, 2, 8, 8], [4, 2, 5, 5], 0, 1),     // no padding
        ([2, 1, 4, 4], [3, 1, 3, 3], 3, 1),     // padding past the kernel's reach
        ([2, 1, 1, 7], [2, 1, 1, 3], 1, 1),     // a single row
        ([1, 8, 9, 9], [13, 8, 3, 3], 0, 1),    // one image, blocks of 6, 6 and 1
        ([3, 1, 9, 9], [2, 1, 3, 3], 1, 2),     // stride 2 keeps the per-row path
        // Kernels at least as large as a small output: window dot products.
        ([2, 5, 9, 9], [3, 5, 7, 7], 1, 1), // 5x5 out: one block of five columns
        ([1, 3, 6, 12], [2, 3, 6, 5], 0, 1), // 1x8 out: blocks of six and two
        ([1, 2, 3, 3], [2, 2, 4, 4], 2, 1), // padding past the input on every side
        ([1, 23, 9, 9], [2, 23, 7, 7], 1, 1), // channels summed in blocks of 19 and 4
    ];
    // Each case also with the input and weight as transposed views (batch and channels swapped,
    // as Burn hands a weight gradient's operands over): every path must read them right.
    for ((x_shape, w_shape, pad, stride), transposed) in cases
        .into_iter()
        .flat_map(|case| [(case, false), (case, true)])
    {
        let (x, weight) = if transposed {
            let [b, c, h, w] = x_shape;
            let [k, c_in, kh, kw] = w_shape;
            (
                random([c, b, h, w]).swap_dims(0, 1),
                random([c_in, k, kh, kw]).swap_dims(0, 1),
            )
        } else {
            (random(x_shape), random(w_shape))
        };
        let bias: Tensor<1> = Tensor::random([w_shape[0]], Distribution::Default, &Device::flex());
        let options = ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1);
        let expected = reference_conv(&x, &weight, &bias, pad, stride);
        let got = values(conv2d(x, weight, Some(bias), options));
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert!(
                (g - e).abs() < 1e-4,
                "{g} vs {e} for {x_shape:?} * {w_shape:?}, transposed {transposed}"
            );
        }
    }
}

#[test]
fn a_non_finite_weight_meets_the_padding_as_ieee_says() {
    // 0 x inf is NaN: an output whose window covers padding under the infinite weight is NaN,
    // one whose window puts real (positive) input there is infinite.
    let device = Device::flex();
    let x = Tensor::<4>::ones([1, 1, 4, 4], &device);
    let mut w = vec![1.0f32; 9];
    w[0] = f32::INFINITY;
    let weight = Tensor::<4>::from_data(TensorData::new(w, [1, 1, 3, 3]), &device);
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let got = values(conv2d(x, weight, None, options));
    assert!(got[0].is_nan(), "top-left covers the padding: {}", got[0]);
    assert!(
        got[3].is_nan(),
        "so does the rest of the first row: {}",
        got[3]
    );
    assert_eq!(
        got[5],
        f32::INFINITY,
        "inside, the weight meets an input of 1"
    );
}

#[test]
fn a_non_finite_input_outside_a_window_stays_outside() {
    // A large-kernel convolution takes dot products with zero-padded kernel rows; an infinite
    // input under those zeros must not make NaN of a window that does not contain it.
    let device = Device::flex();
    let mut x = vec![1.0f32; 64];
    x[7] = f32::INFINITY; // row 0, column 7
    let x = Tensor::<4>::from_data(TensorData::new(x, [1, 1, 8, 8]), &device);
    let weight = Tensor::<4>::ones([1, 1, 6, 6], &device);
    let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    let got = values(conv2d(x, weight, None, options));
    assert_eq!(&got[..2], &[36.0, 36.0], "columns 0-5 and 1-6 miss it");
    assert_eq!(got[2], f32::INFINITY, "columns 2-7 hold it");
}

#[test]
fn convolution_gradients_match_the_definition() {
    // The input gradient runs the transposed convolution (col2im), the weight gradient a
    // convolution of the swapped input with the output gradient as its kernel (the
    // large-kernel path: one window dot product per weight).
    let device = Device::flex().autodiff();
    for (x_shape, w_shape, pad) in [
        ([64, 6, 14, 14], [16, 6, 5, 5], 0), // LeNet's conv2
        ([64, 1, 28, 28], [6, 1, 5, 5], 2),  // LeNet's conv1, padded
        ([5, 3, 7, 9], [4, 3, 3, 3], 1),
    ] {
        let [b, c, h, w] = x_shape;
        let [k, _, kh, kw] = w_shape;
        let (oh, ow) = (h + 2 * pad - kh + 1, w + 2 * pad - kw + 1);
        let x =
            Tensor::<4>::random(x_shape, Distribution::Uniform(-1.0, 1.0), &device).require_grad();
        let weight =
            Tensor::<4>::random(w_shape, Distribution::Uniform(-1.0, 1.0), &device).require_grad();
        let bias = Tensor::<1>::zeros([k], &device).require_grad();
        let g = Tensor::<4>::random([b, k, oh, ow], Distribution::Uniform(-1.0, 1.0), &device);
        let y = conv2d(
            x.clone(),
            weight.clone(),
            Some(bias.clone()),
            ConvOptions::new([1, 1], [pad, pad], [1, 1], 1),
        );
        let grads = (y * g.clone()).sum().backward();
        let dx = values(x.grad(&grads).unwrap());
        let dw = values(weight.grad(&grads).unwrap());
        let db = bias
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec_as::<f32>()
            .unwrap();
        let (xs, ws, gs) = (values(x.detach()), values(weight.detach()), values(g));

        let mut want_dx = vec![0.0f32; b * c * h * w];
        let mut want_dw = vec![0.0f32; k * c * kh * kw];
        for n in 0..b {
            for o in 0..k {
                for y in 0..oh {
                    for x_ in 0..ow {
                        let gv = gs[((n * k + o) * oh + y) * ow + x_];
                        for i in 0..c {
                            for dy in 0..kh {
                                for dx_ in 0..kw {
                                    let (iy, ix) = (y + dy, x_ + dx_);
                                    if iy < pad || ix < pad || iy - pad >= h || ix - pad >= w {
                                        continue;
                                    }
                                    let xi = ((n * c + i) * h + iy - pad) * w + ix - pad;
                                    let wi = ((o * c + i) * kh + dy) * kw + dx_;
                                    want_dx[xi] += gv * ws[wi];
                                    want_dw[wi] += gv * xs[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
        // The bias gradient: the output gradient summed over images and positions.
        let want_db: Vec<f32> = (0..k)
            .map(|o| {
                (0..b)
                    .map(|n| gs[(n * k + o) * oh * ow..][..oh * ow].iter().sum::<f32>())
                    .sum()
            })
            .collect();
        for (got, want) in [(&dx, &want_dx), (&dw, &want_dw), (&db, &want_db)] {
            for (a, e) in got.iter().zip(want.iter()) {
                assert!(
                    (a - e).abs() < 1e-3 * (1.0 + e.abs()),
                    "{a} vs {e} for {x_shape:?}"
                );
            }
        }
    }
}

/// The transposed convolution of unit stride and no padding, written out: every input value
/// times every kernel tap, added where the tap puts it.
fn reference_conv_transpose(x: &Tensor<4>, weight: &Tensor<4>, bias: &[f32]) -> Vec<f32> {
    let [b, c, h, w] = x.dims();
    let [_, k, kh, kw] = weight.dims();
    let (oh, ow) = (h + kh - 1, w + kw - 1);
    let (xs, ws) = (values(x.clone()), values(weight.clone()));
    let mut out: Vec<f32> = (0..b * k * oh * ow)
        .map(|i| bias[i / (oh * ow) % k])
        .collect();
    for n in 0..b {
        for i in 0..c {
            for y in 0..h {
                for x_ in 0..w {
                    for o in 0..k {
                        for dy in 0..kh {
                            for dx in 0..kw {
                                out[((n * k + o) * oh + y + dy) * ow + x_ + dx] += xs
                                    [((n * c + i) * h + y) * w + x_]
                                    * ws[((i * k + o) * kh + dy) * kw + dx];
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn transposed_convolution_over_padded_rows_matches_the_definition() {
    // Unit stride, no padding: input rows padded to the output's width, one run per tap.
    let options = ConvTransposeOptions::new([1, 1], [0, 0], [0, 0], [1, 1], 1);
    for (x_shape, w_shape) in [
        ([64, 16, 10, 10], [16, 6, 5, 5]), // LeNet's conv2, backwards
        ([2, 3, 4, 7], [3, 4, 2, 3]),      // rows of another width, a wide kernel
        ([1, 1, 1, 1], [1, 2, 3, 3]),      // one input value
    ] {
        let (x, weight) = (random(x_shape), random(w_shape));
        let bias: Vec<f32> = (0..w_shape[1]).map(|o| o as f32 * 0.5 - 1.0).collect();
        let bias_tensor = Tensor::<1>::from_floats(bias.as_slice(), &Device::flex());
        let got = values(conv_transpose2d(
            x.clone(),
            weight.clone(),
            Some(bias_tensor),
            options.clone(),
        ));
        let want = reference_conv_transpose(&x, &weight, &bias);
        assert_eq!(got.len(), want.len());
        for (g, e) in got.iter().zip(&want) {
            assert!(
                (g - e).abs() < 1e-4 * (1.0 + e.abs()),
                "{g} vs {e} for {x_shape:?} * {w_shape:?}"
            );
        }
    }
}

#[test]
fn an_infinite_weight_stays_off_the_row_padding() {
    // The padded rows' zeros must not meet an infinite weight: 0 * inf would be NaN in outputs
    // that have no term with it.
    let device = Device::flex();
    let x = Tensor::<4>::ones([1, 1, 2, 2], &device);
    let weight = Tensor::<4>::from_data(
        TensorData::new(vec![1.0, f32::INFINITY], [1, 1, 1, 2]),
        &device,
    );
    let options = ConvTransposeOptions::new([1, 1], [0, 0], [0, 0], [1, 1], 1);
    let got = values(conv_transpose2d(x, weight, None, options));
    assert_eq!(
        got,
        [
            1.0,
            f32::INFINITY,
            f32::INFINITY,
            1.0,
            f32::INFINITY,
            f32::INFINITY
        ]
    );
}
