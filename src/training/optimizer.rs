//! The optimizer of every run: Adam, with the tiny moments it keeps flushed to zero before they
//! turn subnormal, and on the CPU in one pass over each parameter instead of Burn's ~13 tensor
//! operations.
//!
//! The first moment of a weight whose gradient stays exactly zero (a ReLU unit that switched off)
//! decays by `beta_1` = 0.9 a step and turns subnormal (below 1.2e-38) after ~800 steps. CPUs take
//! a slow path for every subnormal operand, and WebAssembly, unlike native code, cannot switch
//! that off: in the browser (`./build.sh bench`, batches of 4 on noise, two runs alternating)
//! steps 2,500-3,000 took 4.1-5.3 ms against 1.4-1.8 ms with the flush below; natively, in five
//! of six five-epoch runs of base on Fashion-MNIST, the later epochs took up to 1.2-1.4x the
//! first's time, and whole 15-epoch runs took 116.0 s against 91.4 on one thread, 79.8 against
//! 60.0 on two (one pair each). A moment that small moves no weight: base reaches the same
//! validation top-1 either way (seed 42: 91.05 % on one thread, 90.98 % on two).
//!
//! Every [`FLUSH_EVERY`] steps, moments below [`FLUSH_BELOW`] are set to zero: in between, a
//! moment decays at most by 0.9^16 = 0.185, so one that survived a flush stays above 1.85e-38 and
//! normal until the next. Flushing every step cost up to 8 % of a step natively (8,242-9,234 img/s
//! against 8,508-9,288, three pairs); this costs a sixteenth of that.
//!
//! On the CPU (flex) Burn's Adam is ~13 element-wise tensor operations a parameter, each a pass
//! over memory with its own allocation, and every replica of a multi-core run repeats them. There
//! the same arithmetic, in the same order (so the same bits), runs as one loop over each
//! parameter's values, taken out of their tensors and put back without a copy: a step of base's
//! optimizer took 0.35 ms natively and 0.96-0.97 ms in the browser with Burn's operations, 0.21
//! and 0.45-0.51 ms in one pass (a timing test of 200 steps, three rounds; `profile_training_step`
//! of `./build.sh bench`, two alternating pairs). On a GPU, where reading values back would stall
//! the queue, Burn's operations stay.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{DType, Device, Tensor, TensorData};

/// Adam's decay rate of the first moment.
const BETA_1: f32 = 0.9;
/// Adam's decay rate of the second moment.
const BETA_2: f32 = 0.999;
/// PyTorch's and Keras's epsilon (Burn's default is 1e-5).
const EPSILON: f32 = 1e-8;
/// Steps between flushes.
const FLUSH_EVERY: usize = 16;
/// Moments below this are zero after a flush: above `f32::MIN_POSITIVE / BETA_1^FLUSH_EVERY`
/// (6.4e-38).
const FLUSH_BELOW: f32 = 1e-37;

/// Adam whose moments do not decay into subnormal values, in one pass a parameter on the CPU.
#[derive(Clone)]
pub(crate) struct FlushedAdam {
    /// Burn's, for tensors off the CPU.
    adam: Adam,
    /// The L2 penalty added to each gradient (`weight * penalty`), if any.
    weight_decay: Option<f32>,
}

impl FlushedAdam {
    /// Adam with an L2 `weight_decay` penalty (none for `None`).
    pub fn new(weight_decay: Option<f32>) -> Self {
        let adam = AdamConfig::new()
            .with_beta_1(BETA_1)
            .with_beta_2(BETA_2)
            .with_epsilon(EPSILON)
            .with_weight_decay(weight_decay.map(WeightDecayConfig::new))
            .build();
        Self { adam, weight_decay }
    }

    /// Burn's Adam step, then the flush.
    fn tensor_step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, Option<AdamState<D>>) {
        let (tensor, state) = self.adam.step(lr, tensor, grad, state);
        let state = state.map(|mut state| {
            let momentum = &mut state.momentum;
            if momentum.time % FLUSH_EVERY == 0 {
                momentum.moment_1 = flush_tiny(momentum.moment_1.clone());
                momentum.moment_2 = flush_tiny(momentum.moment_2.clone());
            }
            state
        });
        (tensor, state)
    }

    /// [`tensor_step`](Self::tensor_step) as one loop over the values, for tensors that
    /// [`run_in_one_pass`].
    fn one_pass_step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, AdamState<D>) {
        let (device, shape) = (tensor.device(), tensor.shape());
        // Taken, not copied: each tensor is the only holder of its values.
        let mut weights = f32s(tensor);
        let mut grad = f32s(grad);
        let (time, mut moment_1, mut moment_2) = match state {
            Some(AdamState { momentum }) => (
                momentum.time,
                f32s(momentum.moment_1),
                f32s(momentum.moment_2),
            ),
            None => (0, vec![0.0; weights.len()], vec![0.0; weights.len()]),
        };
        // As Burn's `AdaptiveMomentum::transform`, operation for operation.
        let time = time + 1;
        let bias_correction2_sqrt = (1.0 - BETA_2.powi(time as i32)).sqrt();
        let combined_factor = bias_correction2_sqrt / (1.0 - BETA_1.powi(time as i32));
        let epsilon = EPSILON * bias_correction2_sqrt;
        let rate = lr as f32;
        // Separate passes for the rare parts, so the main loop has no branch and vectorizes.
        if let Some(penalty) = self.weight_decay {
            grad.iter_mut()
                .zip(&weights)
                .for_each(|(g, w)| *g += *w * penalty);
        }
        let values = weights
            .iter_mut()
            .zip(&grad)
            .zip(&mut moment_1)
            .zip(&mut moment_2);
        for (((w, &g), m), v) in values {
            *m = *m * BETA_1 + g * (1.0 - BETA_1);
            *v = *v * BETA_2 + g * g * (1.0 - BETA_2);
            *w -= *m * combined_factor / (v.sqrt() + epsilon) * rate;
        }
        if time % FLUSH_EVERY == 0 {
            for x in moment_1.iter_mut().chain(&mut moment_2) {
                *x = flush_tiny_value(*x);
            }
        }
        let tensor = |values: Vec<f32>| {
            Tensor::<D>::from_data(TensorData::new(values, shape.clone()), &device)
        };
        let momentum = AdaptiveMomentumState::new(time, tensor(moment_1), tensor(moment_2));
        (tensor(weights), AdamState::new(momentum))
    }
}

impl Optimizer for FlushedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if run_in_one_pass(&tensor, &grad, state.as_ref()) {
            let (tensor, state) = self.one_pass_step(lr, tensor, grad, state);
            (tensor, Some(state))
        } else {
            self.tensor_step(lr, tensor, grad, state)
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        Adam::to_device(state, device)
    }
}

/// Whether [`FlushedAdam`] updates `tensor` in one pass: it, its gradient and its moments hold
/// `f32` values on the CPU, all of the same length.
fn run_in_one_pass<const D: usize>(
    tensor: &Tensor<D>,
    grad: &Tensor<D>,
    state: Option<&AdamState<D>>,
) -> bool {
    let moments = state.map(|s| [&s.momentum.moment_1, &s.momentum.moment_2]);
    let len = tensor.shape().num_elements();
    [tensor, grad]
        .into_iter()
        .chain(moments.into_iter().flatten())
        .all(|t| {
            t.dtype() == DType::F32
                && t.device() == Device::flex()
                && t.shape().num_elements() == len
        })
}

/// The values of a tensor that [`run_in_one_pass`] accepted (on the CPU: no wait, and no copy
/// when nothing else holds them).
fn f32s<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .try_into_vec::<f32>()
        .expect("checked by run_in_one_pass: f32 values")
}

/// `x` with every value smaller in magnitude than [`FLUSH_BELOW`] set to zero.
fn flush_tiny<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let tiny = x.clone().abs().lower_elem(FLUSH_BELOW);
    x.mask_fill(tiny, 0.0)
}

/// [`flush_tiny`] of one value.
fn flush_tiny_value(x: f32) -> f32 {
    if x.abs() < FLUSH_BELOW { 0.0 } else { x }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec_as::<f32>().unwrap()
    }

    type Step = fn(
        &FlushedAdam,
        LearningRate,
        Tensor<1>,
        Tensor<1>,
        Option<AdamState<1>>,
    ) -> (Tensor<1>, Option<AdamState<1>>);

    /// Both ways of stepping: the CPU's one pass, and Burn's tensor operations (the GPU's).
    const STEPS: [(&str, Step); 2] = [
        ("one pass", <FlushedAdam as Optimizer>::step::<1>),
        ("tensor ops", FlushedAdam::tensor_step::<1>),
    ];

    #[test]
    fn moments_of_a_silent_weight_reach_zero_without_going_subnormal() {
        for (name, step) in STEPS {
            let device = Device::flex();
            let adam = FlushedAdam::new(None);
            let mut weights = Tensor::<1>::from_floats([0.5, -0.25], &device);
            let grad = |g: [f32; 2]| Tensor::<1>::from_floats(g, &device);
            let (w, mut state) = step(&adam, 1e-3, weights, grad([1e-3, 2e-3]), None);
            weights = w;
            // The first weight's gradient stays zero: 0.9^n * 1e-4 passes 1e-37 near step 720
            // and would pass 1.2e-38 near step 740.
            let mut zero_since = None;
            for n in 1..1_000 {
                let (w, s) = step(&adam, 1e-3, weights, grad([0.0, 2e-3]), state);
                weights = w;
                let m = values(s.as_ref().unwrap().momentum.moment_1.clone());
                assert!(
                    m.iter().all(|v| *v == 0.0 || v.abs() >= f32::MIN_POSITIVE),
                    "{name}: {m:?}"
                );
                if m[0] == 0.0 {
                    zero_since.get_or_insert(n);
                }
                state = s;
            }
            let zero_since = zero_since.expect("the silent moment never reached zero");
            assert!(
                (720..740).contains(&zero_since),
                "{name}: zero from step {zero_since}"
            );
            assert!(values(weights).iter().all(|v| v.is_finite()));
        }
    }

    /// The one pass is Burn's Adam bit for bit, with and without weight decay, while no moment
    /// is tiny enough to flush.
    #[test]
    fn steps_with_normal_moments_are_adams() {
        for decay in [None, Some(5e-2)] {
            let device = Device::flex();
            let plain = AdamConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(decay.map(WeightDecayConfig::new))
                .build();
            let flushed = FlushedAdam::new(decay);
            // 1,000 values over several magnitudes, a new gradient each step: any other order
            // of operations rounds some of them differently.
            let noise = |seed: usize, scale: f32| -> Vec<f32> {
                (0..1_000)
                    .map(|i| {
                        let x = ((i * 7_919 + seed * 104_729) % 10_007) as f32 / 10_007.0 - 0.5;
                        x * scale * (1 + i % 7) as f32
                    })
                    .collect()
            };
            let start = || Tensor::<1>::from_data(TensorData::new(noise(0, 1.0), [1_000]), &device);
            let grad = |i: usize| {
                Tensor::<1>::from_data(TensorData::new(noise(i + 1, 0.1), [1_000]), &device)
            };
            let (mut a, mut b) = (start(), start());
            let (mut sa, mut sb) = (None, None);
            // Flushes at steps 16 and 32 find nothing to flush.
            for i in 0..40 {
                (a, sa) = plain.step(1e-2, a, grad(i), sa);
                (b, sb) = flushed.step(1e-2, b, grad(i), sb);
            }
            assert_eq!(values(a), values(b), "decay {decay:?}");
            let (ma, mb) = (sa.unwrap().momentum, sb.unwrap().momentum);
            assert_eq!(ma.time, mb.time);
            assert_eq!(values(ma.moment_2), values(mb.moment_2), "decay {decay:?}");
        }
    }

    /// The tensors a training step hands the optimizer (a parameter built for autodiff on the
    /// CPU, without its graph) take the one pass.
    #[test]
    fn parameters_on_the_cpu_take_the_one_pass() {
        let param = Tensor::<2>::zeros([3, 2], &Device::flex().autodiff()).require_grad();
        let tensor = param.inner();
        assert!(
            run_in_one_pass(&tensor, &tensor.clone(), None),
            "{:?}",
            tensor.device()
        );
    }
}
