//! Options that several subcommands share, flattened into each (`#[command(flatten)]`).

use std::path::{Path, PathBuf};

use clap::Args;
use fashion_trainer::Result;
use fashion_trainer::data::{self, Dataset, Fit, Splits};
use fashion_trainer::device::{BackendChoice, SelectedDevice, select_device};
use fashion_trainer::storage;

/// Where Fashion-MNIST is.
#[derive(Args, Clone, Debug)]
pub struct DataArgs {
    /// Directory with the four Fashion-MNIST IDX files (default: $FASHION_MNIST_DIR,
    /// ../shared/data/fashion-mnist, data/cache).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

impl DataArgs {
    /// The official training (60,000) and test (10,000) sets.
    pub fn load(&self) -> Result<(Dataset, Dataset)> {
        Ok(data::load_idx_dir(&storage::data_dir(
            self.data.as_deref(),
        )?)?)
    }

    /// The splits of `fit`, limited for quick runs.
    pub fn splits(&self, fit: Fit, limits: &LimitArgs) -> Result<Splits> {
        let (train_all, test) = self.load()?;
        Ok(Splits::new(train_all, test, fit).limited(limits.limit_train, limits.limit_eval))
    }
}

/// Quick runs on part of the data.
#[derive(Args, Clone, Debug, Default)]
pub struct LimitArgs {
    /// Use only the first N fitting images.
    #[arg(long, value_parser = positive)]
    pub limit_train: Option<usize>,
    /// Use only the first N validation and test images.
    #[arg(long, value_parser = positive)]
    pub limit_eval: Option<usize>,
}

/// A count of at least 1, for clap: a limit of 0 would leave an empty set to score.
pub fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(err) => Err(format!("{err} (expected a whole number of at least 1)")),
    }
}

/// The compute backend.
#[derive(Args, Clone, Copy, Debug)]
pub struct BackendArg {
    /// cpu (flex), gpu (wgpu) or auto (the GPU when there is one).
    #[arg(long, default_value = "cpu")]
    pub backend: BackendChoice,
}

impl BackendArg {
    /// Initialises the device asked for.
    pub fn select(&self) -> Result<SelectedDevice> {
        Ok(pollster::block_on(select_device(self.backend))?)
    }
}

/// The weights to use.
#[derive(Args, Clone, Debug)]
pub struct ModelArg {
    /// A directory written by `train` (or a weights file).
    #[arg(long)]
    pub model: PathBuf,
}

impl ModelArg {
    /// The path given.
    pub fn path(&self) -> &Path {
        &self.model
    }
}
