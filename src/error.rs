//! The crate's error type: every failure a user can cause ends here, with a message that names
//! the file, the field or the two architectures involved.

use thiserror::Error;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core.
#[derive(Debug, Error)]
pub enum Error {
    /// A data file (IDX, shard, manifest) is malformed or inconsistent.
    #[error("{0}")]
    Data(#[from] crate::data::DataError),
    /// A photo could not be decoded or is too large.
    #[error("{0}")]
    Photo(#[from] crate::photo::PhotoError),
    /// A label map or catalogue index (`styles.csv`) is malformed.
    #[error("{0}")]
    Catalogue(String),
    /// Saved weights could not be read or do not fit the model.
    #[error("{0}")]
    Checkpoint(String),
    /// A configuration value is out of range or cannot be parsed.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The compute device failed (lost GPU, failed readback, no adapter).
    #[error("device error: {0}")]
    Device(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

impl From<burn::tensor::ExecutionError> for Error {
    fn from(err: burn::tensor::ExecutionError) -> Self {
        Error::Device(err.to_string())
    }
}
