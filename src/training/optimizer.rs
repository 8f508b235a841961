//! The optimizer of every run: Burn's Adam, with the tiny moments it keeps flushed to zero before
//! they turn subnormal.
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
//! Tried and reverted: Adam as one loop over each parameter's values on the CPU, Burn's
//! arithmetic operation for operation (bit-equal), the values taken out of their tensors and put
//! back (commit f4cc5e2). The optimizer phase halved in the browser (0.96 -> 0.45-0.51 ms a step)
//! and fell from 0.35 to 0.21 ms natively, yet whole training in the browser ran 15-25 % slower
//! (the module before and after alternating) and natively gained 2 %, inside the noise.

use burn::optim::{Adam, AdamState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

/// Steps between flushes.
const FLUSH_EVERY: usize = 16;
/// Moments below this are zero after a flush: above `f32::MIN_POSITIVE / 0.9^FLUSH_EVERY`
/// (6.4e-38; 0.9 is Adam's `beta_1` in [`TrainingConfig::optimizer`](super::TrainingConfig::optimizer)).
const FLUSH_BELOW: f32 = 1e-37;

/// [`Adam`] whose moments do not decay into subnormal values.
#[derive(Clone)]
pub(crate) struct FlushedAdam(pub Adam);

impl Optimizer for FlushedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (tensor, state) = self.0.step(lr, tensor, grad, state);
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

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        Adam::to_device(state, device)
    }
}

/// `x` with every value smaller in magnitude than [`FLUSH_BELOW`] set to zero.
fn flush_tiny<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let tiny = x.clone().abs().lower_elem(FLUSH_BELOW);
    x.mask_fill(tiny, 0.0)
}

#[cfg(test)]
mod tests {
    use burn::optim::AdamConfig;
    use burn::tensor::TensorData;

    use super::*;

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec_as::<f32>().unwrap()
    }

    #[test]
    fn moments_of_a_silent_weight_reach_zero_without_going_subnormal() {
        let device = Device::flex();
        let adam = FlushedAdam(AdamConfig::new().with_epsilon(1e-8).build());
        let mut weights = Tensor::<1>::from_floats([0.5, -0.25], &device);
        let grad = |g: [f32; 2]| Tensor::<1>::from_floats(g, &device);
        let (w, mut state) = adam.step(1e-3, weights, grad([1e-3, 2e-3]), None);
        weights = w;
        // The first weight's gradient stays zero: 0.9^n * 1e-4 passes 1e-37 near step 720 and
        // would pass 1.2e-38 near step 740.
        let mut zero_since = None;
        for step in 1..1_000 {
            let (w, s) = adam.step(1e-3, weights, grad([0.0, 2e-3]), state);
            weights = w;
            let m = values(s.as_ref().unwrap().momentum.moment_1.clone());
            assert!(
                m.iter().all(|v| *v == 0.0 || v.abs() >= f32::MIN_POSITIVE),
                "{m:?}"
            );
            if m[0] == 0.0 {
                zero_since.get_or_insert(step);
            }
            state = s;
        }
        let zero_since = zero_since.expect("the silent moment never reached zero");
        assert!(
            (720..740).contains(&zero_since),
            "zero from step {zero_since}"
        );
        assert!(values(weights).iter().all(|v| v.is_finite()));
    }

    #[test]
    fn steps_with_normal_moments_are_adams() {
        let device = Device::flex();
        let config = AdamConfig::new().with_epsilon(1e-8);
        let (plain, flushed) = (config.build(), FlushedAdam(config.build()));
        let start = || Tensor::<1>::from_data(TensorData::from([0.5f32, -0.25, 1.0]), &device);
        let grad = || Tensor::<1>::from_floats([0.1, -0.02, 3.0], &device);
        let (mut a, mut b) = (start(), start());
        let (mut sa, mut sb) = (None, None);
        // Flushes at steps 16 and 32 find nothing to flush.
        for _ in 0..40 {
            (a, sa) = plain.step(1e-2, a, grad(), sa);
            (b, sb) = flushed.step(1e-2, b, grad(), sb);
        }
        assert_eq!(values(a), values(b));
    }
}
