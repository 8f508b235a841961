//! Options that several subcommands share, flattened into each (`#[command(flatten)]`).

use std::path::{Path, PathBuf};

use clap::Args;
use fashion_trainer::Result;
use fashion_trainer::data::{self, Dataset, Fit, Splits};
use fashion_trainer::device::{
    BackendChoice, SelectedDevice, remember_speeds, select_device, select_device_for,
};
use fashion_trainer::storage;
use fashion_trainer::training::{TrainingConfig, measure_backends};

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

    /// The device to train on with `threads` CPU threads: `auto` first times a few steps of
    /// each backend on `train` (when there is a GPU) and takes the faster.
    pub fn select_for_training(&self, threads: usize, train: &Dataset) -> Result<SelectedDevice> {
        if self.backend == BackendChoice::Auto
            && let Some(speeds) = pollster::block_on(measure_backends(train))?
        {
            remember_speeds(speeds);
        }
        let selected = pollster::block_on(select_device_for(self.backend, threads, "thread"))?;
        Ok(selected.with_threads(threads))
    }
}

/// A `--threads` value within the core's limit for workers.
fn thread_count(text: &str) -> Result<usize, String> {
    let count = fashion_trainer::limits::WORKERS
        .parse(text)
        .map_err(|e| e.message)?;
    Ok(count as usize)
}

/// How many CPU threads train.
#[derive(Args, Clone, Copy, Debug)]
pub struct ThreadsArg {
    /// Threads training each batch on the CPU backend, each with a replica of the model
    /// (data-parallel); default: every core.
    #[arg(long, value_parser = thread_count)]
    pub threads: Option<usize>,
}

impl ThreadsArg {
    /// The threads asked for, or the cores this machine has.
    pub fn count(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
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

/// Settings overriding the variant's: the model's and the recipe beyond the study (the values
/// as the page's form takes them, checked by the same rules).
#[derive(Args, Clone, Debug, Default)]
pub struct RecipeArgs {
    /// Kernels of the first convolution.
    #[arg(long)]
    pub conv1_kernels: Option<String>,
    /// Kernels of the second convolution.
    #[arg(long)]
    pub conv2_kernels: Option<String>,
    /// Dropout after fc1 and fc2, 0 to below 1.
    #[arg(long)]
    pub dropout: Option<String>,
    /// L2 weight decay.
    #[arg(long)]
    pub weight_decay: Option<String>,
    /// Augmentation: shift each training image by up to N pixels, 0-4.
    #[arg(long)]
    pub shift: Option<String>,
    /// Augmentation: chance of mirroring a training image left to right, 0-1.
    #[arg(long)]
    pub flip: Option<String>,
    /// Augmentation: chance of blanking a random rectangle of a training image, 0-1.
    #[arg(long)]
    pub erasing: Option<String>,
    /// Label smoothing of the training loss, 0 to below 1.
    #[arg(long)]
    pub label_smoothing: Option<String>,
    /// Learning-rate schedule: constant, step, cosine or one-cycle.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Pooling after each convolution: average or max.
    #[arg(long)]
    pub pooling: Option<String>,
    /// Batch normalisation after each convolution: on or off.
    #[arg(long)]
    pub batch_norm: Option<String>,
}

impl RecipeArgs {
    /// `config` with the options given, every bad one named.
    pub fn apply(&self, config: &TrainingConfig) -> Result<TrainingConfig> {
        let mut values = config.form_values();
        for (field, value) in [
            ("conv1_kernels", &self.conv1_kernels),
            ("conv2_kernels", &self.conv2_kernels),
            ("dropout", &self.dropout),
            ("weight_decay", &self.weight_decay),
            ("shift", &self.shift),
            ("flip", &self.flip),
            ("erasing", &self.erasing),
            ("label_smoothing", &self.label_smoothing),
            ("schedule", &self.schedule),
            ("pooling", &self.pooling),
            ("batch_norm", &self.batch_norm),
        ] {
            if let Some(value) = value {
                values.insert(field.to_string(), value.clone());
            }
        }
        Ok(TrainingConfig::from_form(&values)?)
    }
}
