//! Running a model over a labelled data set in chunks: predictions, mean loss, probabilities.

use std::sync::Arc;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData, Transaction};
use serde::{Deserialize, Serialize};

use super::TrainingError;
use crate::data::Dataset;
use crate::metrics::ClassificationReport;
use crate::model::LeNet;

/// Runs a model over a data set in chunks and collects predictions and the mean loss.
pub struct Evaluator {
    model: LeNet,
    device: Device,
    data: Arc<Dataset>,
    batch_size: usize,
    cursor: usize,
    loss_sum: f64,
    predictions: Vec<u8>,
    probabilities: Vec<f32>,
    keep_probabilities: bool,
    logits: Vec<f32>,
    keep_logits: bool,
}

/// Predictions of a model on a labelled data set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Predicted class per image.
    pub predictions: Vec<u8>,
    /// True class per image.
    pub labels: Vec<u8>,
    /// Softmax probabilities, ten per image, when asked for.
    pub probabilities: Vec<f32>,
    /// The model's logits, ten per image, when asked for.
    #[serde(default)]
    pub logits: Vec<f32>,
}

impl Evaluation {
    /// The classification report (per-class scores and confusion matrix) of these predictions.
    pub fn report(&self) -> ClassificationReport {
        ClassificationReport::new(&self.labels, &self.predictions)
    }

    /// Top-1 accuracy in [0, 1].
    pub fn accuracy(&self) -> f64 {
        let correct = self
            .predictions
            .iter()
            .zip(&self.labels)
            .filter(|(p, l)| p == l)
            .count();
        correct as f64 / self.labels.len().max(1) as f64
    }
}

impl Evaluator {
    /// Prepares an evaluation of `model` (switched to inference mode) on `data`.
    pub fn new(model: &LeNet, data: Arc<Dataset>, batch_size: usize) -> Self {
        let model = model.valid();
        let device = model
            .devices()
            .into_iter()
            .next()
            .unwrap_or_else(Device::flex)
            .without_autodiff();
        Self {
            model,
            device,
            data,
            batch_size: batch_size.max(1),
            cursor: 0,
            loss_sum: 0.0,
            predictions: Vec::new(),
            probabilities: Vec::new(),
            keep_probabilities: false,
            logits: Vec::new(),
            keep_logits: false,
        }
    }

    /// Also keep the ten class probabilities of every image.
    pub fn with_probabilities(mut self) -> Self {
        self.keep_probabilities = true;
        self
    }

    /// Also keep the ten logits of every image (to compare with other runtimes).
    pub fn with_logits(mut self) -> Self {
        self.keep_logits = true;
        self
    }

    /// Batches in the whole evaluation.
    pub fn batches(&self) -> usize {
        self.data.len().div_ceil(self.batch_size)
    }

    /// Batches done so far.
    pub fn batches_done(&self) -> usize {
        self.cursor.div_ceil(self.batch_size)
    }

    /// True when every image has been evaluated.
    pub fn is_done(&self) -> bool {
        self.cursor >= self.data.len()
    }

    /// Evaluates up to `max_batches` batches, reading results back once.
    pub async fn step(&mut self, max_batches: usize) -> Result<bool, TrainingError> {
        if self.data.is_empty() {
            return Err(TrainingError::NothingToEvaluate("evaluation"));
        }
        let loss_fn = CrossEntropyLossConfig::new().init(&self.device);
        let mut loss_sum: Option<Tensor<1>> = None;
        let mut predictions: Vec<Tensor<2, Int>> = Vec::new();
        let mut probabilities: Vec<Tensor<2>> = Vec::new();
        let mut logit_rows: Vec<Tensor<2>> = Vec::new();
        for _ in 0..max_batches.max(1) {
            if self.is_done() {
                break;
            }
            let end = (self.cursor + self.batch_size).min(self.data.len());
            let indices: Vec<usize> = (self.cursor..end).collect();
            self.cursor = end;
            let (images, targets) = self.data.batch(&indices, &self.device);
            let logits = self.model.forward(images);
            let loss = loss_fn.forward(logits.clone(), targets) * indices.len() as f32;
            loss_sum = Some(match loss_sum {
                Some(sum) => sum + loss,
                None => loss,
            });
            if self.keep_probabilities {
                probabilities.push(burn::tensor::activation::softmax(logits.clone(), 1));
            }
            if self.keep_logits {
                logit_rows.push(logits.clone());
            }
            predictions.push(logits.argmax(1));
        }
        let Some(loss_sum) = loss_sum else {
            return Ok(true);
        };
        let mut tx = Transaction::default()
            .register(loss_sum)
            .register(Tensor::cat(predictions, 0));
        if self.keep_probabilities {
            tx = tx.register(Tensor::cat(probabilities, 0));
        }
        if self.keep_logits {
            tx = tx.register(Tensor::cat(logit_rows, 0));
        }
        let data = tx.execute_async().await?;
        self.loss_sum += read_f64s(&data[0])?[0];
        self.predictions
            .extend(read_i64s(&data[1])?.into_iter().map(|p| p as u8));
        if self.keep_probabilities {
            self.probabilities
                .extend(read_f64s(&data[2])?.into_iter().map(|p| p as f32));
        }
        if self.keep_logits {
            let at = if self.keep_probabilities { 3 } else { 2 };
            self.logits
                .extend(read_f64s(&data[at])?.into_iter().map(|p| p as f32));
        }
        Ok(self.is_done())
    }

    /// Runs the evaluation to the end.
    pub async fn run(mut self) -> Result<Evaluation, TrainingError> {
        while !self.step(64).await? {}
        Ok(self.finish())
    }

    /// The result; call when [`is_done`](Self::is_done).
    pub fn finish(self) -> Evaluation {
        let n = self.data.len().max(1) as f64;
        Evaluation {
            loss: self.loss_sum / n,
            predictions: self.predictions,
            labels: self.data.labels().to_vec(),
            probabilities: self.probabilities,
            logits: self.logits,
        }
    }
}

pub(super) fn read_f64s(data: &TensorData) -> Result<Vec<f64>, TrainingError> {
    data.try_to_vec_as::<f64>()
        .map_err(|e| TrainingError::Device(format!("reading back a float tensor: {e:?}")))
}

pub(super) fn read_i64s(data: &TensorData) -> Result<Vec<i64>, TrainingError> {
    data.try_to_vec_as::<i64>()
        .map_err(|e| TrainingError::Device(format!("reading back an int tensor: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::toy_dataset;
    use crate::model::LeNetConfig;

    #[test]
    fn evaluator_reports_loss_and_predictions() {
        let data = Arc::new(toy_dataset(50));
        let device = Device::flex();
        let model = LeNetConfig::new().init(&device);
        let eval = pollster::block_on(
            Evaluator::new(&model, data.clone(), 16)
                .with_probabilities()
                .run(),
        )
        .unwrap();
        assert_eq!(eval.predictions.len(), 50);
        assert_eq!(eval.probabilities.len(), 500);
        let row_sum: f32 = eval.probabilities[..10].iter().sum();
        assert!((row_sum - 1.0).abs() < 1e-4);
        assert!(eval.loss > 0.0 && eval.loss.is_finite());
    }

    #[test]
    fn the_report_counts_the_predictions() {
        let evaluation = Evaluation {
            loss: 0.5,
            predictions: vec![1, 2, 2, 0],
            labels: vec![1, 2, 0, 0],
            probabilities: Vec::new(),
            logits: Vec::new(),
        };
        let report = evaluation.report();
        assert_eq!(report.accuracy, evaluation.accuracy());
        assert_eq!(report.confusion.total(), 4);
    }
}
