//! Where a training step's time goes (base LeNet-5, batch 64, Adam), phase by phase, shared by
//! the in-browser profile (tests/bench_browser.rs) and the native one (tests/profile.rs).
//!
//! `LeNet`'s layers are private, so the step runs on [`Net`], a copy of the base model built from
//! the same Burn layers with the same configs (src/model.rs) in the same order; the step is the
//! one `Trainer::train_batches` runs (src/training.rs): `Dataset::batch`, forward, cross-entropy,
//! the on-device loss/accuracy sums, backward, Adam (eps 1e-8) through `ModuleOptimizer`. After each
//! phase, one element of its output is read back with `into_data_async` as a sync point (flex runs
//! eagerly, so this also bounds lazy backends); the Trainer's own readback (loss and accuracy sums
//! through a `Transaction`) is done on every step here, where the Trainer does one per chunk of
//! steps.

use std::sync::Arc;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, Transaction};
use fashion_trainer::data::{Dataset, IMAGE_PIXELS};

pub const BATCH: usize = 64;

/// The base LeNet-5 of src/model.rs, with its layers reachable.
#[derive(Module, Debug)]
pub struct Net {
    conv1: Conv2d,
    pool1: AvgPool2d,
    conv2: Conv2d,
    pool2: AvgPool2d,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    relu: Relu,
}

impl Net {
    pub fn new(device: &Device) -> Self {
        let pool = AvgPool2dConfig::new([2, 2]).with_strides([2, 2]);
        Net {
            conv1: Conv2dConfig::new([1, 6], [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                .init(device),
            pool1: pool.init(),
            conv2: Conv2dConfig::new([6, 16], [5, 5]).init(device),
            pool2: pool.init(),
            fc1: LinearConfig::new(16 * 5 * 5, 120).init(device),
            fc2: LinearConfig::new(120, 84).init(device),
            fc3: LinearConfig::new(84, 10).init(device),
            relu: Relu::new(),
        }
    }
}

/// Random pixels and labels `i % 10`, as the in-browser benchmark uses.
pub fn noise_dataset(n: usize) -> Dataset {
    let mut state = 1u32;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8
    };
    let images = (0..n * IMAGE_PIXELS).map(|_| next()).collect();
    let labels = (0..n).map(|i| (i % 10) as u8).collect();
    Dataset::new(images, labels).unwrap()
}

/// Phases in step order.
pub const PHASES: [&str; 17] = [
    "batch",
    "conv1",
    "relu1",
    "pool1",
    "conv2",
    "relu2",
    "pool2",
    "fc1",
    "relu3",
    "fc2",
    "relu4",
    "fc3",
    "loss",
    "metrics",
    "backward",
    "optimizer",
    "readback",
];

/// Reads one element of `t` back: the sync point after a phase.
async fn sync<const D: usize>(t: &Tensor<D>) {
    let one: Tensor<1> = t.clone().detach().flatten(0, D - 1).slice(0..1);
    one.into_data_async().await.unwrap();
}

/// Milliseconds per step of each phase (in [`PHASES`] order), averaged over `steps` steps after
/// `warmup` ones. `now` gives seconds; `between_steps` runs (untimed) after every step.
pub async fn profile<F: Future<Output = ()>>(
    device: &Device,
    warmup: usize,
    steps: usize,
    now: impl Fn() -> f64,
    between_steps: impl Fn() -> F,
) -> Vec<(&'static str, f64)> {
    let device = device.clone().autodiff();
    device.seed(42);
    let data = Arc::new(noise_dataset((warmup + steps) * BATCH));
    let mut model = Net::new(&device).train();
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut totals = [0.0f64; PHASES.len()];
    for step in 0..warmup + steps {
        let mut times = [0.0f64; PHASES.len()];
        let mut phase = 0;
        let mut t = now();
        let mut lap = |times: &mut [f64; PHASES.len()]| {
            let n = now();
            times[phase] += n - t;
            t = n;
            phase += 1;
        };

        let indices: Vec<usize> = (step * BATCH..(step + 1) * BATCH).collect();
        let (images, targets) = data.batch(&indices, &device);
        sync(&images).await;
        lap(&mut times);

        let x = model.conv1.forward(images);
        sync(&x).await;
        lap(&mut times);
        let x = model.relu.forward(x);
        sync(&x).await;
        lap(&mut times);
        let x = model.pool1.forward(x);
        sync(&x).await;
        lap(&mut times);
        let x = model.conv2.forward(x);
        sync(&x).await;
        lap(&mut times);
        let x = model.relu.forward(x);
        sync(&x).await;
        lap(&mut times);
        let x = model.pool2.forward(x);
        sync(&x).await;
        lap(&mut times);
        let x = model.fc1.forward(x.flatten::<2>(1, 3));
        sync(&x).await;
        lap(&mut times);
        let x = model.relu.forward(x);
        sync(&x).await;
        lap(&mut times);
        let x = model.fc2.forward(x);
        sync(&x).await;
        lap(&mut times);
        let x = model.relu.forward(x);
        sync(&x).await;
        lap(&mut times);
        let logits = model.fc3.forward(x);
        sync(&logits).await;
        lap(&mut times);

        let loss = loss_fn.forward(logits.clone(), targets.clone());
        sync(&loss).await;
        lap(&mut times);

        let hits: Tensor<1, Int> = logits
            .detach()
            .argmax(1)
            .flatten::<1>(0, 1)
            .equal(targets)
            .int()
            .sum();
        let loss_sum = loss.clone().detach() * BATCH as f32;
        hits.clone().into_data_async().await.unwrap();
        sync(&loss_sum).await;
        lap(&mut times);

        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let conv1_grad = grads.get::<4>(model.conv1.weight.id).unwrap();
        sync(&conv1_grad).await;
        lap(&mut times);

        model = optimizer.step(1e-3, model, grads);
        sync(&model.conv1.weight.val()).await;
        lap(&mut times);

        Transaction::default()
            .register(loss_sum)
            .register(hits)
            .execute_async()
            .await
            .unwrap();
        lap(&mut times);

        if step >= warmup {
            for (total, time) in totals.iter_mut().zip(times) {
                *total += time;
            }
        }
        between_steps().await;
    }
    PHASES
        .iter()
        .zip(totals)
        .map(|(&name, total)| (name, 1000.0 * total / steps as f64))
        .collect()
}

/// `PROFILE <phase> <ms per step> <percent>` lines, then `PROFILE total <ms> 100.0`.
pub fn report(phases: &[(&'static str, f64)]) -> Vec<String> {
    let total: f64 = phases.iter().map(|(_, ms)| ms).sum();
    let mut lines: Vec<String> = phases
        .iter()
        .map(|(name, ms)| format!("PROFILE {name} {ms:.3} {:.1}", 100.0 * ms / total))
        .collect();
    lines.push(format!("PROFILE total {total:.3} 100.0"));
    lines
}
