//! A run's folder: `config.json` and `summary.txt` when it starts; `history.json`/`.csv`,
//! `model.ftw` (the kept epoch's weights with their config), `test-report.txt`/`.json` and
//! `results.json` when it ends.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::tensor::Device;

use super::{create_dir, read_json, write, write_json};
use crate::checkpoint::{self, Checkpoint};
use crate::data::Splits;
use crate::device::SelectedDevice;
use crate::model::LeNet;
use crate::run::{FinishedRun, RunResult, RunSpec, finish_run};
use crate::summary::ModelSummary;
use crate::training::{EpochRecord, Progress, Trainer, TrainingConfig};
use crate::{Error, Result};

/// Training batches between two progress reports.
const CHUNK_BATCHES: usize = 20;

/// The folder of one run.
#[derive(Clone, Debug)]
pub struct RunFolder {
    dir: PathBuf,
}

impl RunFolder {
    /// The run folder at `dir` (nothing is created until something is written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder's path.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn results_path(&self) -> PathBuf {
        self.dir.join("results.json")
    }

    /// Trains run `spec` on `splits` into this folder, calling `on_progress` after every chunk
    /// of batches, and writes every file of a finished run.
    pub async fn train(
        &self,
        spec: &RunSpec,
        splits: Splits,
        selected: &SelectedDevice,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<FinishedRun> {
        create_dir(&self.dir)?;
        write_json(&self.dir.join("config.json"), &spec.config)?;
        write(
            &self.dir.join("summary.txt"),
            ModelSummary::new(&spec.config.model).to_text(),
        )?;
        let mut trainer = Trainer::new(
            spec.config.clone(),
            &selected.device,
            Arc::new(splits.train),
            splits.val.map(Arc::new),
        )?;
        while !trainer.is_done() {
            on_progress(&trainer.step(CHUNK_BATCHES).await?);
        }
        let history = trainer.history();
        write_json(&self.dir.join("history.json"), &history)?;
        write(&self.dir.join("history.csv"), history_csv(history))?;
        let finished = finish_run(spec, &trainer, Arc::new(splits.test), selected.backend).await?;
        let bytes = checkpoint::to_bytes(
            &finished.model,
            &spec.config.model,
            Some(&spec.config),
            &spec.id,
        )
        .await?;
        checkpoint::save_file(&self.dir.join("model.ftw"), &bytes)?;
        let report = &finished.result.test_report;
        write(&self.dir.join("test-report.txt"), report.to_text(4))?;
        write_json(&self.dir.join("test-report.json"), report)?;
        write_json(&self.results_path(), &finished.result)?;
        Ok(finished)
    }

    /// True when the run has finished here (its `results.json` exists).
    pub fn is_finished(&self) -> bool {
        self.results_path().exists()
    }

    /// The run's result, checked for consistency.
    pub fn result(&self) -> Result<RunResult> {
        let result: RunResult = read_json(&self.results_path())?;
        result.check()?;
        Ok(result)
    }

    /// Forgets the run's result, so it is trained again.
    pub fn remove_result(&self) -> Result<()> {
        let path = self.results_path();
        std::fs::remove_file(&path).map_err(|e| Error::file(&path, e))
    }
}

/// The history as CSV, one line per epoch (empty cells where there was no validation).
pub fn history_csv(history: &[EpochRecord]) -> String {
    let mut csv = String::from(
        "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,images_per_second\n",
    );
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for r in history {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            r.epoch,
            r.train_loss,
            r.train_accuracy,
            opt(r.val_loss),
            opt(r.val_accuracy),
            r.seconds,
            r.images_per_second
        ));
    }
    csv
}

/// Loads the weights of a run folder (checked against its `config.json`) or of a weights file.
pub fn load_model(path: &Path, device: &Device) -> Result<(Checkpoint, LeNet)> {
    if !path.is_dir() {
        let checkpoint = checkpoint::load_file(path)?;
        let model = checkpoint.build(device)?;
        return Ok((checkpoint, model));
    }
    let checkpoint = checkpoint::load_file(&path.join("model.ftw"))?;
    let config_path = path.join("config.json");
    let model = if config_path.exists() {
        let config: TrainingConfig = read_json(&config_path)?;
        let name = format!("the run in {}", path.display());
        checkpoint.build_as(&config.model, &name, device)?
    } else {
        checkpoint.build(device)?
    };
    Ok((checkpoint, model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, Fit, toy_dataset};
    use crate::device::{BackendChoice, select_device};
    use crate::presets::Variant;

    #[test]
    fn a_trained_folder_has_every_file_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("run-folder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let folder = RunFolder::new(&dir);
        assert!(!folder.is_finished());
        let spec = RunSpec {
            id: "base".into(),
            variant: Variant::Base,
            config: Variant::Base
                .config()
                .with_epochs(1)
                .with_batch_size(32)
                .with_fit(Fit::Train),
            limit_train: None,
            limit_eval: None,
        };
        let data: Dataset = toy_dataset(96);
        let splits = Splits {
            train: data.clone(),
            val: Some(data.clone()),
            test: data,
        };
        let device = pollster::block_on(select_device(BackendChoice::Cpu)).unwrap();
        let mut reports = 0;
        let finished =
            pollster::block_on(folder.train(&spec, splits, &device, |_| reports += 1)).unwrap();
        assert!(
            reports >= 2,
            "progress after the training and the validation chunks"
        );
        for file in [
            "config.json",
            "summary.txt",
            "history.json",
            "history.csv",
            "model.ftw",
            "test-report.txt",
            "test-report.json",
            "results.json",
        ] {
            assert!(dir.join(file).is_file(), "{file} is written");
        }
        assert!(folder.is_finished());
        let result = folder.result().unwrap();
        assert_eq!(result.best_epoch, finished.result.best_epoch);
        // JSON may move a float by one ulp; the counts are exact.
        let confusion = &finished.result.test_report.confusion;
        assert_eq!(&result.test_report.confusion, confusion);
        let (checkpoint, _) = load_model(&dir, &device.device).unwrap();
        assert_eq!(checkpoint.label, "base");
        folder.remove_result().unwrap();
        assert!(!folder.is_finished());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn history_csv_leaves_missing_validation_empty() {
        let record = EpochRecord {
            epoch: 1,
            train_loss: 0.5,
            train_accuracy: 0.75,
            val_loss: None,
            val_accuracy: None,
            seconds: 2.0,
            images_per_second: 100.0,
        };
        let csv = history_csv(&[record]);
        assert_eq!(csv.lines().nth(1), Some("1,0.5,0.75,,,2,100"));
    }
}
