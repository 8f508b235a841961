//! Where a training step's time goes (base LeNet-5, batch 64, Adam), phase by phase, shared by
//! the in-browser profile (benches/browser.rs) and the native one (benches/profile.rs).
//!
//! The model is the real one (`Variant::Base`), stepped one layer at a time through
//! `LeNet::layers`/`LeNet::apply`, the fold `LeNet::forward` runs; the rest of the step is the one
//! `Trainer::train_batches` runs (src/training.rs): `Dataset::batch`, cross-entropy, the on-device
//! loss/accuracy sums, backward, Adam (eps 1e-8) through `ModuleOptimizer`. After each phase, one
//! element of its output is read back with `into_data_async` as a sync point (flex runs eagerly,
//! so this also bounds lazy backends); the Trainer's own readback (loss and accuracy sums through
//! a `Transaction`) is done on every step here, where the Trainer does one per chunk of steps.

pub mod ops;

use std::sync::Arc;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, Transaction};
use fashion_trainer::data::{Dataset, IMAGE_PIXELS};
use fashion_trainer::model::{Activation, Layer};
use fashion_trainer::presets::Variant;
use fashion_trainer::training::correct_count;

pub const BATCH: usize = 64;

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

/// Phases after the forward pass, in step order.
const AFTER_FORWARD: [&str; 5] = ["loss", "metrics", "backward", "optimizer", "readback"];

/// Whether a layer gets a phase of its own: flatten is a reshape with no arithmetic, so it has no
/// sync point and its time counts toward the next layer's (fc1).
fn timed(layer: Layer) -> bool {
    layer != Layer::Flatten
}

/// Reads one element of `t` back: the sync point after a phase.
async fn sync<const D: usize>(t: &Tensor<D>) {
    let one: Tensor<1> = t.clone().detach().flatten(0, D - 1).slice(0..1);
    one.into_data_async().await.unwrap();
}

async fn sync_activation(x: &Activation) {
    match x {
        Activation::Maps(t) => sync(t).await,
        Activation::Flat(t) => sync(t).await,
    }
}

/// The first element of a module's first parameter (conv1's weight), or of its gradient: the
/// sync point after backward and after Adam.
struct FirstParam<'a> {
    grads: Option<&'a GradientsParams>,
    value: Option<Tensor<1>>,
}

impl ModuleVisitor for FirstParam<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.value.is_none() {
            let t = match self.grads {
                Some(grads) => grads.get::<D>(param.id),
                None => Some(param.val()),
            };
            self.value = t.map(|t| t.detach().flatten(0, D - 1).slice(0..1));
        }
    }
}

async fn sync_first_param(model: &impl Module, grads: Option<&GradientsParams>) {
    let mut first = FirstParam { grads, value: None };
    model.visit(&mut first);
    sync(&first.value.expect("the model has parameters")).await;
}

/// Milliseconds per step of each phase, in step order (`batch`, the layers by
/// `Layer::name`, then `loss`, `metrics`, `backward`, `optimizer`, `readback`), averaged over
/// `steps` steps after `warmup` ones. `now` gives seconds; `between_steps` runs (untimed) after
/// every step.
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
    let config = Variant::Base.config();
    let mut model = config.model.init(&device).train();
    let mut optimizer = config.optimizer();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let layers = model.layers();
    let phases: Vec<&'static str> = std::iter::once("batch")
        .chain(
            layers
                .iter()
                .copied()
                .filter(|&l| timed(l))
                .map(Layer::name),
        )
        .chain(AFTER_FORWARD)
        .collect();
    let mut totals = vec![0.0f64; phases.len()];
    for step in 0..warmup + steps {
        let mut times = vec![0.0f64; phases.len()];
        let mut phase = 0;
        let mut t = now();
        let mut lap = |times: &mut [f64]| {
            let n = now();
            times[phase] += n - t;
            t = n;
            phase += 1;
        };

        let indices: Vec<usize> = (step * BATCH..(step + 1) * BATCH).collect();
        let (images, targets) = data.batch(&indices, &device);
        sync(&images).await;
        lap(&mut times);

        let mut x = Activation::Maps(images);
        for &layer in &layers {
            x = model.apply(layer, x);
            if timed(layer) {
                sync_activation(&x).await;
                lap(&mut times);
            }
        }
        let logits = x.into_flat();

        let loss = loss_fn.forward(logits.clone(), targets.clone());
        sync(&loss).await;
        lap(&mut times);

        let hits = correct_count(&logits, targets);
        let loss_sum = loss.clone().detach() * BATCH as f32;
        hits.clone().into_data_async().await.unwrap();
        sync(&loss_sum).await;
        lap(&mut times);

        let grads = GradientsParams::from_grads(loss.backward(), &model);
        sync_first_param(&model, Some(&grads)).await;
        lap(&mut times);

        model = optimizer.step(config.learning_rate, model, grads);
        sync_first_param(&model, None).await;
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
    phases
        .into_iter()
        .zip(totals)
        .map(|(name, total)| (name, 1000.0 * total / steps as f64))
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
