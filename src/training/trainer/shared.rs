//! Training with peers: each batch split between the [`Trainer`] and its replicas, the
//! gradients summed, one step taken by every replica (`training/parallel.rs`).

use std::sync::Arc;

use super::{Trainer, lost_model};
use crate::clock::now_seconds;
use crate::training::TrainingError;
use crate::training::parallel::{
    Peers, ShardWork, StepToApply, apply_gradient, check_gradient, share_gradient, sum_gradients,
};

/// Why shared training stopped: a peer failed (the trainer goes on alone), or its own work.
enum Stop {
    Peer(TrainingError),
    Own(TrainingError),
}

impl Trainer {
    /// [`train_batches`](Self::train_batches) with each batch split between this trainer and
    /// its peers: they compute their shares' gradients while it computes its own, it sums them,
    /// steps, and sends the sum with their next work.
    pub(super) async fn train_batches_shared(
        &mut self,
        max_batches: usize,
    ) -> Result<(), TrainingError> {
        let mut peers = self.peers.take().ok_or_else(lost_model)?;
        match self.share_batches(peers.as_mut(), max_batches).await {
            Ok(()) => {
                self.peers = Some(peers);
                Ok(())
            }
            Err(Stop::Own(err)) => {
                self.peers = Some(peers);
                Err(err)
            }
            // A peer failed (a crashed worker or thread): nothing of the batch in hand was
            // applied, so the run goes on alone from it, and says so once.
            Err(Stop::Peer(err)) => {
                drop(peers);
                self.pending = None;
                self.peer_loss = Some(err.to_string());
                self.train_batches_alone(max_batches).await
            }
        }
    }

    async fn share_batches(
        &mut self,
        peers: &mut dyn Peers,
        max_batches: usize,
    ) -> Result<(), Stop> {
        let loss_fn = self.config.loss(&self.device);
        // One peer gets the trainer's own gradient as soon as it is computed and adds its own
        // (ShardWork::apply_adds_own); more peers need every other's, so they get the sum.
        let swap = peers.count() == 1;
        // The trainer's part of the batch in hand once the peers have theirs (sent with the last
        // step): the shares of a batch are fixed when it is sent.
        let mut own_part: Option<usize> = None;
        // When the last step's results came in: a step lasts from one to the next.
        let mut last_results: Option<f64> = None;
        for done in 0..max_batches {
            if self.cursor >= self.order.len() {
                break;
            }
            let end = (self.cursor + self.config.batch_size).min(self.order.len());
            let own_len = match own_part {
                Some(len) => len,
                None => {
                    let pending = self.pending.take();
                    let (own_len, work) = self.shares_of(self.cursor..end, pending);
                    peers.send(work).map_err(Stop::Peer)?;
                    own_len
                }
            };
            let indices = &self.order[self.cursor..end];
            let (images, targets) = self.training_batch(&indices[..own_len]);
            let model = self
                .model
                .as_ref()
                .ok_or_else(lost_model)
                .map_err(Stop::Own)?;
            let own = share_gradient(model, &loss_fn, images, targets, indices.len()).await;
            let rate = self.rate();
            // The peers get the next batch of this chunk with this step at once, so their
            // optimizer step runs beside this one instead of after it; the last batch's step
            // waits for the next chunk.
            let next = (done + 1 < max_batches && end < self.order.len())
                .then(|| end..(end + self.config.batch_size).min(self.order.len()));
            let mut hand_on = |step: StepToApply, peers: &mut dyn Peers| match &next {
                Some(next) => {
                    let (own_len, work) = self.shares_of(next.clone(), Some(step));
                    peers.send(work).map_err(Stop::Peer).map(|()| Some(own_len))
                }
                None => {
                    self.pending = Some(step);
                    Ok(None)
                }
            };
            own_part = None;
            if let (true, Ok(own)) = (swap, &own) {
                let step = StepToApply {
                    gradient: Arc::clone(&own.gradient),
                    adds_own: true,
                    rate,
                };
                own_part = hand_on(step, peers)?;
            }
            // The peers' results are taken even when this share failed, so none is left
            // waiting.
            let waited_from = now_seconds();
            let others = peers.receive().await.map_err(Stop::Peer)?;
            let results_at = now_seconds();
            let idle: Vec<f64> = std::iter::once(results_at - waited_from)
                .chain(others.iter().map(|other| other.idle_seconds))
                .collect();
            let mut sum = own.map_err(Stop::Own)?;
            for other in &others {
                check_gradient(sum.gradient.len(), &other.gradient).map_err(Stop::Peer)?;
                sum.loss_sum += other.loss_sum;
                sum.correct += other.correct;
            }
            let mut shares: Vec<&[f32]> = std::iter::once(&sum.gradient)
                .chain(others.iter().map(|other| &other.gradient))
                .map(|gradient| &gradient[..])
                .collect();
            // Several peers need the sum itself; with one, each side adds the other's share as
            // it steps.
            let summed;
            if !swap {
                summed = Arc::new(sum_gradients(&shares));
                let step = StepToApply {
                    gradient: summed.clone(),
                    adds_own: false,
                    rate,
                };
                own_part = hand_on(step, peers)?;
                shares = vec![&summed[..]];
            }
            if let Some(last) = last_results {
                self.balance.follow(results_at - last, &idle);
            }
            last_results = Some(results_at);
            let model = self
                .model
                .take()
                .ok_or_else(lost_model)
                .map_err(Stop::Own)?;
            let stepped = apply_gradient(&mut self.optimizer, rate, model, &shares, &self.device)
                .map_err(Stop::Own)?;
            self.model = Some(stepped);
            self.totals.loss_sum += sum.loss_sum;
            self.totals.correct += sum.correct;
            self.totals.seen += end - self.cursor;
            self.cursor = end;
        }
        Ok(())
    }

    /// Splits the batch at `positions` of this epoch's order: the length of the trainer's own
    /// share (its first images) and the peers' shares, each to apply `apply` first.
    fn shares_of(
        &self,
        positions: std::ops::Range<usize>,
        apply: Option<StepToApply>,
    ) -> (usize, Vec<ShardWork>) {
        let indices = &self.order[positions];
        let shares = self.balance.split(indices);
        let work = shares[1..]
            .iter()
            .map(|share| {
                let (images, labels) = self.training_images(share);
                ShardWork {
                    apply: apply.as_ref().map(|step| step.gradient.clone()),
                    apply_adds_own: apply.as_ref().is_some_and(|step| step.adds_own),
                    apply_rate: apply.as_ref().map_or(0.0, |step| step.rate),
                    images,
                    labels,
                    batch_len: indices.len(),
                }
            })
            .collect();
        (shares[0].len(), work)
    }
}
