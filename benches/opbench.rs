//! Milliseconds per call of each flex op a base LeNet-5 training step (batch 64) runs, forward and
//! backward, natively: the numbers behind the burn-flex patch (vendor/burn-flex/PATCH.md). Run by
//! `./build.sh bench` (`cargo bench --bench opbench`).

use burn::tensor::module::{
    avg_pool2d, avg_pool2d_backward, conv_transpose2d, conv2d, conv2d_weight_backward,
};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Tensor};
use fashion_trainer::clock::now_seconds;

const WARMUP: usize = 20;
const CALLS: usize = 200;

/// Reads one element back: flex runs eagerly, so the op is done.
fn sync<const D: usize>(t: &Tensor<D>) {
    let one: Tensor<1> = t.clone().detach().flatten(0, D - 1).slice(0..1);
    one.into_data();
}

/// Prints `OP name ms`: the mean of `CALLS` calls after `WARMUP` untimed ones.
fn time<const D: usize>(name: &str, op: impl Fn() -> Tensor<D>) {
    for _ in 0..WARMUP {
        sync(&op());
    }
    let start = now_seconds();
    for _ in 0..CALLS {
        sync(&op());
    }
    let ms = (now_seconds() - start) * 1e3 / CALLS as f64;
    println!("OP {name} {ms:.3}");
}

/// Every op of the step with LeNet's shapes, one `OP` line each.
fn main() {
    let device = Device::flex();
    let random = |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Default, &device);
    let conv1 = ConvOptions::new([1, 1], [2, 2], [1, 1], 1);
    let conv2 = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    let (images, w1, g1) = (
        random([64, 1, 28, 28]),
        random([6, 1, 5, 5]),
        random([64, 6, 28, 28]),
    );
    let (x2, w2, g2) = (
        random([64, 6, 14, 14]),
        random([16, 6, 5, 5]),
        random([64, 16, 10, 10]),
    );
    let pooled1 = random([64, 6, 14, 14]);
    let (x3, pooled2) = (random([64, 16, 10, 10]), random([64, 16, 5, 5]));

    time("conv1-forward", || {
        conv2d(images.clone(), w1.clone(), None, conv1.clone())
    });
    time("conv1-weight-grad", || {
        conv2d_weight_backward(images.clone(), w1.clone(), g1.clone(), conv1.clone())
    });
    time("pool1-forward", || {
        avg_pool2d(g1.clone(), AvgPoolOptions::new([2, 2]))
    });
    time("pool1-backward", || {
        avg_pool2d_backward(
            g1.clone(),
            pooled1.clone(),
            [2, 2],
            [2, 2],
            [0, 0],
            true,
            false,
        )
    });
    time("conv2-forward", || {
        conv2d(x2.clone(), w2.clone(), None, conv2.clone())
    });
    time("conv2-weight-grad", || {
        conv2d_weight_backward(x2.clone(), w2.clone(), g2.clone(), conv2.clone())
    });
    // The input gradient is a transposed convolution of the output gradient.
    let transpose = ConvTransposeOptions::new([1, 1], [0, 0], [0, 0], [1, 1], 1);
    time("conv2-input-grad", || {
        conv_transpose2d(g2.clone(), w2.clone(), None, transpose.clone())
    });
    time("pool2-forward", || {
        avg_pool2d(x3.clone(), AvgPoolOptions::new([2, 2]))
    });
    time("pool2-backward", || {
        avg_pool2d_backward(
            x3.clone(),
            pooled2.clone(),
            [2, 2],
            [2, 2],
            [0, 0],
            true,
            false,
        )
    });
    time("relu1", || burn::tensor::activation::relu(g1.clone()));
    let fc_in = Tensor::<2>::random([64, 400], Distribution::Default, &device);
    let fc_weight = Tensor::<2>::random([400, 120], Distribution::Default, &device);
    time("fc1-matmul", || fc_in.clone().matmul(fc_weight.clone()));
}
