//! The crate's error type: each module has its own error enum, with a message that names the
//! file, the field or the two architectures involved; this collects them for callers that use
//! several modules (the CLI, the web facade, the run and study folders).

use thiserror::Error;

use crate::checkpoint::CheckpointError;
use crate::data::DataError;
use crate::device::DeviceError;
use crate::limits::ConfigError;
use crate::photo::PhotoError;
use crate::products::CatalogueError;
use crate::run::RunError;
use crate::study::StudyError;
use crate::training::TrainingError;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core.
#[derive(Debug, Error)]
pub enum Error {
    /// A data file (IDX, shard, manifest) is malformed or inconsistent.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A photo could not be decoded or is too large.
    #[error(transparent)]
    Photo(#[from] PhotoError),
    /// A label map or catalogue index (`styles.csv`) is malformed.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// Saved weights could not be read or do not fit the model.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A configuration value is out of range or cannot be parsed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Training or evaluation failed.
    #[error(transparent)]
    Training(#[from] TrainingError),
    /// A run could not be finished or its result is inconsistent.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A study cannot be planned, take a result or be reported.
    #[error(transparent)]
    Study(#[from] StudyError),
    /// The compute device asked for is not available.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A file could not be read or written, or holds unreadable JSON.
    #[error("{path}: {reason}")]
    File {
        /// The file involved.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// A failure to read or write `path`, and why.
    pub fn file(path: impl AsRef<std::path::Path>, reason: impl std::fmt::Display) -> Self {
        Error::File {
            path: path.as_ref().display().to_string(),
            reason: reason.to_string(),
        }
    }
}
