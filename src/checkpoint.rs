//! Weights and configuration to and from bytes (for the browser) and files (for the CLI).
//!
//! Layout, little-endian: the magic `FTW1`, a `u32` header length, a JSON header (the model
//! config, the training config when known, a label, and the path and shape of every tensor), then
//! every tensor's values as `f32` in header order. Reading the weights back from the device goes
//! through one async transaction, so saving works on WebGPU in a browser.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData, Transaction};
use serde::{Deserialize, Serialize};

use thiserror::Error;

use crate::limits::ConfigError;
use crate::model::{LeNet, LeNetConfig};
use crate::training::TrainingConfig;

/// Why weights could not be saved or loaded.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// The bytes are not a weights file of this project.
    #[error("not a fashion-trainer weights file: {0}")]
    NotWeights(String),
    /// The file's architecture is valid but not the one expected.
    #[error("these weights are for {found} but the model is {expected}")]
    OtherArchitecture {
        /// The file's label and architecture.
        found: String,
        /// The expected label and architecture.
        expected: String,
    },
    /// The file's tensors do not fit the architecture its header names.
    #[error("weights of {label} do not fit its own architecture ({architecture}): {problems}")]
    DoesNotFit {
        /// The file's label.
        label: String,
        /// Its architecture.
        architecture: String,
        /// Each tensor that is missing, unused or of the wrong shape.
        problems: String,
    },
    /// A safetensors file that is damaged or not a LeNet of the family.
    #[error("safetensors weights: {0}")]
    Safetensors(String),
    /// The header names an architecture out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The weights could not be read back from the device.
    #[error("device error: {0}")]
    Device(String),
    /// A weights file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

impl From<burn::tensor::ExecutionError> for CheckpointError {
    fn from(err: burn::tensor::ExecutionError) -> Self {
        CheckpointError::Device(err.to_string())
    }
}

type Result<T, E = CheckpointError> = std::result::Result<T, E>;

const MAGIC: &[u8; 4] = b"FTW1";
/// LeNets here have at most a few million weights; anything larger is not ours.
const MAX_HEADER_BYTES: usize = 1 << 20;
/// The largest weights file read (the widest variant's weights are well under 1 MiB).
#[cfg(not(target_family = "wasm"))]
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Where a tensor sits in the model and its shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorEntry {
    /// Module path, e.g. `conv1.weight`.
    pub path: String,
    /// Dimensions.
    pub shape: Vec<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    model: LeNetConfig,
    training: Option<TrainingConfig>,
    label: String,
    tensors: Vec<TensorEntry>,
}

/// Weights read from bytes, ready to be put into a model.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The architecture the weights belong to.
    pub model: LeNetConfig,
    /// How they were trained, when known.
    pub training: Option<TrainingConfig>,
    /// A human label such as the variant name.
    pub label: String,
    tensors: Vec<(TensorEntry, Vec<f32>)>,
}

/// Collects every float parameter into one transaction, with its path.
#[derive(Default)]
struct Collector {
    path: Vec<String>,
    entries: Vec<TensorEntry>,
    transaction: Option<Transaction>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        self.entries.push(TensorEntry {
            path: self.path.join("."),
            shape: tensor.dims().to_vec(),
        });
        let tx = self.transaction.take().unwrap_or_default();
        self.transaction = Some(tx.register(tensor));
    }
}

/// Serialises `model`'s weights with its configuration (a `.ftw` file's bytes).
pub async fn to_bytes(
    model: &LeNet,
    config: &LeNetConfig,
    training: Option<&TrainingConfig>,
    label: &str,
) -> Result<Vec<u8>> {
    Ok(Checkpoint::of_model(model, config, training, label)
        .await?
        .to_bytes())
}

fn corrupt(reason: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::NotWeights(reason.to_string())
}

impl Checkpoint {
    /// Reads `model`'s weights back from its device (one async transaction, so it works on
    /// WebGPU in a browser).
    pub async fn of_model(
        model: &LeNet,
        config: &LeNetConfig,
        training: Option<&TrainingConfig>,
        label: &str,
    ) -> Result<Self> {
        let mut collector = Collector::default();
        model.visit(&mut collector);
        let data = match collector.transaction {
            Some(tx) => tx.execute_async().await?,
            None => Vec::new(),
        };
        let tensors = collector
            .entries
            .into_iter()
            .zip(data)
            .map(|(entry, tensor)| {
                let values = tensor
                    .try_to_vec_as::<f32>()
                    .map_err(|e| CheckpointError::Device(format!("reading weights back: {e:?}")))?;
                Ok((entry, values))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            model: config.clone(),
            training: training.cloned(),
            label: label.to_string(),
            tensors,
        })
    }

    /// Weights imported from another format ([`crate::interop`]): `tensors` in Burn's paths and
    /// layouts, checked against `model` when built.
    pub(crate) fn from_parts(
        model: LeNetConfig,
        training: Option<TrainingConfig>,
        label: String,
        tensors: Vec<(TensorEntry, Vec<f32>)>,
    ) -> Self {
        Self {
            model,
            training,
            label,
            tensors,
        }
    }

    /// Weights from elsewhere (a PyTorch state dict) have no label: the name of their file,
    /// without folder and extension, becomes one.
    pub fn label_unlabelled(&mut self, file_name: &str) {
        if self.label.is_empty() {
            let stem = std::path::Path::new(file_name)
                .file_stem()
                .unwrap_or_default();
            self.label = stem.to_string_lossy().into_owned();
        }
    }

    /// Every tensor with its Burn path and shape, in the model's order.
    pub fn tensors(&self) -> &[(TensorEntry, Vec<f32>)] {
        &self.tensors
    }

    /// The bytes of a `.ftw` file: the header, then every tensor's values.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            model: self.model.clone(),
            training: self.training.clone(),
            label: self.label.clone(),
            tensors: self
                .tensors
                .iter()
                .map(|(entry, _)| entry.clone())
                .collect(),
        };
        let header = serde_json::to_vec(&header).expect("a header serialises");
        let values: usize = self.tensors.iter().map(|(_, v)| v.len()).sum();
        let mut out = Vec::with_capacity(8 + header.len() + 4 * values);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        for (_, values) in &self.tensors {
            for v in values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// Parses weights: a `.ftw` file ([`to_bytes`]) or a safetensors file of a LeNet of the
    /// family ([`crate::interop::safetensors`]); anything else is one clear error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.starts_with(MAGIC) {
            return Self::from_ftw(bytes);
        }
        crate::interop::read_weights(bytes)
    }

    fn from_ftw(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 8 {
            return Err(corrupt("it ends inside its FTW1 header"));
        }
        let header_len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        if header_len > MAX_HEADER_BYTES || 8 + header_len > bytes.len() {
            return Err(corrupt(format!(
                "header of {header_len} bytes does not fit the file"
            )));
        }
        let header: Header = serde_json::from_slice(&bytes[8..8 + header_len])
            .map_err(|e| corrupt(format!("bad header: {e}")))?;
        header.model.validate()?;
        let mut offset = 8 + header_len;
        let mut tensors = Vec::with_capacity(header.tensors.len());
        if let Some(training) = &header.training {
            training.validate()?;
        }
        for entry in header.tensors {
            let count = entry
                .shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .ok_or_else(|| corrupt(format!("tensor {} has an impossible shape", entry.path)))?;
            let end = count
                .checked_mul(4)
                .and_then(|n| n.checked_add(offset))
                .filter(|&end| end <= bytes.len())
                .ok_or_else(|| corrupt(format!("truncated in tensor {}", entry.path)))?;
            let values: Vec<f32> = bytes[offset..end]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            // NaN or infinite weights make every prediction one class and the loss NaN.
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(corrupt(format!(
                    "tensor {} holds {} at index {i}: the weights are damaged, or come from a run \
                     that diverged",
                    entry.path, values[i]
                )));
            }
            offset = end;
            tensors.push((entry, values));
        }
        if offset != bytes.len() {
            return Err(corrupt(format!(
                "{} unexpected bytes after the weights",
                bytes.len() - offset
            )));
        }
        Ok(Self {
            model: header.model,
            training: header.training,
            label: header.label,
            tensors,
        })
    }

    /// Builds the model the checkpoint describes, with its weights, on `device`.
    pub fn build(&self, device: &Device) -> Result<LeNet> {
        self.load_into(self.model.init(device))
    }

    /// Builds a model of config `expected` (its dropout included) from the checkpoint,
    /// failing with a message naming both architectures when the weights do not fit it.
    pub fn build_as(
        &self,
        expected: &LeNetConfig,
        expected_label: &str,
        device: &Device,
    ) -> Result<LeNet> {
        if !self.model.same_architecture(expected) {
            return Err(CheckpointError::OtherArchitecture {
                found: format!(
                    "{} ({})",
                    self.label_or("another model"),
                    self.model.describe()
                ),
                expected: format!(
                    "{} ({})",
                    if expected_label.is_empty() {
                        "this model"
                    } else {
                        expected_label
                    },
                    expected.describe()
                ),
            });
        }
        self.load_into(expected.init(device))
    }

    fn label_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        if self.label.is_empty() {
            fallback
        } else {
            &self.label
        }
    }

    fn load_into(&self, model: LeNet) -> Result<LeNet> {
        let mut loader = Loader {
            path: Vec::new(),
            tensors: self
                .tensors
                .iter()
                .map(|(e, v)| (e.path.clone(), (e, v)))
                .collect(),
            used: 0,
            errors: Vec::new(),
        };
        let model = model.map(&mut loader);
        if loader.used != self.tensors.len() {
            loader.errors.push(format!(
                "{} of {} tensors were not used",
                self.tensors.len() - loader.used,
                self.tensors.len()
            ));
        }
        if !loader.errors.is_empty() {
            return Err(CheckpointError::DoesNotFit {
                label: self.label_or("the file").to_string(),
                architecture: self.model.describe(),
                problems: loader.errors.join("; "),
            });
        }
        Ok(model)
    }
}

/// Puts checkpoint tensors into a fresh model by path, checking shapes.
struct Loader<'a> {
    path: Vec<String>,
    tensors: HashMap<String, (&'a TensorEntry, &'a Vec<f32>)>,
    used: usize,
    errors: Vec<String>,
}

impl ModuleMapper for Loader<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        let shape = param.lazy_shape().dims::<D>().to_vec();
        match self.tensors.get(&path) {
            Some((entry, values)) if entry.shape == shape => {
                self.used += 1;
                let device = param.lazy_device();
                let tensor = Tensor::from_data(TensorData::new(values.to_vec(), shape), &device);
                let id = param.id;
                param.transform_for_load(tensor, id)
            }
            Some((entry, _)) => {
                self.errors.push(format!(
                    "{path} has shape {:?}, expected {shape:?}",
                    entry.shape
                ));
                param
            }
            None => {
                self.errors.push(format!("{path} is missing"));
                param
            }
        }
    }
}

/// Writes a checkpoint file.
#[cfg(not(target_family = "wasm"))]
pub fn save_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| file_error(path, e))
}

#[cfg(not(target_family = "wasm"))]
fn file_error(path: &std::path::Path, reason: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Reads a checkpoint file.
#[cfg(not(target_family = "wasm"))]
pub fn load_file(path: &std::path::Path) -> Result<Checkpoint> {
    let bytes =
        crate::bounded_read::read_file(path, MAX_FILE_BYTES).map_err(|e| file_error(path, e))?;
    let mut checkpoint = Checkpoint::from_bytes(&bytes).map_err(|e| file_error(path, e))?;
    // Weights from elsewhere (a PyTorch state dict) have no label: the file's name is one.
    if checkpoint.label.is_empty() {
        checkpoint.label = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::Variant;

    fn logits(model: &LeNet, device: &Device) -> Vec<f32> {
        let x = Tensor::<4>::ones([2, 1, 28, 28], device) * 0.5;
        model
            .forward(x)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap()
    }

    #[test]
    fn round_trip_gives_identical_predictions() {
        let device = Device::flex();
        let config = Variant::V1.config();
        let model = config.model.init(&device);
        let bytes =
            pollster::block_on(to_bytes(&model, &config.model, Some(&config), "v1")).unwrap();
        let checkpoint = Checkpoint::from_bytes(&bytes).unwrap();
        assert_eq!(checkpoint.label, "v1");
        assert_eq!(checkpoint.training.as_ref(), Some(&config));
        let loaded = checkpoint.build_as(&config.model, "v1", &device).unwrap();
        assert_eq!(logits(&model, &device), logits(&loaded, &device));
        // And the bytes themselves round-trip.
        let again =
            pollster::block_on(to_bytes(&loaded, &config.model, Some(&config), "v1")).unwrap();
        assert_eq!(bytes, again);
    }

    /// A batch norm's running statistics are saved with the weights: a trained `best` model
    /// predicts the same after a round trip, and a file from before the recipes (no pooling or
    /// batch-norm field) still reads as the study's model.
    #[test]
    fn batch_norm_statistics_round_trip_and_old_headers_read() {
        use crate::data::toy_dataset;
        use crate::training::Trainer;
        let device = Device::flex();
        let config = Variant::Best.config().with_epochs(1).with_batch_size(50);
        let data = std::sync::Arc::new(toy_dataset(100));
        let mut trainer = Trainer::new(config.clone(), &device, data, None).unwrap();
        pollster::block_on(trainer.step(2)).unwrap();
        let model = trainer.current_model().unwrap();
        let bytes =
            pollster::block_on(to_bytes(&model, &config.model, Some(&config), "best")).unwrap();
        let checkpoint = Checkpoint::from_bytes(&bytes).unwrap();
        assert!(
            checkpoint
                .tensors()
                .iter()
                .any(|(e, _)| e.path == "bn1.running_mean")
        );
        let loaded = checkpoint.build(&device).unwrap();
        assert_eq!(logits(&model, &device), logits(&loaded, &device));
        let fresh = config.model.init(&device);
        assert_ne!(logits(&fresh, &device), logits(&loaded, &device));

        let old: LeNetConfig =
            serde_json::from_str(r#"{"conv1_kernels":6,"conv2_kernels":16,"dropout":0.0}"#)
                .unwrap();
        assert_eq!(old, Variant::Base.config().model);
    }

    #[test]
    fn weights_of_another_variant_are_refused_naming_both() {
        let device = Device::flex();
        let v1 = Variant::V1.config().model;
        let base = Variant::Base.config().model;
        let bytes = pollster::block_on(to_bytes(&v1.init(&device), &v1, None, "v1")).unwrap();
        let err = Checkpoint::from_bytes(&bytes)
            .unwrap()
            .build_as(&base, "base", &device)
            .unwrap_err()
            .to_string();
        assert!(err.contains("v1") && err.contains("base"), "{err}");
        assert!(err.contains("16/26") && err.contains("6/16"), "{err}");
        // Dropout has no weights: v1's weights build a v2 model, with v2's dropout.
        let v2 = Variant::V2.config().model;
        let checkpoint = Checkpoint::from_bytes(&bytes).unwrap();
        assert!(checkpoint.build_as(&v2, "v2", &device).is_ok());
    }

    #[test]
    fn corrupt_bytes_are_refused() {
        let device = Device::flex();
        let cfg = LeNetConfig::new();
        let bytes = pollster::block_on(to_bytes(&cfg.init(&device), &cfg, None, "base")).unwrap();
        for bad in [
            &b"PK\x03\x04zipfile"[..],
            &bytes[..bytes.len() - 3],
            &bytes[..20],
            b"",
        ] {
            let err = Checkpoint::from_bytes(bad).unwrap_err().to_string();
            assert!(err.contains("not a fashion-trainer weights file"), "{err}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(Checkpoint::from_bytes(&extra).is_err());
        // A header that lies about a shape (same length, so only the shape changes).
        let at = bytes.windows(9).position(|w| w == b"[6,1,5,5]").unwrap();
        let mut lying = bytes.clone();
        lying[at..at + 9].copy_from_slice(b"[6,1,5,4]");
        let result = Checkpoint::from_bytes(&lying).and_then(|c| c.build(&device));
        assert!(result.is_err());
    }

    #[test]
    fn non_finite_weights_and_impossible_shapes_are_refused() {
        let device = Device::flex();
        let cfg = LeNetConfig::new();
        let bytes = pollster::block_on(to_bytes(&cfg.init(&device), &cfg, None, "base")).unwrap();
        let header_len = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let first_weight = 8 + header_len;
        for value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut spoiled = bytes.clone();
            spoiled[first_weight + 8..first_weight + 12].copy_from_slice(&value.to_le_bytes());
            let err = Checkpoint::from_bytes(&spoiled).unwrap_err().to_string();
            assert!(err.contains("not a fashion-trainer weights file"), "{err}");
            assert!(
                err.contains("at index 2") && err.contains("diverged"),
                "{err}"
            );
        }
        // A shape whose product overflows is an error, not a wrapped count.
        let at = bytes.windows(9).position(|w| w == b"[6,1,5,5]").unwrap();
        let mut huge = bytes[..at].to_vec();
        huge.extend_from_slice(b"[18446744073709551615,2]");
        huge.extend_from_slice(&bytes[at + 9..]);
        let grown = (header_len + 15) as u32;
        huge[4..8].copy_from_slice(&grown.to_le_bytes());
        let err = Checkpoint::from_bytes(&huge).unwrap_err().to_string();
        assert!(err.contains("impossible shape"), "{err}");
    }
}
