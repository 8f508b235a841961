//! The training loop, owned by the project (burn-train's `Learner` does not build for wasm).
//!
//! Work is cut into chunks of a few batches: [`Trainer::step`] runs one chunk and returns, so
//! the caller (the CLI, a Web Worker) can report progress, pause, resume or cancel between chunks
//! while the optimizer state stays in the trainer. Loss and correct counts are accumulated on the
//! device and read back once per chunk through the async API, which is the only one that works on
//! WebGPU in a browser.

use std::sync::Arc;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};

use super::balance::ShareBalance;
use super::evaluator::{Evaluation, Evaluator, read_f64s};
use super::parallel::{Peers, StepToApply};
use super::progress::{EpochRecord, Phase, Progress};
use super::{TrainingConfig, TrainingError};
use crate::clock::now_seconds;
use crate::data::{Dataset, IMAGE_PIXELS, batch_tensors, epoch_order};
use crate::model::LeNet;

mod shared;

/// Running sums of the training part of the current epoch.
#[derive(Default)]
struct EpochTotals {
    loss_sum: f64,
    correct: u64,
    seen: usize,
    train_seconds: f64,
    val_seconds: f64,
}

/// A training run in progress: model, optimizer state, position in the data and history.
pub struct Trainer {
    config: TrainingConfig,
    device: Device,
    model: Option<LeNet>,
    optimizer: ModuleOptimizer,
    train: Arc<Dataset>,
    val: Option<Arc<Dataset>>,
    epoch: usize,
    order: Vec<usize>,
    cursor: usize,
    totals: EpochTotals,
    validation: Option<Evaluator>,
    history: Vec<EpochRecord>,
    /// Epochs finished before this trainer was made ([`Trainer::resume`]): the ETA leaves their
    /// time out, since a resumed run may be on another backend or machine.
    resumed_epochs: usize,
    best: Option<(usize, LeNet)>,
    /// The replicas sharing each batch ([`Trainer::set_peers`]); `None` trains alone.
    peers: Option<Box<dyn Peers>>,
    /// How each batch is divided between this trainer and its peers.
    balance: ShareBalance,
    /// The last step, which the peers apply with their next work.
    pending: Option<StepToApply>,
    /// Why the peers were dropped, until a progress report says it.
    peer_loss: Option<String>,
    /// Seconds a batch took in the last chunk of training and of validation
    /// ([`Trainer::batches_within`]).
    pace: ChunkPace,
}

/// Seconds per batch of the last chunk of each phase.
#[derive(Clone, Copy, Debug, Default)]
struct ChunkPace {
    train: Option<f64>,
    validate: Option<f64>,
}

/// The most batches [`Trainer::batches_within`] gives one chunk.
const MAX_CHUNK_BATCHES: usize = 512;

impl Trainer {
    /// Starts a run on `device` (an autodiff device is made from it), seeding it with the
    /// config's seed first so that weights, shuffles and dropout are reproducible.
    pub fn new(
        config: TrainingConfig,
        device: &Device,
        train: Arc<Dataset>,
        val: Option<Arc<Dataset>>,
    ) -> Result<Self, TrainingError> {
        can_train(&config, &train, val.as_deref())?;
        let device = device.clone().autodiff();
        device.seed(config.seed);
        let model = config.model.init(&device);
        Ok(Self::with_model(config, device, model, train, val))
    }

    /// Continues training `model` (for example loaded weights) under `config`.
    pub fn with_model(
        config: TrainingConfig,
        device: Device,
        model: LeNet,
        train: Arc<Dataset>,
        val: Option<Arc<Dataset>>,
    ) -> Self {
        let device = device.autodiff();
        let model = model.to_device(&device).train();
        let order = epoch_order(train.len(), config.seed, 0);
        Self {
            optimizer: config.optimizer(),
            config,
            device,
            model: Some(model),
            train,
            val,
            epoch: 0,
            order,
            cursor: 0,
            totals: EpochTotals::default(),
            validation: None,
            history: Vec::new(),
            resumed_epochs: 0,
            best: None,
            peers: None,
            balance: ShareBalance::new(1),
            pending: None,
            peer_loss: None,
            pace: ChunkPace::default(),
        }
    }

    /// Continues a run that was cut off after `history.len()` finished epochs, from the weights
    /// at that point (`latest`) and the best ones so far. Adam's moment estimates are not kept
    /// across the interruption, so the first steps after it differ from an uninterrupted run.
    pub fn resume(
        config: TrainingConfig,
        device: &Device,
        latest: LeNet,
        best: Option<(usize, LeNet)>,
        history: Vec<EpochRecord>,
        train: Arc<Dataset>,
        val: Option<Arc<Dataset>>,
    ) -> Result<Self, TrainingError> {
        can_train(&config, &train, val.as_deref())?;
        if history.len() > config.epochs {
            return Err(TrainingError::LongerThanPlanned {
                saved: history.len(),
                planned: config.epochs,
            });
        }
        let device = device.clone().autodiff();
        device.seed(config.seed.wrapping_add(history.len() as u64));
        let mut trainer = Self::with_model(config, device, latest, train, val);
        trainer.epoch = history.len();
        trainer.order = epoch_order(trainer.train.len(), trainer.config.seed, trainer.epoch);
        trainer.resumed_epochs = history.len();
        trainer.history = history;
        trainer.best = best;
        Ok(trainer)
    }

    /// Shares every training batch with `peers`, replicas of
    /// [`replica_weights`](Self::replica_weights) made since the last step. The optimizer
    /// starts afresh, as theirs do, so every replica takes the same steps.
    pub fn set_peers(&mut self, peers: Box<dyn Peers>) {
        self.optimizer = self.config.optimizer();
        self.pending = None;
        self.balance = ShareBalance::new(1 + peers.count());
        self.peers = Some(peers);
    }

    /// Splits the batches from now on by `weights` (the trainer's first), as if measured.
    #[cfg(test)]
    pub(crate) fn set_share_weights(&mut self, weights: &[f64]) {
        self.balance = ShareBalance::with_weights(weights);
    }

    /// Replicas training each batch: 1 plus the peers.
    pub fn replicas(&self) -> usize {
        1 + self.peers.as_ref().map_or(0, |p| p.count())
    }

    /// The last step, which the peers have not applied yet.
    #[cfg(test)]
    pub(crate) fn pending_gradient(&self) -> Option<StepToApply> {
        self.pending.clone()
    }

    /// The current weights as a checkpoint, for peers to replicate.
    pub async fn replica_weights(&self) -> Result<Vec<u8>, TrainingError> {
        let model = self.current_model().ok_or_else(lost_model)?;
        crate::checkpoint::to_bytes(&model, &self.config.model, Some(&self.config), "replica")
            .await
            .map_err(|e| TrainingError::Device(e.to_string()))
    }

    /// The run's configuration.
    pub fn config(&self) -> &TrainingConfig {
        &self.config
    }

    /// Finished epochs.
    pub fn history(&self) -> &[EpochRecord] {
        &self.history
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        if self.epoch >= self.config.epochs {
            Phase::Done
        } else if self.validation.is_some() {
            Phase::Validate
        } else {
            Phase::Train
        }
    }

    /// True when all epochs are finished.
    pub fn is_done(&self) -> bool {
        self.phase() == Phase::Done
    }

    /// Training batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.train.len().div_ceil(self.config.batch_size)
    }

    /// The 1-based epoch and the weights with the highest validation accuracy so far (the last
    /// epoch's when there is no validation set), in inference mode.
    pub fn best(&self) -> Option<(usize, LeNet)> {
        self.best.as_ref().map(|(e, m)| (*e, m.clone()))
    }

    /// The current weights, in inference mode.
    pub fn current_model(&self) -> Option<LeNet> {
        self.model.as_ref().map(|m| m.valid())
    }

    /// How many batches of the current phase take about `seconds`, at the pace of its last
    /// chunk: one before there is a pace (the first chunk also warms up: GPU kernels compile).
    /// Chunks of a fixed time rather than a fixed count keep a paused run answering as quickly
    /// on a slow device as on a fast one, and a fast one from reporting progress (and, with
    /// peers, breaking their pipeline) more often than anyone can see.
    pub fn batches_within(&self, seconds: f64) -> usize {
        let pace = match self.phase() {
            Phase::Train => self.pace.train,
            Phase::Validate => self.pace.validate,
            Phase::Done => None,
        };
        match pace {
            Some(per_batch) if per_batch > 0.0 => {
                ((seconds / per_batch).round() as usize).clamp(1, MAX_CHUNK_BATCHES)
            }
            _ => 1,
        }
    }

    /// Runs up to `max_batches` batches of the current phase, then returns progress.
    pub async fn step(&mut self, max_batches: usize) -> Result<Progress, TrainingError> {
        let started = now_seconds();
        let mut finished = None;
        match self.phase() {
            Phase::Done => {}
            Phase::Train => {
                let from = self.cursor;
                self.train_batches(max_batches.max(1)).await?;
                let seconds = now_seconds() - started;
                self.totals.train_seconds += seconds;
                let batches = (self.cursor - from).div_ceil(self.config.batch_size);
                if batches > 0 {
                    self.pace.train = Some(seconds / batches as f64);
                }
                if self.cursor >= self.order.len() {
                    match &self.val {
                        Some(val) => {
                            let model = self.model.as_ref().ok_or_else(lost_model)?;
                            self.validation = Some(Evaluator::new(
                                model,
                                val.clone(),
                                self.config.batch_size.max(256),
                            ));
                        }
                        None => finished = Some(self.finish_epoch(None)),
                    }
                }
            }
            Phase::Validate => {
                let validation = self.validation.as_mut().ok_or_else(lost_model)?;
                let done = validation.step(max_batches.max(1)).await?;
                let seconds = now_seconds() - started;
                self.totals.val_seconds += seconds;
                if !done {
                    // A whole chunk (the last one may be shorter).
                    self.pace.validate = Some(seconds / max_batches.max(1) as f64);
                }
                if done {
                    let evaluation = self.validation.take().ok_or_else(lost_model)?.finish();
                    finished = Some(self.finish_epoch(Some(evaluation)));
                }
            }
        }
        let mut progress = self.progress(finished);
        progress.peers_lost = self.peer_loss.take();
        Ok(progress)
    }

    async fn train_batches(&mut self, max_batches: usize) -> Result<(), TrainingError> {
        if self.peers.is_some() {
            return self.train_batches_shared(max_batches).await;
        }
        self.train_batches_alone(max_batches).await
    }

    async fn train_batches_alone(&mut self, max_batches: usize) -> Result<(), TrainingError> {
        let loss_fn = self.config.loss(&self.device);
        let mut model = self.model.take().ok_or_else(lost_model)?;
        let mut loss_sum: Option<Tensor<1>> = None;
        let mut correct: Option<Tensor<1, Int>> = None;
        let mut seen = 0;
        for _ in 0..max_batches {
            if self.cursor >= self.order.len() {
                break;
            }
            let end = (self.cursor + self.config.batch_size).min(self.order.len());
            let indices = &self.order[self.cursor..end];
            let (images, targets) = self.training_batch(indices);
            let rate = self.rate();
            self.cursor = end;
            seen += indices.len();

            let logits = model.forward(images);
            let loss = loss_fn.forward(logits.clone(), targets.clone());
            let hits = correct_count(&logits, targets);
            let weighted = loss.clone().detach() * indices.len() as f32;
            loss_sum = Some(match loss_sum {
                Some(sum) => sum + weighted,
                None => weighted,
            });
            correct = Some(match correct {
                Some(sum) => sum + hits,
                None => hits,
            });
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = self.optimizer.step(rate, model, grads);
        }
        self.model = Some(model);
        if let (Some(loss_sum), Some(correct)) = (loss_sum, correct) {
            // One tensor, so one GPU readback a chunk (a chunk's count is far below the 2^24
            // that f32 holds exactly).
            let both = Tensor::cat(vec![loss_sum, correct.float()], 0);
            let data = both.into_data_async().await?;
            let [loss_sum, correct] = read_f64s(&data)?[..] else {
                return Err(TrainingError::Device(
                    "a chunk's metrics did not read back".into(),
                ));
            };
            self.totals.loss_sum += loss_sum;
            self.totals.correct += correct as u64;
            self.totals.seen += seen;
        }
        Ok(())
    }

    /// The training images at `indices` (of the training set) as this epoch sees them:
    /// augmented when the config asks, by image index, so every replica sees the same images.
    fn training_images(&self, indices: &[usize]) -> (Vec<u8>, Vec<u8>) {
        let (mut pixels, labels) = self.train.gather(indices);
        if let Some(augmentation) = self.config.augmentation() {
            for (image, &index) in pixels.chunks_exact_mut(IMAGE_PIXELS).zip(indices) {
                augmentation.apply(image, self.config.seed, self.epoch, index);
            }
        }
        (pixels, labels)
    }

    /// [`training_images`](Self::training_images) as the model's input and targets.
    ///
    /// # Shapes
    /// - output: `[indices.len(), 1, 28, 28]` and `[indices.len()]`
    fn training_batch(&self, indices: &[usize]) -> (Tensor<4>, Tensor<1, Int>) {
        let (pixels, labels) = self.training_images(indices);
        batch_tensors(&pixels, &labels, &self.device)
    }

    /// The learning rate of the next step: the schedule's at this step of the whole run.
    fn rate(&self) -> f64 {
        let per_epoch = self.batches_per_epoch();
        let step = self.epoch * per_epoch + self.cursor / self.config.batch_size;
        self.config.rate_at(step, self.config.epochs * per_epoch)
    }

    fn finish_epoch(&mut self, validation: Option<Evaluation>) -> EpochRecord {
        let totals = std::mem::take(&mut self.totals);
        let seen = totals.seen.max(1) as f64;
        let record = EpochRecord {
            epoch: self.epoch + 1,
            train_loss: totals.loss_sum / seen,
            train_accuracy: totals.correct as f64 / seen,
            val_loss: validation.as_ref().map(|v| v.loss),
            val_accuracy: validation.as_ref().map(Evaluation::accuracy),
            seconds: totals.train_seconds + totals.val_seconds,
            images_per_second: totals.seen as f64 / totals.train_seconds.max(1e-9),
        };
        let best_so_far = self
            .history
            .iter()
            .filter_map(|r| r.val_accuracy)
            .fold(f64::NEG_INFINITY, f64::max);
        let improves = match record.val_accuracy {
            Some(acc) => acc > best_so_far,
            None => true, // no validation: keep the latest weights
        };
        if improves && let Some(model) = &self.model {
            self.best = Some((record.epoch, model.valid()));
        }
        self.history.push(record.clone());
        self.epoch += 1;
        self.cursor = 0;
        self.order = epoch_order(self.train.len(), self.config.seed, self.epoch);
        record
    }

    fn progress(&self, finished_epoch: Option<EpochRecord>) -> Progress {
        let batches_per_epoch = self.batches_per_epoch();
        let (batch, batches) = match (&self.validation, self.phase()) {
            (Some(v), _) => (v.batches_done(), v.batches()),
            (None, Phase::Done) => (batches_per_epoch, batches_per_epoch),
            (None, _) => (
                self.cursor.div_ceil(self.config.batch_size),
                batches_per_epoch,
            ),
        };
        // Between epochs (and when done) there is no running total yet: show the last epoch's.
        let (train_loss, train_accuracy) = match (self.totals.seen, self.history.last()) {
            (0, Some(last)) => (last.train_loss, last.train_accuracy),
            (seen, _) => {
                let seen = seen.max(1) as f64;
                (
                    self.totals.loss_sum / seen,
                    self.totals.correct as f64 / seen,
                )
            }
        };
        let images_per_second = if self.totals.train_seconds > 0.0 {
            self.totals.seen as f64 / self.totals.train_seconds
        } else {
            self.history.last().map_or(0.0, |r| r.images_per_second)
        };
        // Epoch progress counts validation as a fixed share of the epoch's time when it exists.
        let val_share = if self.val.is_some() { 0.1 } else { 0.0 };
        let within_epoch = match self.phase() {
            Phase::Done => 0.0,
            Phase::Train => (1.0 - val_share) * self.cursor as f64 / self.order.len().max(1) as f64,
            Phase::Validate => (1.0 - val_share) + val_share * batch as f64 / batches.max(1) as f64,
        };
        let fraction_done =
            ((self.epoch as f64 + within_epoch) / self.config.epochs as f64).min(1.0);
        // The ETA extrapolates this trainer's own pace: the epochs of a resumed run's earlier
        // session may have run on another backend, at another speed.
        let earlier_epochs = self.resumed_epochs.min(self.history.len());
        let elapsed: f64 = self.history[earlier_epochs..]
            .iter()
            .map(|r| r.seconds)
            .sum::<f64>()
            + self.totals.train_seconds
            + self.totals.val_seconds;
        let fraction_now = fraction_done - earlier_epochs as f64 / self.config.epochs as f64;
        let eta_seconds = if fraction_now > 0.0 {
            elapsed * (1.0 - fraction_done) / fraction_now
        } else {
            f64::NAN
        };
        Progress {
            epoch: (self.epoch + 1).min(self.config.epochs),
            epochs: self.config.epochs,
            phase: self.phase(),
            batch,
            batches,
            train_loss,
            train_accuracy,
            images_per_second,
            eta_seconds,
            fraction_done,
            finished_epoch,
            batch_shares: match self.peers {
                Some(_) => self.balance.sizes(self.config.batch_size),
                None => Vec::new(),
            },
            peers_lost: None,
        }
    }
}

/// How many of a batch's predictions are right, counted on the device (read back later, once
/// per chunk).
///
/// # Shapes
/// - logits: `[batch, 10]`
/// - targets: `[batch]`
/// - output: `[1]`
pub fn correct_count(logits: &Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1, Int> {
    logits
        .clone()
        .detach()
        .argmax(1)
        .flatten::<1>(0, 1)
        .equal(targets)
        .int()
        .sum()
}

/// A run can start: its config is good, it has images to fit and, when it validates, images to
/// validate on.
fn can_train(
    config: &TrainingConfig,
    train: &Dataset,
    val: Option<&Dataset>,
) -> Result<(), TrainingError> {
    config.validate()?;
    if train.is_empty() {
        return Err(TrainingError::EmptyTrainingSet);
    }
    if val.is_some_and(Dataset::is_empty) {
        return Err(TrainingError::NothingToEvaluate("validation"));
    }
    Ok(())
}

fn lost_model() -> TrainingError {
    TrainingError::LostModel
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::toy_dataset;
    use crate::model::LeNetConfig;

    fn quick_config() -> TrainingConfig {
        TrainingConfig::new(LeNetConfig::new())
            .with_epochs(2)
            .with_batch_size(32)
            .with_learning_rate(3e-3)
            .with_seed(7)
    }

    fn run(config: TrainingConfig) -> Vec<EpochRecord> {
        let data = Arc::new(toy_dataset(320));
        let mut trainer = Trainer::new(config, &Device::flex(), data.clone(), Some(data)).unwrap();
        while !trainer.is_done() {
            pollster::block_on(trainer.step(3)).unwrap();
        }
        trainer.history().to_vec()
    }

    #[test]
    fn training_learns_the_toy_task_and_keeps_history() {
        let history = run(quick_config());
        assert_eq!(history.len(), 2);
        assert!(history[1].train_loss < history[0].train_loss, "{history:?}");
        assert!(history[1].val_accuracy.unwrap() > 0.5, "{history:?}");
        assert!(history.iter().all(|r| r.images_per_second > 0.0));
    }

    #[test]
    fn chunks_are_sized_by_the_pace_of_the_last_one() {
        let data = Arc::new(toy_dataset(640));
        let mut trainer =
            Trainer::new(quick_config(), &Device::flex(), data.clone(), Some(data)).unwrap();
        // No pace yet: one batch, whatever the time asked.
        assert_eq!(trainer.batches_within(10.0), 1);
        pollster::block_on(trainer.step(2)).unwrap();
        let per_batch = trainer.pace.train.expect("a training chunk sets the pace");
        assert!(per_batch > 0.0);
        assert_eq!(trainer.batches_within(0.0), 1, "never less than a batch");
        assert_eq!(trainer.batches_within(1e9), MAX_CHUNK_BATCHES);
        let four = trainer.batches_within(4.0 * per_batch);
        assert_eq!(four, 4, "4 batches' time at {per_batch} s a batch");
        // Validation has a pace of its own (none yet when it starts).
        while trainer.phase() == Phase::Train {
            let batches = trainer.batches_within(1.0);
            pollster::block_on(trainer.step(batches)).unwrap();
        }
        assert_eq!(trainer.batches_within(10.0), 1);
    }

    #[test]
    fn a_resumed_run_continues_from_its_last_epoch() {
        let data = Arc::new(toy_dataset(320));
        let config = quick_config().with_epochs(3);
        let device = Device::flex();
        let mut first =
            Trainer::new(config.clone(), &device, data.clone(), Some(data.clone())).unwrap();
        while first.history().is_empty() {
            pollster::block_on(first.step(4)).unwrap();
        }
        let latest = first.current_model().unwrap();
        let mut resumed = Trainer::resume(
            config,
            &device,
            latest,
            first.best(),
            first.history().to_vec(),
            data.clone(),
            Some(data),
        )
        .unwrap();
        assert_eq!(resumed.progress(None).epoch, 2);
        while !resumed.is_done() {
            pollster::block_on(resumed.step(4)).unwrap();
        }
        let history = resumed.history();
        assert_eq!(
            history.iter().map(|r| r.epoch).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert!(history[2].train_loss < history[0].train_loss, "{history:?}");
    }

    #[test]
    fn a_resumed_runs_eta_follows_its_own_pace() {
        let data = Arc::new(toy_dataset(320));
        let config = quick_config().with_epochs(3);
        let device = Device::flex();
        let model = config.model.init(&device);
        // The earlier session's epoch took an hour (another backend, say).
        let slow_epoch = EpochRecord {
            epoch: 1,
            train_loss: 2.0,
            train_accuracy: 0.2,
            val_loss: Some(2.0),
            val_accuracy: Some(0.2),
            seconds: 3600.0,
            images_per_second: 0.1,
        };
        let mut resumed = Trainer::resume(
            config,
            &device,
            model,
            None,
            vec![slow_epoch],
            data.clone(),
            Some(data),
        )
        .unwrap();
        assert!(resumed.progress(None).eta_seconds.is_nan());
        pollster::block_on(resumed.step(2)).unwrap();
        let progress = resumed.progress(None);
        // An ETA from the hour-long epoch would be over an hour; this session's pace (toy
        // batches, well under a second each) gives seconds.
        assert!(progress.eta_seconds > 0.0, "{progress:?}");
        assert!(progress.eta_seconds < 600.0, "{progress:?}");
    }

    #[test]
    fn bad_configs_fail_before_training() {
        let data = Arc::new(toy_dataset(10));
        let err = Trainer::new(
            quick_config().with_batch_size(0),
            &Device::flex(),
            data,
            None,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("Batch size"), "{err}");
    }
}
