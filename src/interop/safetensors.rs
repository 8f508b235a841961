//! safetensors in and out. Export writes PyTorch's module names and layouts (`conv1.weight`
//! `[c1, 1, 5, 5]`, ..., `fc3.weight` `[10, 84]`) and this tool's settings in the metadata;
//! import takes any LeNet of the family: the architecture is read from the shapes, and the layers
//! may be named as modules (`conv1`, ..., `fc3`) or as `nn.Sequential` indices (`0`, `3`, `7`,
//! `10`, `13`, or `features.0`, `classifier.1`, ...), with any common prefix such as `module.`.

use std::cmp::Ordering;
use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};

use super::{torch_tensors, transpose};
use crate::checkpoint::{Checkpoint, CheckpointError, TensorEntry};
use crate::model::LeNetConfig;
use crate::training::TrainingConfig;

/// The metadata key holding this tool's settings (JSON), so a round trip keeps them.
const SETTINGS_KEY: &str = "fashion_trainer";
/// The LeNet's weighted layers in forward order, as PyTorch modules and Burn paths name them.
const LAYERS: [&str; 5] = ["conv1", "conv2", "fc1", "fc2", "fc3"];
/// fc1 and fc2 widths, as in [`crate::model`].
const FC_UNITS: [usize; 2] = [120, 84];

#[derive(Serialize, Deserialize)]
struct Settings {
    model: LeNetConfig,
    training: Option<TrainingConfig>,
    label: String,
}

fn error(reason: impl Into<String>) -> CheckpointError {
    CheckpointError::Safetensors(reason.into())
}

/// True when `bytes` start like a safetensors file: a little-endian `u64` header length and a
/// JSON object.
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.len() >= 9 && bytes[8] == b'{' && u64::from_le_bytes(bytes[..8].try_into().unwrap()) >= 2
}

/// `checkpoint` as safetensors bytes, in PyTorch's names and layouts.
pub fn encode(checkpoint: &Checkpoint) -> Result<Vec<u8>, CheckpointError> {
    let tensors = torch_tensors(checkpoint);
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    // PyTorch's BatchNorm2d also keeps a count of the batches seen; `load_state_dict` wants it.
    const ZERO_COUNT: [u8; 8] = [0; 8];
    let counts: Vec<String> = match checkpoint.model.has_batch_norm() {
        true => vec![
            "bn1.num_batches_tracked".into(),
            "bn2.num_batches_tracked".into(),
        ],
        false => Vec::new(),
    };
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, data)| {
            Ok((
                t.name.to_string(),
                TensorView::new(Dtype::F32, t.shape.clone(), data)?,
            ))
        })
        .chain(counts.iter().map(|name| {
            Ok((
                name.clone(),
                TensorView::new(Dtype::I64, vec![], &ZERO_COUNT)?,
            ))
        }))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| error(e.to_string()))?;
    let settings = Settings {
        model: checkpoint.model.clone(),
        training: checkpoint.training.clone(),
        label: checkpoint.label.clone(),
    };
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (
            SETTINGS_KEY.to_string(),
            serde_json::to_string(&settings).expect("settings serialise"),
        ),
    ]);
    safetensors::serialize(views, Some(metadata)).map_err(|e| error(e.to_string()))
}

/// Reads safetensors weights of a LeNet of the family; the first tensor that does not fit is
/// named in the error.
pub fn decode(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| error(format!("the file is damaged or truncated ({e})")))?;
    let mut tensors: HashMap<String, TensorView<'_>> = file.tensors().into_iter().collect();
    let norms = take_norms(&mut tensors)?;
    let layers = match_layers(&tensors)?;
    let shape = |layer: usize| tensors[&layers[layer].weight].shape().to_vec();
    let (conv1, conv2) = (shape(0), shape(1));
    if conv1.len() != 4 || conv2.len() != 4 {
        return Err(error("the convolution weights must be 4-D"));
    }
    let model = LeNetConfig::new()
        .with_conv1_kernels(conv1[0])
        .with_conv2_kernels(conv2[0])
        .with_batch_norm((!norms.is_empty()).then_some(true));
    model.validate()?;
    let (c1, c2) = (model.conv1_kernels, model.conv2_kernels);
    let architecture = format!("a LeNet with {c1}/{c2} kernels");
    // PyTorch's shapes for these kernel counts.
    let expected: [(Vec<usize>, usize); 5] = [
        (vec![c1, 1, 5, 5], c1),
        (vec![c2, c1, 5, 5], c2),
        (vec![FC_UNITS[0], c2 * 25], FC_UNITS[0]),
        (vec![FC_UNITS[1], FC_UNITS[0]], FC_UNITS[1]),
        (vec![10, FC_UNITS[1]], 10),
    ];
    let mut entries = Vec::with_capacity(10);
    for (i, (layer, (weight_shape, bias_len))) in layers.iter().zip(expected).enumerate() {
        for (file_name, path, shape) in [
            (&layer.weight, "weight", weight_shape),
            (&layer.bias, "bias", vec![bias_len]),
        ] {
            let burn_path = format!("{}.{path}", LAYERS[i]);
            let view = &tensors[file_name];
            let named = if *file_name == burn_path {
                burn_path.clone()
            } else {
                format!("{burn_path} ({file_name} in the file)")
            };
            if view.shape() != shape.as_slice() {
                return Err(error(format!(
                    "{named} has shape {:?}, expected {shape:?} for {architecture}",
                    view.shape()
                )));
            }
            let values = floats(view, &named)?;
            entries.push(match shape[..] {
                [out, inputs] => (
                    TensorEntry {
                        path: burn_path,
                        shape: vec![inputs, out],
                    },
                    transpose(&values, out, inputs),
                ),
                _ => (
                    TensorEntry {
                        path: burn_path,
                        shape,
                    },
                    values,
                ),
            });
        }
    }
    for (norm, channels) in norms.iter().zip([c1, c2]) {
        for (part, file_name, view) in &norm.parts {
            let burn_path = format!("{}.{}", norm.bn, burn_norm_name(part));
            if view.shape() != [channels] {
                return Err(error(format!(
                    "{file_name} has shape {:?}, expected [{channels}] for {architecture}",
                    view.shape()
                )));
            }
            let values = floats(view, file_name)?;
            entries.push((
                TensorEntry {
                    path: burn_path,
                    shape: vec![channels],
                },
                values,
            ));
        }
    }
    let settings = file_settings(bytes).filter(|s| s.model.same_architecture(&model));
    Ok(match settings {
        Some(s) => Checkpoint::from_parts(s.model, s.training, s.label, entries),
        None => Checkpoint::from_parts(model, None, String::new(), entries),
    })
}

/// This tool's settings from the metadata, when the file has valid ones.
fn file_settings(bytes: &[u8]) -> Option<Settings> {
    let (_, metadata) = SafeTensors::read_metadata(bytes).ok()?;
    let json = metadata.metadata().as_ref()?.get(SETTINGS_KEY)?;
    let settings: Settings = serde_json::from_str(json).ok()?;
    let valid = settings.model.validate().is_ok()
        && settings
            .training
            .as_ref()
            .is_none_or(|t| t.validate().is_ok());
    valid.then_some(settings)
}

/// A batch norm's four tensors in the file, as `(part, file name, view)`, and the Burn module
/// it fills (`bn1` after conv1, `bn2` after conv2).
struct NormTensors<'a> {
    bn: &'static str,
    parts: Vec<(&'static str, String, TensorView<'a>)>,
}

/// Takes the batch norms' tensors out of `tensors`: every layer with a `running_mean`, in the
/// order of their names; none, or one after each convolution.
fn take_norms<'a>(
    tensors: &mut HashMap<String, TensorView<'a>>,
) -> Result<Vec<NormTensors<'a>>, CheckpointError> {
    let mut parents: Vec<String> = tensors
        .keys()
        .filter_map(|name| name.strip_suffix(".running_mean"))
        .map(str::to_string)
        .collect();
    parents.sort_by(|a, b| natural_order(a, b));
    if !matches!(parents.len(), 0 | 2) {
        return Err(error(format!(
            "found {} batch norms ({}); a LeNet here has none, or one after each convolution",
            parents.len(),
            parents.join(", ")
        )));
    }
    parents
        .iter()
        .zip(["bn1", "bn2"])
        .map(|(parent, bn)| {
            tensors.remove(&format!("{parent}.num_batches_tracked"));
            let parts = ["weight", "bias", "running_mean", "running_var"]
                .into_iter()
                .map(|part| {
                    let name = format!("{parent}.{part}");
                    let view = tensors
                        .remove(&name)
                        .ok_or_else(|| error(format!("the batch norm {parent} has no {name}")))?;
                    Ok((part, name, view))
                })
                .collect::<Result<_, CheckpointError>>()?;
            Ok(NormTensors { bn, parts })
        })
        .collect()
}

/// Burn's name of a batch-norm tensor PyTorch calls `part`.
fn burn_norm_name(part: &str) -> &str {
    super::NORM_RENAMES
        .iter()
        .find(|(_, torch)| *torch == part)
        .map_or(part, |(burn, _)| burn)
}

/// The file names of one layer's weight and bias.
struct LayerNames {
    weight: String,
    bias: String,
}

/// Finds the five layers: by module name, else the 4-D weights as the two convolutions and the
/// 2-D ones as the three linear layers, each group in the order of their names (numbers
/// compared as numbers, so `10` follows `7`).
fn match_layers(
    tensors: &HashMap<String, TensorView<'_>>,
) -> Result<Vec<LayerNames>, CheckpointError> {
    let mut parents: Vec<&str> = Vec::new();
    for name in tensors.keys() {
        let parent = name
            .strip_suffix(".weight")
            .or_else(|| name.strip_suffix(".bias"))
            .ok_or_else(|| {
                error(format!(
                    "unexpected tensor {name}: a LeNet of this family has only the weights and \
                     biases of conv1, conv2, fc1, fc2 and fc3"
                ))
            })?;
        if !parents.contains(&parent) {
            parents.push(parent);
        }
    }
    let rank = |parent: &str| {
        tensors
            .get(&format!("{parent}.weight"))
            .map(|t| t.shape().len())
    };
    let by_module: Option<Vec<&str>> = LAYERS
        .iter()
        .map(|layer| {
            parents
                .iter()
                .copied()
                .find(|p| *p == *layer || p.ends_with(&format!(".{layer}")))
        })
        .collect();
    let ordered = match by_module {
        Some(found) if parents.len() == 5 => found,
        _ => {
            let mut convs: Vec<&str> = parents
                .iter()
                .copied()
                .filter(|p| rank(p) == Some(4))
                .collect();
            let mut linears: Vec<&str> = parents
                .iter()
                .copied()
                .filter(|p| rank(p) == Some(2))
                .collect();
            if convs.len() != 2 || linears.len() != 3 || parents.len() != 5 {
                let mut names: Vec<&str> = tensors.keys().map(String::as_str).collect();
                names.sort_by(|a, b| natural_order(a, b));
                return Err(error(format!(
                    "expected the weights and biases of 2 convolutions and 3 linear layers (a \
                     LeNet-5 of this family), found {} 4-D and {} 2-D weights among {} layers: {}",
                    convs.len(),
                    linears.len(),
                    parents.len(),
                    shorten(&names)
                )));
            }
            convs.sort_by(|a, b| natural_order(a, b));
            linears.sort_by(|a, b| natural_order(a, b));
            convs.into_iter().chain(linears).collect()
        }
    };
    ordered
        .into_iter()
        .zip(LAYERS)
        .map(|(parent, layer)| {
            let names = LayerNames {
                weight: format!("{parent}.weight"),
                bias: format!("{parent}.bias"),
            };
            for name in [&names.weight, &names.bias] {
                if !tensors.contains_key(name) {
                    return Err(error(format!(
                        "{layer} has no {name}: a LeNet here has a bias in every layer"
                    )));
                }
            }
            Ok(names)
        })
        .collect()
}

/// Compares dotted names segment by segment, numbers as numbers.
fn natural_order(a: &str, b: &str) -> Ordering {
    let key = |s: &str| -> Vec<(u64, String)> {
        s.split('.')
            .map(|part| match part.parse::<u64>() {
                Ok(n) => (n, String::new()),
                Err(_) => (u64::MAX, part.to_string()),
            })
            .collect()
    };
    key(a).cmp(&key(b))
}

fn shorten(names: &[&str]) -> String {
    const SHOWN: usize = 12;
    let mut text = names
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// A tensor's values as `f32`: F32, F64, F16 and BF16 are read, finite values only.
fn floats(view: &TensorView<'_>, name: &str) -> Result<Vec<f32>, CheckpointError> {
    let data = view.data();
    let values: Vec<f32> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()) as f32)
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => {
            return Err(error(format!(
                "{name} holds {other:?} values; expected floats (F32, F64, F16 or BF16)"
            )));
        }
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(error(format!(
            "{name} holds {} at index {i}: the weights are damaged, or come from a run that diverged",
            values[i]
        )));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LeNet;
    use crate::presets::Variant;
    use burn::tensor::{Device, Tensor, TensorData};

    fn checkpoint(variant: Variant) -> (Checkpoint, LeNet) {
        let device = Device::flex();
        device.seed(3);
        let config = variant.config();
        let model = config.model.init(&device);
        let checkpoint = pollster::block_on(Checkpoint::of_model(
            &model,
            &config.model,
            Some(&config),
            variant.name(),
        ))
        .unwrap();
        (checkpoint, model)
    }

    /// The logits of three fixed images (not drawn from the device's random generator, which
    /// tests running in parallel share).
    fn logits(model: &LeNet) -> Vec<f32> {
        let pixels: Vec<f32> = (0..3 * 784)
            .map(|i| ((i * 7919) % 256) as f32 / 255.0)
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(pixels, [3, 1, 28, 28]), &Device::flex());
        model.forward(x).into_data().try_to_vec().unwrap()
    }

    /// A safetensors file of `(name, shape, values)` as PyTorch would write it (F32).
    fn torch_file(tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
        let bytes: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .zip(&bytes)
            .map(|((name, shape, _), b)| {
                (
                    name.clone(),
                    TensorView::new(Dtype::F32, shape.clone(), b).unwrap(),
                )
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }

    /// The exported tensors renamed by `rename`, without our metadata.
    fn renamed(
        checkpoint: &Checkpoint,
        rename: impl Fn(&str) -> String,
    ) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        torch_tensors(checkpoint)
            .into_iter()
            .map(|t| (rename(&t.name), t.shape, t.values.into_owned()))
            .collect()
    }

    /// The `best` preset (batch norm, max pooling) after two training steps, so its running
    /// statistics are not the initial ones.
    fn trained_best() -> (Checkpoint, LeNet) {
        use crate::training::Trainer;
        let device = Device::flex();
        let config = Variant::Best.config().with_batch_size(50);
        let data = std::sync::Arc::new(crate::data::toy_dataset(100));
        let mut trainer = Trainer::new(config.clone(), &device, data, None).unwrap();
        pollster::block_on(trainer.step(2)).unwrap();
        let model = trainer.current_model().unwrap();
        let checkpoint = pollster::block_on(Checkpoint::of_model(
            &model,
            &config.model,
            Some(&config),
            "best",
        ))
        .unwrap();
        (checkpoint, model)
    }

    #[test]
    fn batch_norm_exports_in_pytorch_names_and_round_trips() {
        let (checkpoint, model) = trained_best();
        let bytes = encode(&checkpoint).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        for name in [
            "bn1.weight",
            "bn1.bias",
            "bn1.running_mean",
            "bn1.running_var",
        ] {
            assert_eq!(file.tensor(name).unwrap().shape(), [32], "{name}");
        }
        assert_eq!(
            file.tensor("bn2.num_batches_tracked").unwrap().dtype(),
            Dtype::I64
        );
        let back = decode(&bytes).unwrap();
        assert_eq!(
            back.model, checkpoint.model,
            "max pooling comes back from the metadata"
        );
        assert_eq!(
            logits(&back.build(&Device::flex()).unwrap()),
            logits(&model)
        );

        // As PyTorch writes it, no metadata, nn.Sequential indices: batch norm is found from the
        // running statistics; the pooling (no weights) is the study's unless the file says.
        let sequential = ["conv1", "bn1", "conv2", "bn2", "fc1", "fc2", "fc3"];
        let tensors = renamed(&checkpoint, |name| {
            let (module, part) = name.split_once('.').unwrap();
            let at = sequential.iter().position(|m| *m == module).unwrap();
            format!("features.{at}.{part}")
        });
        let back = decode(&torch_file(&tensors)).unwrap();
        assert!(back.model.has_batch_norm() && back.model.same_architecture(&checkpoint.model));
        let pooled = back.model.clone().with_pooling(checkpoint.model.pooling);
        let rebuilt = Checkpoint::from_parts(pooled, None, String::new(), back.tensors().to_vec());
        assert_eq!(
            logits(&rebuilt.build(&Device::flex()).unwrap()),
            logits(&model)
        );

        // One batch norm only is refused, naming it.
        let one: Vec<_> = tensors
            .into_iter()
            .filter(|(n, _, _)| !n.starts_with("features.3."))
            .collect();
        let err = decode(&torch_file(&one)).unwrap_err().to_string();
        assert!(err.contains("found 1 batch norms (features.1)"), "{err}");
    }

    #[test]
    fn export_uses_pytorch_names_and_layouts_and_round_trips() {
        let (checkpoint, model) = checkpoint(Variant::V3);
        let bytes = encode(&checkpoint).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(file.tensor("conv1.weight").unwrap().shape(), [16, 1, 5, 5]);
        assert_eq!(file.tensor("fc1.weight").unwrap().shape(), [120, 650]);
        assert_eq!(file.tensor("fc3.bias").unwrap().shape(), [10]);
        assert_eq!(file.len(), 10);
        let back = Checkpoint::from_bytes(&bytes).unwrap();
        assert_eq!(back.model, checkpoint.model);
        assert_eq!(back.training, checkpoint.training);
        assert_eq!(back.label, "v3");
        assert_eq!(back.tensors(), checkpoint.tensors());
        assert_eq!(
            logits(&back.build(&Device::flex()).unwrap()),
            logits(&model)
        );
    }

    #[test]
    fn pytorch_state_dicts_import_by_module_names_or_sequential_indices() {
        let (checkpoint, model) = checkpoint(Variant::Base);
        let expected = logits(&model);
        let sequential = ["0", "3", "7", "10", "13"];
        let namings: [Box<dyn Fn(&str) -> String>; 4] = [
            Box::new(|n| n.to_string()),
            Box::new(|n| format!("module.{n}")),
            Box::new(move |n| {
                let (layer, param) = n.split_once('.').unwrap();
                let i = LAYERS.iter().position(|l| *l == layer).unwrap();
                format!("{}.{param}", sequential[i])
            }),
            Box::new(|n| {
                let (layer, param) = n.split_once('.').unwrap();
                let index = [
                    "features.0",
                    "features.3",
                    "classifier.1",
                    "classifier.4",
                    "classifier.6",
                ];
                format!(
                    "{}.{param}",
                    index[LAYERS.iter().position(|l| *l == layer).unwrap()]
                )
            }),
        ];
        for naming in namings {
            let bytes = torch_file(&renamed(&checkpoint, naming));
            let imported = Checkpoint::from_bytes(&bytes).unwrap();
            assert_eq!(imported.model.conv1_kernels, 6);
            assert_eq!(imported.label, "");
            assert!(imported.training.is_none());
            assert_eq!(logits(&imported.build(&Device::flex()).unwrap()), expected);
        }
    }

    #[test]
    fn half_and_double_precision_are_read() {
        let values = [0.5f32, -1.25, 3.0];
        for (dtype, bytes) in [
            (
                Dtype::F64,
                values
                    .iter()
                    .flat_map(|v| (*v as f64).to_le_bytes())
                    .collect::<Vec<u8>>(),
            ),
            (
                Dtype::F16,
                values
                    .iter()
                    .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                    .collect(),
            ),
            (
                Dtype::BF16,
                values
                    .iter()
                    .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                    .collect(),
            ),
        ] {
            let view = TensorView::new(dtype, vec![3], &bytes).unwrap();
            assert_eq!(floats(&view, "t").unwrap(), values, "{dtype:?}");
        }
        let ints = [0u8; 8];
        let err = floats(
            &TensorView::new(Dtype::I64, vec![1], &ints).unwrap(),
            "fc1.bias",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("fc1.bias holds I64 values"),
            "{err}"
        );
    }

    #[test]
    fn files_that_are_not_a_lenet_of_the_family_are_refused_by_the_first_misfit() {
        let (checkpoint, _) = checkpoint(Variant::Base);
        let good = renamed(&checkpoint, str::to_string);
        let message = |tensors: Vec<(String, Vec<usize>, Vec<f32>)>| {
            Checkpoint::from_bytes(&torch_file(&tensors))
                .unwrap_err()
                .to_string()
        };
        // fc1 of a model whose conv2 has 10 kernels.
        let mut wrong = good.clone();
        wrong[4] = ("fc1.weight".into(), vec![120, 250], vec![0.0; 120 * 250]);
        let err = message(wrong);
        assert!(
            err.contains(
                "fc1.weight has shape [120, 250], expected [120, 400] for a LeNet with 6/16 kernels"
            ),
            "{err}"
        );
        // A batch norm's statistics without its scale and shift.
        let mut extra = good.clone();
        extra.push(("bn.running_mean".into(), vec![6], vec![0.0; 6]));
        let err = message(extra);
        assert!(err.contains("found 1 batch norms (bn)"), "{err}");
        // A tensor of no LeNet layer.
        let mut extra = good.clone();
        extra.push(("bn.momentum".into(), vec![1], vec![0.1]));
        assert!(message(extra).contains("unexpected tensor bn.momentum"));
        // Three convolutions.
        let mut three = good.clone();
        three.push((
            "conv3.weight".into(),
            vec![8, 16, 5, 5],
            vec![0.0; 8 * 16 * 25],
        ));
        three.push(("conv3.bias".into(), vec![8], vec![0.0; 8]));
        assert!(message(three).contains("found 3 4-D and 3 2-D weights among 6 layers"));
        // No bias.
        let no_bias: Vec<_> = good.iter().filter(|t| t.0 != "fc2.bias").cloned().collect();
        assert!(message(no_bias).contains("fc2 has no fc2.bias"));
        // A NaN.
        let mut nan = good.clone();
        nan[0].2[3] = f32::NAN;
        assert!(message(nan).contains("conv1.weight holds NaN at index 3"));
        // Too many kernels for the limits.
        let mut wide = good;
        wide[0] = (
            "conv1.weight".into(),
            vec![100_000, 1, 5, 5],
            vec![0.0; 100_000 * 25],
        );
        let err = message(wide);
        assert!(err.contains("Conv1 kernels"), "{err}");
    }

    #[test]
    fn damaged_and_foreign_bytes_give_one_clear_error() {
        let (checkpoint, _) = checkpoint(Variant::Base);
        let bytes = encode(&checkpoint).unwrap();
        let truncated = Checkpoint::from_bytes(&bytes[..bytes.len() - 7])
            .unwrap_err()
            .to_string();
        assert!(truncated.contains("damaged or truncated"), "{truncated}");
        let jpeg = Checkpoint::from_bytes(b"\xff\xd8\xff\xe0\0\x10JFIF\0")
            .unwrap_err()
            .to_string();
        assert!(
            jpeg.contains("expected a .ftw file (FTW1 signature) or safetensors weights"),
            "{jpeg}"
        );
        let onnx = super::super::onnx::encode(&checkpoint).unwrap();
        let err = Checkpoint::from_bytes(&onnx).unwrap_err().to_string();
        assert!(err.contains("looks like an ONNX model"), "{err}");
    }
}
