//! Data-parallel training: the trainer splits every batch between itself and its peers (threads
//! natively, Web Workers in the page), each replica computes the gradient of its share, the
//! gradients are summed and every replica applies the same optimizer step, so all of them hold
//! the same weights and the run is the training of one replica up to float rounding.
//!
//! Gradients cross between replicas as one flat `f32` vector, parameters in the order the model
//! visits them, so replicas whose parameter ids differ (built from the same weights in another
//! worker) agree on what each number is. The gradient of one step travels with the next step's
//! work ([`ShardWork::apply`]): one message each way per peer and step. With one peer the two
//! swap their own gradients and each sums them: the trainer sends its own as soon as it has it,
//! so the peer waits for one message per step, not for its gradient's round trip to the trainer
//! and the sum's way back (in the page on two cores the waits fell from ~0.9 to ~0.3 ms a step).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLoss;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData, Transaction};

use super::evaluator::{read_f64s, read_i64s};
use super::trainer::correct_count;
use super::{TrainingConfig, TrainingError};
use crate::checkpoint::Checkpoint;
use crate::clock::now_seconds;
use crate::data::Dataset;
use crate::model::LeNet;

/// One replica's share of a training batch.
#[derive(Clone, Debug, Default)]
pub struct ShardWork {
    /// The gradient of the previous step, to apply before this share (`None` before the first
    /// step): the sum of every replica's, or with [`apply_adds_own`](Self::apply_adds_own) the
    /// trainer's own.
    pub apply: Option<Arc<Vec<f32>>>,
    /// `apply` is the trainer's share of the step's gradient: the replica adds the one it
    /// computed last (one peer: the trainer sends its share without waiting for the peer's).
    pub apply_adds_own: bool,
    /// The learning rate to apply it with (the schedule's at that step).
    pub apply_rate: f64,
    /// The share's images, 784 `u8` pixels each, one after another.
    pub images: Vec<u8>,
    /// Their labels.
    pub labels: Vec<u8>,
    /// Images in the whole batch: a share's loss is weighted by its part of the batch, so the
    /// replicas' gradients sum to the gradient of the batch's mean loss.
    pub batch_len: usize,
}

/// What a replica computed on its share.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShardResult {
    /// The gradient, flat, parameters in visiting order; empty for an empty share. Shared, not
    /// copied: a replica keeps its own for the next step ([`ShardWork::apply_adds_own`]).
    pub gradient: Arc<Vec<f32>>,
    /// The share's summed cross-entropy (mean loss times its images).
    pub loss_sum: f64,
    /// Right predictions in the share.
    pub correct: u64,
    /// Seconds the replica sat idle between its last result and this work (0 for its first):
    /// the trainer sizes the shares by it ([`ShareBalance`](super::balance::ShareBalance)).
    pub idle_seconds: f64,
}

/// A step's gradient that the peers apply with their next work ([`ShardWork::apply`]).
#[derive(Clone, Debug)]
pub(crate) struct StepToApply {
    /// The summed gradient, or with `adds_own` the trainer's share of it.
    pub gradient: Arc<Vec<f32>>,
    /// See [`ShardWork::apply_adds_own`].
    pub adds_own: bool,
    /// The learning rate of the step.
    pub rate: f64,
}

/// A future of the peers' results (not `Send`: in a browser it awaits JS promises).
pub type PeerResults<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<ShardResult>, TrainingError>> + 'a>>;

/// The replicas that train beside a [`Trainer`](super::Trainer)'s own.
pub trait Peers {
    /// How many peers there are.
    fn count(&self) -> usize;
    /// Hands each peer its work, without waiting (`work.len() == count()`).
    fn send(&mut self, work: Vec<ShardWork>) -> Result<(), TrainingError>;
    /// The results of the last [`send`](Peers::send), in peer order.
    fn receive(&mut self) -> PeerResults<'_>;
}

/// The gradient of `model`'s loss on one share of a batch of `batch_len` images, flat, with the
/// share's loss sum and right predictions; one readback for all of them.
///
/// # Shapes
/// - images: `[share, 1, 28, 28]`
/// - targets: `[share]`
pub(crate) async fn share_gradient(
    model: &LeNet,
    loss_fn: &CrossEntropyLoss,
    images: Tensor<4>,
    targets: Tensor<1, Int>,
    batch_len: usize,
) -> Result<ShardResult, TrainingError> {
    let share = targets.dims()[0];
    let logits = model.forward(images);
    let loss = loss_fn.forward(logits.clone(), targets.clone());
    let hits = correct_count(&logits, targets);
    // Gradients live off the autodiff graph; a transaction reads tensors of one backend.
    let loss_sum = loss.clone().detach().inner() * share as f32;
    let weighted = loss * (share as f32 / batch_len.max(1) as f32);
    let mut grads = GradientsParams::from_grads(weighted.backward(), model);
    let mut flat = Flatten {
        grads: &mut grads,
        parts: Vec::new(),
    };
    model.visit(&mut flat);
    let data = Transaction::default()
        .register(Tensor::cat(flat.parts, 0))
        .register(loss_sum)
        .register(hits)
        .execute_async()
        .await?;
    let [gradient, loss_sum, hits]: [TensorData; 3] = data
        .try_into()
        .map_err(|_| TrainingError::Device("a gradient's readback came back short".into()))?;
    // Taken, not copied: the readback's buffer becomes the gradient.
    let gradient = gradient
        .try_into_vec_as::<f32>()
        .map_err(|e| TrainingError::Device(format!("unexpected gradient data: {e:?}")))?;
    Ok(ShardResult {
        gradient: Arc::new(gradient),
        loss_sum: read_f64s(&loss_sum)?[0],
        correct: read_i64s(&hits)?[0] as u64,
        idle_seconds: 0.0,
    })
}

/// Applies one optimizer step to `model` with the sum of the flat gradients `shares` (visiting
/// order; an empty one is a share without images), added in their order as each parameter's
/// gradient is built: the sum takes no pass or buffer of its own.
pub(crate) fn apply_gradient(
    optimizer: &mut ModuleOptimizer,
    learning_rate: f64,
    model: LeNet,
    shares: &[&[f32]],
    device: &Device,
) -> Result<LeNet, TrainingError> {
    let shares: Vec<&[f32]> = shares.iter().copied().filter(|s| !s.is_empty()).collect();
    let len = shares.first().map_or(0, |share| share.len());
    if let Some(other) = shares.iter().find(|share| share.len() != len) {
        return Err(gradient_size(other.len(), len));
    }
    let mut unflatten = Unflatten {
        shares: &shares,
        at: 0,
        device: device.clone().inner(),
        grads: GradientsParams::new(),
    };
    model.visit(&mut unflatten);
    if unflatten.at != len {
        return Err(TrainingError::Device(format!(
            "a replica's gradient has {len} values but the model has {} parameters",
            unflatten.at
        )));
    }
    Ok(optimizer.step(learning_rate, model, unflatten.grads))
}

/// The sum of the flat gradients `shares` (the non-empty ones of one length, as
/// [`check_gradient`] makes sure), added in their order as [`apply_gradient`] adds them: the same
/// values, bit for bit.
pub(crate) fn sum_gradients(shares: &[&[f32]]) -> Vec<f32> {
    let len = shares.iter().map(|share| share.len()).max().unwrap_or(0);
    sum_range(shares, 0..len).unwrap_or_default()
}

/// Refuses a peer's gradient that is not empty and not `len` values long.
pub(crate) fn check_gradient(len: usize, other: &[f32]) -> Result<(), TrainingError> {
    match other.len() {
        0 => Ok(()),
        n if n == len => Ok(()),
        n => Err(gradient_size(n, len)),
    }
}

fn gradient_size(got: usize, len: usize) -> TrainingError {
    TrainingError::Peer(format!(
        "a peer sent a gradient of {got} values for a model of {len}"
    ))
}

/// The values at `range` of the non-empty `shares`, added in order; `None` if all are empty or
/// one is too short.
fn sum_range(shares: &[&[f32]], range: std::ops::Range<usize>) -> Option<Vec<f32>> {
    let mut parts = shares
        .iter()
        .filter(|share| !share.is_empty())
        .map(|share| share.get(range.clone()));
    let mut sum = parts.next()??.to_vec();
    for part in parts {
        sum.iter_mut().zip(part?).for_each(|(s, value)| *s += value);
    }
    Some(sum)
}

/// Takes every parameter's gradient out of `grads`, flattened, in visiting order (zeros for a
/// parameter that got none, so the layout never depends on the batch). State that is not
/// trained (a batch norm's running statistics) has no place in it.
struct Flatten<'a> {
    grads: &'a mut GradientsParams,
    parts: Vec<Tensor<1>>,
}

impl ModuleVisitor for Flatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.val().is_require_grad() {
            return;
        }
        let part = match self.grads.remove::<D>(param.id) {
            Some(grad) => grad.flatten::<1>(0, D - 1),
            None => {
                let value = param.val();
                Tensor::zeros([value.shape().num_elements()], &value.device().inner())
            }
        };
        self.parts.push(part);
    }
}

/// Registers the slices of the sum of flat gradients under the visited parameters' ids.
struct Unflatten<'a> {
    /// Non-empty, of one length.
    shares: &'a [&'a [f32]],
    at: usize,
    device: Device,
    grads: GradientsParams,
}

impl ModuleVisitor for Unflatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        if !value.is_require_grad() {
            return;
        }
        let shape = value.shape();
        let end = self.at + shape.num_elements();
        if let Some(values) = sum_range(self.shares, self.at..end) {
            let grad = Tensor::<D>::from_data(TensorData::new(values, shape), &self.device);
            self.grads.register(param.id, grad);
        }
        self.at = end;
    }
}

/// A peer's copy of the model and its optimizer, fed [`ShardWork`] by the trainer.
pub struct Replica {
    device: Device,
    model: Option<LeNet>,
    optimizer: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    /// The gradient of its last share, for a step whose work carries only the trainer's.
    last_gradient: Arc<Vec<f32>>,
    /// When it returned its last result ([`now_seconds`]).
    finished_at: Option<f64>,
}

impl Replica {
    /// A replica of the weights in `checkpoint` (the trainer's, from
    /// [`Trainer::replica_weights`](super::Trainer::replica_weights)) on `device`, with a fresh
    /// optimizer, as the trainer's own once it has peers. `seed` seeds its dropout.
    pub fn new(
        config: TrainingConfig,
        device: &Device,
        checkpoint: &[u8],
        seed: u64,
    ) -> Result<Self, TrainingError> {
        let device = device.clone().autodiff();
        device.seed(seed);
        let model = Checkpoint::from_bytes(checkpoint)
            .and_then(|c| c.build_as(&config.model, "", &device))
            .map_err(|e| TrainingError::Device(format!("a replica's weights: {e}")))?;
        Ok(Self {
            optimizer: config.optimizer(),
            loss_fn: config.loss(&device),
            model: Some(model.train()),
            device,
            last_gradient: Arc::default(),
            finished_at: None,
        })
    }

    /// Applies the gradient the work carries, then computes the gradient of its share.
    pub async fn work(&mut self, work: ShardWork) -> Result<ShardResult, TrainingError> {
        let idle_seconds = self.finished_at.map_or(0.0, |at| now_seconds() - at);
        let result = self.compute(work).await;
        self.finished_at = Some(now_seconds());
        result.map(|result| ShardResult {
            idle_seconds,
            ..result
        })
    }

    async fn compute(&mut self, work: ShardWork) -> Result<ShardResult, TrainingError> {
        let mut model = self.model.take().ok_or(TrainingError::LostModel)?;
        let own = std::mem::take(&mut self.last_gradient);
        if let Some(gradient) = &work.apply {
            // The trainer's share first, as the trainer adds them: the same sum, bit for bit
            // (apply_gradient refuses shares of different lengths).
            let shares: &[&[f32]] = if work.apply_adds_own {
                &[gradient, &own]
            } else {
                &[gradient]
            };
            model = apply_gradient(
                &mut self.optimizer,
                work.apply_rate,
                model,
                shares,
                &self.device,
            )?;
        }
        self.model = Some(model);
        if work.labels.is_empty() {
            return Ok(ShardResult::default());
        }
        let share = Dataset::new(work.images, work.labels)
            .map_err(|e| TrainingError::Device(format!("a replica's share: {e}")))?;
        let indices: Vec<usize> = (0..share.len()).collect();
        let (images, targets) = share.batch(&indices, &self.device);
        let model = self.model.as_ref().ok_or(TrainingError::LostModel)?;
        let result = share_gradient(model, &self.loss_fn, images, targets, work.batch_len).await?;
        self.last_gradient = Arc::clone(&result.gradient);
        Ok(result)
    }

    /// The replica's weights, in inference mode (tests check they match the trainer's).
    pub fn current_model(&self) -> Option<LeNet> {
        self.model.as_ref().map(|m| m.valid())
    }
}

#[cfg(not(target_family = "wasm"))]
pub use threads::ThreadPeers;

#[cfg(not(target_family = "wasm"))]
mod threads {
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::thread::JoinHandle;

    use super::*;

    type Reply = Result<ShardResult, String>;

    /// One peer's thread and its two channels.
    struct PeerThread {
        work: Sender<ShardWork>,
        replies: Receiver<Reply>,
        handle: Option<JoinHandle<()>>,
    }

    /// Peers on threads of this process (the CLI's `--threads`), each with a [`Replica`] on the
    /// CPU.
    pub struct ThreadPeers {
        workers: Vec<PeerThread>,
    }

    impl ThreadPeers {
        /// Starts `count` peers replicating `checkpoint` under `config`.
        pub fn spawn(
            count: usize,
            config: &TrainingConfig,
            checkpoint: &[u8],
        ) -> Result<Self, TrainingError> {
            let mut workers = Vec::with_capacity(count);
            for peer in 0..count {
                let (work_tx, work_rx) = channel::<ShardWork>();
                let (reply_tx, reply_rx) = channel::<Reply>();
                let (config, checkpoint) = (config.clone(), checkpoint.to_vec());
                let seed = config.seed.wrapping_add(1 + peer as u64);
                let handle = std::thread::Builder::new()
                    .name(format!("replica-{}", peer + 1))
                    .spawn(move || {
                        let replica = Replica::new(config, &Device::flex(), &checkpoint, seed);
                        let mut replica = match replica {
                            Ok(replica) => replica,
                            Err(e) => {
                                let _ = reply_tx.send(Err(e.to_string()));
                                return;
                            }
                        };
                        for work in work_rx {
                            let reply = pollster::block_on(replica.work(work));
                            if reply_tx.send(reply.map_err(|e| e.to_string())).is_err() {
                                return;
                            }
                        }
                    })
                    .map_err(|e| TrainingError::Device(format!("cannot start a thread: {e}")))?;
                workers.push(PeerThread {
                    work: work_tx,
                    replies: reply_rx,
                    handle: Some(handle),
                });
            }
            Ok(Self { workers })
        }
    }

    impl Peers for ThreadPeers {
        fn count(&self) -> usize {
            self.workers.len()
        }

        fn send(&mut self, work: Vec<ShardWork>) -> Result<(), TrainingError> {
            for (peer, work) in self.workers.iter().zip(work) {
                peer.work.send(work).map_err(|_| peer_stopped())?;
            }
            Ok(())
        }

        fn receive(&mut self) -> PeerResults<'_> {
            let results = self
                .workers
                .iter()
                .map(|peer| match peer.replies.recv() {
                    Ok(reply) => reply.map_err(TrainingError::Peer),
                    Err(_) => Err(peer_stopped()),
                })
                .collect();
            Box::pin(std::future::ready(results))
        }
    }

    impl Drop for ThreadPeers {
        fn drop(&mut self) {
            for peer in &mut self.workers {
                // Closing the work channel ends the thread's loop.
                drop(std::mem::replace(&mut peer.work, channel().0));
                if let Some(handle) = peer.handle.take() {
                    let _ = handle.join();
                }
            }
        }
    }

    impl crate::training::Trainer {
        /// Trains each batch on `threads` threads: this one and `threads - 1` peers (none
        /// for 1). Only the CPU backend replicates: on a GPU one device does the work.
        pub async fn share_with_threads(&mut self, threads: usize) -> Result<(), TrainingError> {
            if threads > 1 {
                let weights = self.replica_weights().await?;
                let peers = ThreadPeers::spawn(threads - 1, self.config(), &weights)?;
                self.set_peers(Box::new(peers));
            }
            Ok(())
        }
    }

    fn peer_stopped() -> TrainingError {
        TrainingError::Peer("a training thread stopped".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::toy_dataset;
    use crate::model::LeNetConfig;
    use crate::training::Trainer;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    /// Peers in this thread, run one after another, shared with the test to inspect; the
    /// results of each send wait in order (one peer gets the next work before the last results
    /// are taken).
    struct LocalPeers(Rc<RefCell<Vec<Replica>>>, VecDeque<Vec<ShardResult>>);

    impl Peers for LocalPeers {
        fn count(&self) -> usize {
            self.0.borrow().len()
        }
        fn send(&mut self, work: Vec<ShardWork>) -> Result<(), TrainingError> {
            let mut results = Vec::new();
            for (replica, work) in self.0.borrow_mut().iter_mut().zip(work) {
                results.push(pollster::block_on(replica.work(work))?);
            }
            self.1.push_back(results);
            Ok(())
        }
        fn receive(&mut self) -> PeerResults<'_> {
            Box::pin(std::future::ready(Ok(self.1.pop_front().unwrap())))
        }
    }

    fn config(dropout: f64) -> TrainingConfig {
        TrainingConfig::new(LeNetConfig::new().with_dropout(dropout))
            .with_epochs(2)
            .with_batch_size(32)
            .with_learning_rate(3e-3)
            .with_seed(7)
    }

    async fn weights(model: LeNet) -> Vec<u8> {
        let config = config(0.0).model;
        crate::checkpoint::to_bytes(&model, &config, None, "")
            .await
            .unwrap()
    }

    #[test]
    fn replicas_take_the_same_steps_as_the_trainer() {
        replicas_follow_the_trainer(config(0.0), 2, None);
    }

    /// One peer: the two swap their own gradients, and each sums them.
    #[test]
    fn a_single_peer_takes_the_same_steps_as_the_trainer() {
        replicas_follow_the_trainer(config(0.0), 1, None);
    }

    /// Shares of any size (as measured paces set them) add up to the same steps.
    #[test]
    fn uneven_shares_take_the_same_steps() {
        replicas_follow_the_trainer(config(0.0), 2, Some(&[0.2, 0.5, 0.3]));
        replicas_follow_the_trainer(config(0.0), 1, Some(&[0.7, 0.3]));
    }

    /// With a schedule and augmentation too: each step's learning rate travels with its
    /// gradient, and every replica gets its share of the augmented images.
    #[test]
    fn replicas_follow_a_schedule_and_augmentation() {
        let config = config(0.0)
            .with_schedule(Some(crate::training::Schedule::OneCycle))
            .with_augmentation(Some(
                crate::training::Augmentation::new()
                    .with_shift(2)
                    .with_flip(0.5),
            ));
        replicas_follow_the_trainer(config.clone(), 2, None);
        replicas_follow_the_trainer(config, 1, None);
    }

    fn replicas_follow_the_trainer(config: TrainingConfig, peers: u64, shares: Option<&[f64]>) {
        let data = Arc::new(toy_dataset(200));
        let device = Device::flex();
        let mut trainer = Trainer::new(config.clone(), &device, data.clone(), None).unwrap();
        let bytes = pollster::block_on(trainer.replica_weights()).unwrap();
        let replicas: Vec<_> = (0..peers)
            .map(|i| Replica::new(config.clone(), &device, &bytes, i).unwrap())
            .collect();
        let replicas = Rc::new(RefCell::new(replicas));
        trainer.set_peers(Box::new(LocalPeers(replicas.clone(), VecDeque::new())));
        if let Some(shares) = shares {
            trainer.set_share_weights(shares);
        }
        assert_eq!(trainer.replicas(), 1 + peers as usize);
        // 200 images in batches of 32: the last batch (8) gives each replica a smaller share.
        while trainer.history().is_empty() {
            pollster::block_on(trainer.step(3)).unwrap();
        }
        // The peers apply the last step with their next work: an empty share syncs them.
        let step = trainer.pending_gradient().unwrap();
        assert_eq!(step.adds_own, peers == 1);
        let sync = ShardWork {
            apply: Some(step.gradient),
            apply_adds_own: step.adds_own,
            apply_rate: step.rate,
            ..ShardWork::default()
        };
        for replica in replicas.borrow_mut().iter_mut() {
            pollster::block_on(replica.work(sync.clone())).unwrap();
        }
        let ours = pollster::block_on(weights(trainer.current_model().unwrap()));
        for replica in replicas.borrow().iter() {
            let theirs = pollster::block_on(weights(replica.current_model().unwrap()));
            assert_eq!(
                ours, theirs,
                "a replica's weights drifted from the trainer's"
            );
        }
    }

    /// Peers whose worker crashes at the `fail_at`-th step.
    struct CrashingPeers {
        replica: Replica,
        steps: usize,
        fail_at: usize,
        results: VecDeque<ShardResult>,
    }

    impl Peers for CrashingPeers {
        fn count(&self) -> usize {
            1
        }
        fn send(&mut self, mut work: Vec<ShardWork>) -> Result<(), TrainingError> {
            let result = pollster::block_on(self.replica.work(work.remove(0)))?;
            self.results.push_back(result);
            Ok(())
        }
        fn receive(&mut self) -> PeerResults<'_> {
            self.steps += 1;
            let result = if self.steps == self.fail_at {
                Err(TrainingError::Peer(
                    "a helper worker crashed: RuntimeError".into(),
                ))
            } else {
                Ok(vec![self.results.pop_front().unwrap()])
            };
            Box::pin(std::future::ready(result))
        }
    }

    #[test]
    fn a_crashed_peer_leaves_the_trainer_training_alone_and_saying_so() {
        let data = Arc::new(toy_dataset(320));
        let device = Device::flex();
        let mut trainer = Trainer::new(config(0.0), &device, data.clone(), Some(data)).unwrap();
        let bytes = pollster::block_on(trainer.replica_weights()).unwrap();
        trainer.set_peers(Box::new(CrashingPeers {
            replica: Replica::new(config(0.0), &device, &bytes, 1).unwrap(),
            steps: 0,
            fail_at: 4,
            results: VecDeque::new(),
        }));
        let first = pollster::block_on(trainer.step(3)).unwrap();
        assert_eq!(first.peers_lost, None);
        assert_eq!(trainer.replicas(), 2);
        // The 4th batch fails on the peer: the chunk goes on alone from that batch.
        let second = pollster::block_on(trainer.step(3)).unwrap();
        let lost = second.peers_lost.expect("the loss is reported");
        assert_eq!(lost, "a helper worker crashed: RuntimeError");
        assert_eq!(trainer.replicas(), 1);
        assert_eq!(second.batch, 6, "no batch is skipped or counted twice");
        while !trainer.is_done() {
            let progress = pollster::block_on(trainer.step(4)).unwrap();
            assert_eq!(progress.peers_lost, None, "said once");
        }
        let history = trainer.history();
        assert!(history[1].val_accuracy.unwrap() > 0.5, "{history:?}");
    }

    #[cfg(not(target_family = "wasm"))]
    #[test]
    fn training_on_threads_learns_like_training_alone() {
        let data = Arc::new(toy_dataset(320));
        let train = |threads: usize, dropout: f64, shares: Option<&[f64]>| {
            let mut trainer = Trainer::new(
                config(dropout),
                &Device::flex(),
                data.clone(),
                Some(data.clone()),
            )
            .unwrap();
            pollster::block_on(trainer.share_with_threads(threads)).unwrap();
            if let Some(shares) = shares {
                trainer.set_share_weights(shares);
            }
            while !trainer.is_done() {
                pollster::block_on(trainer.step(4)).unwrap();
            }
            trainer.history().to_vec()
        };
        // Without dropout the same training up to float rounding, whatever the shares.
        let alone = train(1, 0.0, None);
        for shares in [None, Some(&[0.6, 0.1, 0.3][..])] {
            let shared = train(3, 0.0, shares);
            for (a, b) in alone.iter().zip(&shared) {
                assert!(
                    (a.train_loss - b.train_loss).abs() < 1e-3,
                    "alone {alone:?}\nshared {shared:?}"
                );
            }
        }
        // With dropout (each thread its own masks) it learns.
        let shared = train(3, 0.2, None);
        assert_eq!(shared.len(), 2);
        assert!(shared[1].train_loss < shared[0].train_loss, "{shared:?}");
        assert!(shared[1].val_accuracy.unwrap() > 0.5, "{shared:?}");
    }

    #[test]
    fn a_replica_refuses_weights_of_another_architecture() {
        let device = Device::flex();
        let trainer = Trainer::new(config(0.0), &device, Arc::new(toy_dataset(10)), None).unwrap();
        let bytes = pollster::block_on(trainer.replica_weights()).unwrap();
        let other = TrainingConfig::new(LeNetConfig::new().with_conv1_kernels(12));
        let err = Replica::new(other, &device, &bytes, 0).err().unwrap();
        assert!(err.to_string().contains("a replica's weights"), "{err}");
        let err = Replica::new(config(0.0), &device, b"junk", 0)
            .err()
            .unwrap();
        assert!(err.to_string().contains("a replica's weights"), "{err}");
    }

    #[test]
    fn gradients_of_another_size_are_refused() {
        let (a, b): (&[f32], &[f32]) = (&[1.0, 2.0], &[0.5, 0.5]);
        assert_eq!(sum_gradients(&[a, &[], b]), vec![1.5, 2.5]);
        assert_eq!(sum_gradients(&[&[], &[]]), Vec::<f32>::new());
        check_gradient(2, &[]).unwrap();
        let err = check_gradient(2, &[1.0]).unwrap_err();
        assert!(err.to_string().contains("gradient of 1 values"), "{err}");
        // The optimizer step refuses them too, before touching the model.
        let device = Device::flex();
        let trainer = Trainer::new(config(0.0), &device, Arc::new(toy_dataset(10)), None).unwrap();
        let bytes = pollster::block_on(trainer.replica_weights()).unwrap();
        let mut replica = Replica::new(config(0.0), &device, &bytes, 0).unwrap();
        let model = replica.model.take().unwrap();
        let (optimizer, device) = (&mut replica.optimizer, &replica.device);
        let err = apply_gradient(optimizer, 1e-3, model, &[a, &[1.0]], device)
            .err()
            .unwrap();
        assert!(err.to_string().contains("gradient of 1 values"), "{err}");
    }
}
