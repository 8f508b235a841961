//! A torchsummary-style model summary, built by running the real model once.

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::format::thousands;
use crate::model::{INPUT_SHAPE, LayerOutput, LeNetConfig};

/// Bytes per `f32`, as torchsummary assumes.
const BYTES_PER_VALUE: f64 = 4.0;
const MB: f64 = 1024.0 * 1024.0;

/// One row of the summary table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// `Conv2d-1`, `ReLU-2`, ...
    pub layer: String,
    /// Output shape with the batch dimension as -1.
    pub output_shape: Vec<i64>,
    /// Parameters of the layer.
    pub params: usize,
}

/// The whole summary, with torchsummary's size estimates (in MB of 2^20 bytes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Layers in execution order.
    pub rows: Vec<SummaryRow>,
    /// All parameters.
    pub total_params: usize,
    /// Parameters that receive gradients.
    pub trainable_params: usize,
    /// Parameters that do not.
    pub non_trainable_params: usize,
    /// One input image.
    pub input_size_mb: f64,
    /// Every layer output, doubled for the gradients.
    pub forward_backward_size_mb: f64,
    /// The weights.
    pub params_size_mb: f64,
    /// The sum of the three.
    pub total_size_mb: f64,
}

impl ModelSummary {
    /// Summarises the model `config` describes by running one zero image through it.
    pub fn new(config: &LeNetConfig) -> Self {
        let device = Device::flex();
        let model = config.init(&device);
        let [c, h, w] = INPUT_SHAPE;
        let (_, trace) = model.forward_traced(Tensor::zeros([1, c, h, w], &device));
        Self::from_trace(&trace, model.num_params_trainable())
    }

    fn from_trace(trace: &[LayerOutput], total_params: usize) -> Self {
        let rows: Vec<SummaryRow> = trace
            .iter()
            .enumerate()
            .map(|(i, l)| SummaryRow {
                layer: format!("{}-{}", l.kind, i + 1),
                output_shape: std::iter::once(-1)
                    .chain(l.shape.iter().map(|&d| d as i64))
                    .collect(),
                params: l.params,
            })
            .collect();
        let outputs: usize = trace
            .iter()
            .map(|l| l.shape.iter().product::<usize>())
            .sum();
        let input_size_mb = INPUT_SHAPE.iter().product::<usize>() as f64 * BYTES_PER_VALUE / MB;
        let forward_backward_size_mb = 2.0 * outputs as f64 * BYTES_PER_VALUE / MB;
        let params_size_mb = total_params as f64 * BYTES_PER_VALUE / MB;
        Self {
            rows,
            total_params,
            trainable_params: total_params,
            non_trainable_params: 0,
            input_size_mb,
            forward_backward_size_mb,
            params_size_mb,
            total_size_mb: input_size_mb + forward_backward_size_mb + params_size_mb,
        }
    }

    /// The table as torchsummary prints it, with sizes to six decimals.
    pub fn to_text(&self) -> String {
        let rule = "-".repeat(64);
        let double = "=".repeat(64);
        let mut out = format!(
            "{rule}\n{:>20}  {:>25} {:>15}\n{double}\n",
            "Layer (type)", "Output Shape", "Param #"
        );
        for row in &self.rows {
            let shape = format!(
                "[{}]",
                row.output_shape
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            out.push_str(&format!(
                "{:>20}  {:>25} {:>15}\n",
                row.layer,
                shape,
                thousands(row.params)
            ));
        }
        out.push_str(&format!(
            "{double}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: {}\n{rule}\n",
            thousands(self.total_params),
            thousands(self.trainable_params),
            thousands(self.non_trainable_params)
        ));
        out.push_str(&format!(
            "Input size (MB): {:.6}\nForward/backward pass size (MB): {:.6}\nParams size (MB): {:.6}\nEstimated Total Size (MB): {:.6}\n{rule}\n",
            self.input_size_mb, self.forward_backward_size_mb, self.params_size_mb, self.total_size_mb
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::Variant;

    #[test]
    fn base_reproduces_the_seed_table() {
        let s = ModelSummary::new(&Variant::Base.config().model);
        let expected = [
            ("Conv2d-1", vec![-1, 6, 28, 28], 156),
            ("ReLU-2", vec![-1, 6, 28, 28], 0),
            ("AvgPool2d-3", vec![-1, 6, 14, 14], 0),
            ("Conv2d-4", vec![-1, 16, 10, 10], 2_416),
            ("ReLU-5", vec![-1, 16, 10, 10], 0),
            ("AvgPool2d-6", vec![-1, 16, 5, 5], 0),
            ("Flatten-7", vec![-1, 400], 0),
            ("Linear-8", vec![-1, 120], 48_120),
            ("ReLU-9", vec![-1, 120], 0),
            ("Linear-10", vec![-1, 84], 10_164),
            ("ReLU-11", vec![-1, 84], 0),
            ("Linear-12", vec![-1, 10], 850),
        ];
        assert_eq!(s.rows.len(), expected.len());
        for (row, (layer, shape, params)) in s.rows.iter().zip(expected) {
            assert_eq!(
                (row.layer.as_str(), &row.output_shape, row.params),
                (layer, &shape, params)
            );
        }
        assert_eq!(s.total_params, 61_706);
        let text = s.to_text();
        for line in [
            "Total params: 61,706",
            "Trainable params: 61,706",
            "Non-trainable params: 0",
            "Input size (MB): 0.002991",
            "Forward/backward pass size (MB): 0.114456",
            "Params size (MB): 0.235390",
            "Estimated Total Size (MB): 0.352837",
            "            Conv2d-1            [-1, 6, 28, 28]             156",
            "            Linear-8                  [-1, 120]          48,120",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn dropout_variants_list_dropout_layers() {
        let s = ModelSummary::new(&Variant::V2.config().model);
        let names: Vec<&str> = s.rows.iter().map(|r| r.layer.as_str()).collect();
        assert!(names.contains(&"Dropout-10"), "{names:?}");
        assert_eq!(names.last(), Some(&"Linear-14"));
        assert_eq!(s.rows[6].output_shape, vec![-1, 650]);
        assert_eq!(s.total_params, 99_976);
    }
}
