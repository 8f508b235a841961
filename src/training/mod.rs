//! Training and evaluation: the config of a run ([`TrainingConfig`]), the chunked training loop
//! ([`Trainer`]) and evaluation of a model on a data set ([`Evaluator`]).

mod balance;
mod config;
mod evaluator;
mod optimizer;
mod parallel;
mod probe;
mod progress;
mod recipe;
mod trainer;

pub use config::{FormValues, TrainingConfig};
pub use evaluator::{Evaluation, Evaluator};
#[cfg(not(target_family = "wasm"))]
pub use parallel::ThreadPeers;
pub use parallel::{PeerResults, Peers, Replica, ShardResult, ShardWork};
pub use probe::{PROBE_SECONDS, measure_backends, measure_speed};
pub use progress::{EpochRecord, Phase, Progress};
pub use recipe::{Augmentation, Schedule};
pub use trainer::{Trainer, correct_count};

use thiserror::Error;

use crate::limits::ConfigError;

/// Why a run could not start or stopped.
#[derive(Debug, Error)]
pub enum TrainingError {
    /// A config field is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No training image was selected.
    #[error("the training set is empty")]
    EmptyTrainingSet,
    /// An evaluation (validation, test, a catalogue) was given no image: a score of it would be
    /// a meaningless 0 %.
    #[error("the {0} set is empty: there are no images to evaluate")]
    NothingToEvaluate(&'static str),
    /// A saved run has more epochs than its config plans.
    #[error("the saved run has {saved} epochs but its config asks for {planned}")]
    LongerThanPlanned {
        /// Epochs saved.
        saved: usize,
        /// Epochs in the config.
        planned: usize,
    },
    /// A replica training beside the trainer (a helper worker, a thread) failed: why.
    #[error("{0}")]
    Peer(String),
    /// The compute device failed (a lost GPU, a failed readback).
    #[error("device error: {0}")]
    Device(String),
    /// An earlier failure left the trainer without a model.
    #[error("the model was lost after an earlier failure; start the run again")]
    LostModel,
}

impl From<burn::tensor::ExecutionError> for TrainingError {
    fn from(err: burn::tensor::ExecutionError) -> Self {
        TrainingError::Device(err.to_string())
    }
}
