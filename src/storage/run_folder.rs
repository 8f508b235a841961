//! A run's folder: `config.json`, `summary.txt`, `history.json`/`.csv`, `model.ftw` (the kept
//! epoch's weights with their config), `test-report.txt`/`.json` and `results.json`.
//!
//! A run writes its files into `.partial/` and moves them in when it ends, `results.json` last:
//! a folder with `results.json` holds one whole run, and a killed run leaves the folder as it
//! was. A folder is locked while a run writes it, and one that holds a run is only replaced
//! when asked (`--force`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::tensor::Device;

use super::{FolderLock, create_dir, lock_folder, read_json, write, write_json};
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

/// Every file of a finished run, in the order they are moved in: `results.json`, which marks the
/// run finished, comes last.
pub const RUN_FILES: [&str; 8] = [
    "config.json",
    "summary.txt",
    "history.json",
    "history.csv",
    "model.ftw",
    "test-report.txt",
    "test-report.json",
    "results.json",
];

/// The files whose presence means a folder holds a run (finished, or from an older version).
const RUN_MARKERS: [&str; 3] = ["results.json", "model.ftw", "config.json"];

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

    /// Locks the folder for a new run. A folder that another process is writing is refused; so
    /// is one that holds a run, unless `replace` (`--force`), in which case its `results.json`
    /// goes first, so that the folder never reads as finished while files are swapped.
    pub fn claim(&self, replace: bool) -> Result<FolderLock> {
        let lock = lock_folder(&self.dir)?;
        let held: Vec<&str> = RUN_MARKERS
            .into_iter()
            .filter(|name| self.dir.join(name).exists())
            .collect();
        if !held.is_empty() {
            if !replace {
                return Err(Error::file(
                    &self.dir,
                    format!(
                        "already holds a run ({}): pass --force to replace it, or choose another \
                         --out",
                        held.join(", ")
                    ),
                ));
            }
            if self.is_finished() {
                self.remove_result()?;
            }
        }
        Ok(lock)
    }

    /// Trains run `spec` on `splits` into this folder (locked by [`claim`](Self::claim)),
    /// calling `on_progress` after every chunk of batches, and moves every file of the finished
    /// run in at the end.
    pub async fn train(
        &self,
        _lock: &FolderLock,
        spec: &RunSpec,
        splits: Splits,
        selected: &SelectedDevice,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<FinishedRun> {
        let staging = self.dir.join(".partial");
        // What a killed run left behind.
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::file(&staging, e))?;
        }
        create_dir(&staging)?;
        write_json(&staging.join("config.json"), &spec.config)?;
        write(
            &staging.join("summary.txt"),
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
        write_json(&staging.join("history.json"), &history)?;
        write(&staging.join("history.csv"), history_csv(history))?;
        let finished = finish_run(spec, &trainer, Arc::new(splits.test), selected.backend).await?;
        let bytes = checkpoint::to_bytes(
            &finished.model,
            &spec.config.model,
            Some(&spec.config),
            &spec.id,
        )
        .await?;
        checkpoint::save_file(&staging.join("model.ftw"), &bytes)?;
        let report = &finished.result.test_report;
        write(&staging.join("test-report.txt"), report.to_text(4))?;
        write_json(&staging.join("test-report.json"), report)?;
        write_json(&staging.join("results.json"), &finished.result)?;
        for name in RUN_FILES {
            let (from, to) = (staging.join(name), self.dir.join(name));
            std::fs::rename(&from, &to).map_err(|e| Error::file(&to, e))?;
        }
        std::fs::remove_dir(&staging).map_err(|e| Error::file(&staging, e))?;
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
        let lock = folder.claim(false).unwrap();
        let finished =
            pollster::block_on(
                folder.train(&lock, &spec, splits.clone(), &device, |_| reports += 1),
            )
            .unwrap();
        drop(lock);
        assert!(
            reports >= 2,
            "progress after the training and the validation chunks"
        );
        for file in RUN_FILES {
            assert!(dir.join(file).is_file(), "{file} is written");
        }
        assert!(!dir.join(".partial").exists(), "nothing is left staged");
        assert!(folder.is_finished());
        let result = folder.result().unwrap();
        assert_eq!(result.best_epoch, finished.result.best_epoch);
        // JSON may move a float by one ulp; the counts are exact.
        let confusion = &finished.result.test_report.confusion;
        assert_eq!(&result.test_report.confusion, confusion);
        let (checkpoint, _) = load_model(&dir, &device.device).unwrap();
        assert_eq!(checkpoint.label, "base");
        // A second run into the folder is refused unless it may replace the first.
        let err = folder.claim(false).unwrap_err().to_string();
        assert!(
            err.contains("already holds a run (results.json, model.ftw, config.json)"),
            "{err}"
        );
        assert!(err.contains("--force"), "{err}");
        assert!(folder.is_finished(), "a refused claim changes nothing");
        let lock = folder.claim(true).unwrap();
        assert!(!folder.is_finished(), "the old result goes first");
        // While one holds the folder, another is refused.
        let err = folder.claim(true).unwrap_err().to_string();
        assert!(err.contains("another fashion-trainer process"), "{err}");
        drop(lock);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_killed_run_leaves_the_folder_as_it_was() {
        let dir = std::env::temp_dir().join(format!("run-folder-killed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let folder = RunFolder::new(&dir);
        // What a run killed mid-way leaves: staged files only.
        create_dir(&dir.join(".partial")).unwrap();
        write(&dir.join(".partial/config.json"), "{}").unwrap();
        assert!(!folder.is_finished());
        let lock = folder
            .claim(false)
            .expect("a half-written run is not a run");
        let spec = RunSpec {
            id: "base".into(),
            variant: Variant::Base,
            config: Variant::Base.config().with_epochs(1).with_batch_size(32),
            limit_train: None,
            limit_eval: None,
        };
        let data: Dataset = toy_dataset(64);
        let splits = Splits {
            train: data.clone(),
            val: Some(data.clone()),
            test: data,
        };
        let device = pollster::block_on(select_device(BackendChoice::Cpu)).unwrap();
        pollster::block_on(folder.train(&lock, &spec, splits, &device, |_| ())).unwrap();
        assert!(folder.is_finished());
        assert!(!dir.join(".partial").exists());
        drop(lock);
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
