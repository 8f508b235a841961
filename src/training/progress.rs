//! Where a run is: the metrics of a finished epoch ([`EpochRecord`]), the phase, and the
//! progress of a chunk of work ([`Progress`]) with the lines the CLI and the page show.

use serde::{Deserialize, Serialize};

use crate::format;
use crate::format::thousands;

/// The metrics of one finished epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training cross-entropy over the epoch (dropout active).
    pub train_loss: f64,
    /// Training top-1 accuracy over the epoch, in [0, 1].
    pub train_accuracy: f64,
    /// Validation cross-entropy (`None` when fitting on train+val).
    pub val_loss: Option<f64>,
    /// Validation top-1 accuracy in [0, 1].
    pub val_accuracy: Option<f64>,
    /// Seconds spent training and validating this epoch (pauses excluded).
    pub seconds: f64,
    /// Training images per second.
    pub images_per_second: f64,
}

/// Where a trainer is in its run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Fitting on training batches.
    Train,
    /// Evaluating the epoch's model on the validation set.
    Validate,
    /// All epochs finished.
    Done,
}

/// What one chunk of work achieved, for progress displays.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct Progress {
    /// 1-based epoch in progress (or the last one, when done).
    pub epoch: usize,
    /// Epochs in the run.
    pub epochs: usize,
    /// Current phase.
    pub phase: Phase,
    /// Batches finished in this phase of this epoch.
    pub batch: usize,
    /// Batches in this phase of this epoch.
    pub batches: usize,
    /// Mean training loss so far this epoch (the last epoch's between epochs).
    pub train_loss: f64,
    /// Training accuracy so far this epoch.
    pub train_accuracy: f64,
    /// Training images per second over this epoch so far.
    pub images_per_second: f64,
    /// Estimated seconds until the run ends.
    pub eta_seconds: f64,
    /// Fraction of the whole run done, in [0, 1].
    pub fraction_done: f64,
    /// Set when this chunk finished an epoch.
    pub finished_epoch: Option<EpochRecord>,
    /// Images of a batch each replica trains on, this trainer's first, when peers share the
    /// batches (they follow each replica's measured pace); empty when it trains alone.
    #[serde(default)]
    pub batch_shares: Vec<usize>,
    /// Set when a peer (a helper worker, a thread) failed in this chunk: why. The run goes on
    /// alone from the batch it was in.
    #[serde(default)]
    #[cfg_attr(target_family = "wasm", tsify(optional))]
    pub peers_lost: Option<String>,
}

impl EpochRecord {
    /// The epoch in words: `train top-1 90.12 %, validation top-1 89.00 % (12.3 s)`.
    pub fn summary(&self) -> String {
        let val = self
            .val_accuracy
            .map(|a| format!(", validation top-1 {}", format::percent(a)))
            .unwrap_or_default();
        format!(
            "train top-1 {}{val} ({})",
            format::percent(self.train_accuracy),
            format::duration(self.seconds)
        )
    }
}

impl Phase {
    /// The phase in words: `training`, `validating`, `done`.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Train => "training",
            Phase::Validate => "validating",
            Phase::Done => "done",
        }
    }
}

impl Progress {
    /// The progress line of the CLI and the page:
    /// `Epoch 3/15 · training · batch 120/782 · 5,432 img/s · ETA 01:23`.
    pub fn line(&self) -> String {
        format!(
            "Epoch {}/{} · {} · batch {}/{} · {} img/s{} · ETA {}",
            self.epoch,
            self.epochs,
            self.phase.describe(),
            thousands(self.batch),
            thousands(self.batches),
            thousands(self.images_per_second.round() as usize),
            self.shares_words(),
            format::clock(self.eta_seconds)
        )
    }

    /// ` · batch split 30 + 34` when replicas share the batches, else nothing.
    fn shares_words(&self) -> String {
        if self.batch_shares.len() < 2 {
            return String::new();
        }
        let shares: Vec<String> = self.batch_shares.iter().map(usize::to_string).collect();
        format!(" · batch split {}", shares.join(" + "))
    }

    /// The running training metrics: this epoch's so far, or the last epoch's once done.
    pub fn metrics_line(&self) -> String {
        let (loss, top1) = (self.train_loss, format::percent(self.train_accuracy));
        if self.phase == Phase::Done {
            format!("Last epoch: train loss {loss:.4}, train top-1 {top1}")
        } else {
            format!("Running train loss {loss:.4}, train top-1 {top1} (this epoch so far)")
        }
    }

    /// The short form for a queue of runs: `Epoch 3/15 · 17 % · ETA 01:23`.
    pub fn short_line(&self) -> String {
        format!(
            "Epoch {}/{} · {} % · ETA {}",
            self.epoch,
            self.epochs,
            (100.0 * self.fraction_done).round(),
            format::clock(self.eta_seconds)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_reads_in_words() {
        let record = EpochRecord {
            epoch: 2,
            train_loss: 0.5,
            train_accuracy: 0.9012,
            val_loss: Some(0.6),
            val_accuracy: Some(0.89),
            seconds: 12.34,
            images_per_second: 1000.0,
        };
        assert_eq!(
            record.summary(),
            "train top-1 90.12 %, validation top-1 89.00 % (12.3 s)"
        );
        let no_val = EpochRecord {
            val_loss: None,
            val_accuracy: None,
            ..record
        };
        assert_eq!(no_val.summary(), "train top-1 90.12 % (12.3 s)");
    }

    #[test]
    fn the_line_names_the_batch_split_only_when_replicas_share_it() {
        let mut progress = Progress {
            epoch: 3,
            epochs: 15,
            phase: Phase::Train,
            batch: 120,
            batches: 782,
            train_loss: 0.4,
            train_accuracy: 0.85,
            images_per_second: 5432.4,
            eta_seconds: 83.0,
            fraction_done: 0.2,
            finished_epoch: None,
            batch_shares: Vec::new(),
            peers_lost: None,
        };
        assert_eq!(
            progress.line(),
            "Epoch 3/15 · training · batch 120/782 · 5,432 img/s · ETA 01:23"
        );
        progress.batch_shares = vec![30, 34];
        assert_eq!(
            progress.line(),
            "Epoch 3/15 · training · batch 120/782 · 5,432 img/s · batch split 30 + 34 · ETA 01:23"
        );
    }
}
