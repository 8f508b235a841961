//! Weights in other runtimes' formats: export to safetensors (PyTorch's names and layouts) and to
//! ONNX (the inference graph, input standardisation included), and import of safetensors weights
//! of any LeNet of the family, PyTorch state dicts included.
//!
//! Burn and PyTorch lay out convolution weights alike (`[out, in, kh, kw]`) and flatten feature
//! maps alike (channel, row, column), so only the linear layers differ: Burn keeps `[in, out]`,
//! PyTorch `[out, in]`.

pub mod onnx;
pub mod safetensors;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::data::{PIXEL_MEAN, PIXEL_STD};
use crate::model::{LeNetConfig, Pooling};

/// A format trained weights can be exported to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// This tool's own file: the weights with their model and training settings.
    #[default]
    Ftw,
    /// safetensors with PyTorch's module names (`conv1`, `conv2`, `fc1`, `fc2`, `fc3`) and layouts.
    Safetensors,
    /// An ONNX (opset 13) inference graph: pixels / 255 in, ten logits out.
    Onnx,
}

/// One export format as the page and the reports describe it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct ExportFormatInfo {
    /// The format.
    pub format: ExportFormat,
    /// What it is, in a few words.
    pub title: String,
    /// The file name extension, with its dot.
    pub extension: String,
    /// Code that loads such a file elsewhere, for these kernel counts.
    pub snippet: String,
}

impl ExportFormat {
    /// Every format, in the order offered.
    pub const ALL: [ExportFormat; 3] = [
        ExportFormat::Ftw,
        ExportFormat::Safetensors,
        ExportFormat::Onnx,
    ];

    /// The format's name as typed (`ftw`, `safetensors`, `onnx`).
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Ftw => "ftw",
            ExportFormat::Safetensors => "safetensors",
            ExportFormat::Onnx => "onnx",
        }
    }

    /// The file name extension, with its dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Ftw => ".ftw",
            ExportFormat::Safetensors => ".safetensors",
            ExportFormat::Onnx => ".onnx",
        }
    }

    /// What the format is, in a few words.
    pub fn title(self) -> &'static str {
        match self {
            ExportFormat::Ftw => "fashion-trainer weights, with the model and training settings",
            ExportFormat::Safetensors => "safetensors, PyTorch's names and layouts",
            ExportFormat::Onnx => "ONNX opset 13 inference graph (onnxruntime, onnxruntime-web)",
        }
    }

    /// The bytes of `checkpoint` in this format.
    pub fn encode(self, checkpoint: &Checkpoint) -> Result<Vec<u8>, CheckpointError> {
        match self {
            ExportFormat::Ftw => Ok(checkpoint.to_bytes()),
            ExportFormat::Safetensors => safetensors::encode(checkpoint),
            ExportFormat::Onnx => onnx::encode(checkpoint),
        }
    }

    /// The format's title, extension and a snippet that loads a model of architecture `model`
    /// exported in it.
    pub fn info(self, model: &LeNetConfig) -> ExportFormatInfo {
        ExportFormatInfo {
            format: self,
            title: self.title().to_string(),
            extension: self.extension().to_string(),
            snippet: self.snippet(model),
        }
    }

    fn snippet(self, model: &LeNetConfig) -> String {
        let (c1, c2) = (model.conv1_kernels, model.conv2_kernels);
        let pool = match model.pooling() {
            Pooling::Average => "avg_pool2d",
            Pooling::Max => "max_pool2d",
        };
        let (norms, norm1, norm2) = match model.has_batch_norm() {
            true => (
                "\n        self.bn1, self.bn2 = nn.BatchNorm2d(c1), nn.BatchNorm2d(c2)",
                "self.bn1(self.conv1(x))",
                "self.bn2(self.conv2(x))",
            ),
            false => ("", "self.conv1(x)", "self.conv2(x)"),
        };
        match self {
            ExportFormat::Ftw => "fashion-trainer evaluate --model model.ftw\n\
                 # or the page's Load weights; the page and the CLI take .safetensors too"
                .to_string(),
            ExportFormat::Safetensors => format!(
                "import torch, torch.nn as nn, torch.nn.functional as F\n\
                 from safetensors.torch import load_file\n\n\
                 class LeNet(nn.Module):\n\
                 \x20   def __init__(self, c1={c1}, c2={c2}):\n\
                 \x20       super().__init__()\n\
                 \x20       self.conv1, self.conv2 = nn.Conv2d(1, c1, 5, padding=2), nn.Conv2d(c1, c2, 5){norms}\n\
                 \x20       self.fc1, self.fc2, self.fc3 = nn.Linear(c2 * 25, 120), nn.Linear(120, 84), nn.Linear(84, 10)\n\n\
                 \x20   def forward(self, x):  # x: [N, 1, 28, 28], Fashion-MNIST pixels / 255\n\
                 \x20       x = (x - {PIXEL_MEAN}) / {PIXEL_STD}\n\
                 \x20       x = F.{pool}(F.relu({norm1}), 2)\n\
                 \x20       x = F.{pool}(F.relu({norm2}), 2).flatten(1)\n\
                 \x20       return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))\n\n\
                 model = LeNet()\n\
                 model.load_state_dict(load_file(\"model.safetensors\"))\n\
                 model.eval()"
            ),
            ExportFormat::Onnx => "import numpy as np, onnxruntime as ort\n\n\
                 session = ort.InferenceSession(\"model.onnx\")\n\
                 images = np.zeros((8, 1, 28, 28), np.float32)  # Fashion-MNIST pixels / 255\n\
                 logits = session.run([\"logits\"], {\"images\": images})[0]  # [8, 10]\n\
                 classes = logits.argmax(1)"
                .to_string(),
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown format '{s}' (expected ftw, safetensors or onnx)"))
    }
}

impl std::fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Weights that are not a `.ftw` file: safetensors, or one clear error saying what they are.
pub(crate) fn read_weights(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    if safetensors::looks_like(bytes) {
        return safetensors::decode(bytes);
    }
    let reason = if onnx::looks_like(bytes) {
        "this looks like an ONNX model: the page and the CLI export ONNX but import only .ftw \
         and .safetensors weights"
    } else {
        "expected a .ftw file (FTW1 signature) or safetensors weights"
    };
    Err(CheckpointError::NotWeights(reason.to_string()))
}

/// A tensor in PyTorch's name and layout.
pub(crate) struct TorchTensor<'a> {
    /// `conv1.weight`, ..., `fc3.bias`; `bn1.weight`, `bn1.running_mean`, ... with batch norm.
    pub name: Cow<'a, str>,
    /// PyTorch's shape.
    pub shape: Vec<usize>,
    /// Row-major values in that shape.
    pub values: Cow<'a, [f32]>,
}

/// The checkpoint's tensors with PyTorch's layouts: linear weights (the only 2-D tensors)
/// transposed from Burn's `[in, out]` to `[out, in]`; the names are the same in both but for a
/// batch norm's scale and shift (Burn's `gamma`, `beta`; PyTorch's `weight`, `bias`).
pub(crate) fn torch_tensors(checkpoint: &Checkpoint) -> Vec<TorchTensor<'_>> {
    checkpoint
        .tensors()
        .iter()
        .map(|(entry, values)| {
            let name = torch_name(&entry.path);
            match entry.shape[..] {
                [rows, cols] => TorchTensor {
                    name,
                    shape: vec![cols, rows],
                    values: Cow::Owned(transpose(values, rows, cols)),
                },
                _ => TorchTensor {
                    name,
                    shape: entry.shape.clone(),
                    values: Cow::Borrowed(values),
                },
            }
        })
        .collect()
}

/// Burn's batch-norm parameter names and PyTorch's.
pub(crate) const NORM_RENAMES: [(&str, &str); 2] = [("gamma", "weight"), ("beta", "bias")];

fn torch_name(path: &str) -> Cow<'_, str> {
    NORM_RENAMES
        .iter()
        .find_map(|(burn, torch)| {
            let module = path.strip_suffix(burn)?.strip_suffix('.')?;
            module
                .starts_with("bn")
                .then(|| Cow::Owned(format!("{module}.{torch}")))
        })
        .unwrap_or(Cow::Borrowed(path))
}

/// A row-major `rows x cols` matrix transposed.
pub(crate) fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_name_and_have_snippets() {
        for format in ExportFormat::ALL {
            assert_eq!(format.name().parse::<ExportFormat>(), Ok(format));
            let info = format.info(&crate::presets::Variant::V1.config().model);
            assert!(info.snippet.len() > 40, "{format}");
            assert!(info.extension.ends_with(format.name()));
        }
        let v1 = crate::presets::Variant::V1.config().model;
        let snippet = ExportFormat::Safetensors.info(&v1).snippet;
        assert!(snippet.contains("c1=16, c2=26") && snippet.contains("F.avg_pool2d"));
        let max = v1.with_pooling(Some(Pooling::Max));
        assert!(
            ExportFormat::Safetensors
                .info(&max)
                .snippet
                .contains("F.max_pool2d")
        );
        let best = crate::presets::Variant::Best.config().model;
        let snippet = ExportFormat::Safetensors.info(&best).snippet;
        assert!(
            snippet.contains("nn.BatchNorm2d(c1)") && snippet.contains("self.bn2(self.conv2(x))")
        );
        let err = "pt".parse::<ExportFormat>().unwrap_err();
        assert!(err.contains("expected ftw, safetensors or onnx"), "{err}");
    }

    #[test]
    fn transpose_swaps_rows_and_columns() {
        let m = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(transpose(&m, 2, 3), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(transpose(&transpose(&m, 2, 3), 3, 2), m);
    }
}
