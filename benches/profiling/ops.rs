//! Milliseconds per call of each flex op a base LeNet-5 training step (batch 64) runs, forward and
//! backward, with LeNet's shapes: the numbers behind the burn-flex patch (vendor/burn-flex/PATCH.md),
//! natively (benches/opbench.rs) and in the browser (benches/browser.rs).

use std::future::Future;

use burn::tensor::module::{
    avg_pool2d, avg_pool2d_backward, conv_transpose2d, conv2d, conv2d_weight_backward,
};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Tensor};

const WARMUP: usize = 20;
const CALLS: usize = 200;

/// Reads one element back: flex runs eagerly, so the op is done.
async fn sync<const D: usize>(t: &Tensor<D>) {
    let one: Tensor<1> = t.clone().detach().flatten(0, D - 1).slice(0..1);
    one.into_data_async().await.unwrap();
}

/// Times `op`: the mean of `CALLS` calls after `WARMUP` untimed ones, in milliseconds.
async fn time<const D: usize>(op: impl Fn() -> Tensor<D>, now: &impl Fn() -> f64) -> f64 {
    for _ in 0..WARMUP {
        sync(&op()).await;
    }
    let start = now();
    for _ in 0..CALLS {
        sync(&op()).await;
    }
    (now() - start) * 1e3 / CALLS as f64
}

/// Every op of the step, `(name, ms per call)` in step order. `now` gives seconds;
/// `between_ops` runs (untimed) after each op's calls (the browser yields to its event loop).
pub async fn op_times<F: Future<Output = ()>>(
    device: &Device,
    now: impl Fn() -> f64,
    between_ops: impl Fn() -> F,
) -> Vec<(&'static str, f64)> {
    let random = |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Default, device);
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
    // The input gradient is a transposed convolution of the output gradient.
    let transpose = ConvTransposeOptions::new([1, 1], [0, 0], [0, 0], [1, 1], 1);
    let fc_in = Tensor::<2>::random([64, 400], Distribution::Default, device);
    let fc_weight = Tensor::<2>::random([400, 120], Distribution::Default, device);
    // One helper per kind of op, so each line below names only the op's operands.
    let forward = |x: &Tensor<4>, w: &Tensor<4>, options: &ConvOptions<2>| {
        conv2d(x.clone(), w.clone(), None, options.clone())
    };
    let weight_grad = |x: &Tensor<4>, w: &Tensor<4>, grad: &Tensor<4>, options: &ConvOptions<2>| {
        conv2d_weight_backward(x.clone(), w.clone(), grad.clone(), options.clone())
    };
    let pool = |x: &Tensor<4>| avg_pool2d(x.clone(), AvgPoolOptions::new([2, 2]));
    let pool_backward = |x: &Tensor<4>, pooled: &Tensor<4>| {
        avg_pool2d_backward(
            x.clone(),
            pooled.clone(),
            [2, 2],
            [2, 2],
            [0, 0],
            true,
            false,
        )
    };

    let mut times = Vec::new();
    macro_rules! op {
        ($name:literal, $op:expr) => {
            times.push(($name, time($op, &now).await));
            between_ops().await;
        };
    }
    op!("conv1-forward", || forward(&images, &w1, &conv1));
    op!("conv1-weight-grad", || weight_grad(
        &images, &w1, &g1, &conv1
    ));
    op!("pool1-forward", || pool(&g1));
    op!("pool1-backward", || pool_backward(&g1, &pooled1));
    op!("conv2-forward", || forward(&x2, &w2, &conv2));
    op!("conv2-weight-grad", || weight_grad(&x2, &w2, &g2, &conv2));
    op!("conv2-input-grad", || conv_transpose2d(
        g2.clone(),
        w2.clone(),
        None,
        transpose.clone()
    ));
    op!("pool2-forward", || pool(&x3));
    op!("pool2-backward", || pool_backward(&x3, &pooled2));
    op!("relu1", || burn::tensor::activation::relu(g1.clone()));
    op!("fc1-matmul", || fc_in.clone().matmul(fc_weight.clone()));
    times
}
