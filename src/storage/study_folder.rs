//! A study's folder: `study.json` (the plan), `runs/<id>/` (a [`RunFolder`] per run), an
//! optional `catalogue.json` (the cross-domain section), and the report files.

use std::path::{Path, PathBuf};

use super::{FolderLock, RunFolder, lock_folder, read_json, write, write_json};
use crate::data::Fit;
use crate::presets::Variant;
use crate::report::{self, CatalogueSection, StudyReport};
use crate::run::RunResult;
use crate::study::{RefitChoice, Study, StudyConfig};
use crate::{Error, Result};

/// The folder of one study.
#[derive(Clone, Debug)]
pub struct StudyFolder {
    dir: PathBuf,
}

/// The report files a study folder gets, and what each holds.
pub const REPORT_FILES: [&str; 4] = ["report.html", "report.md", "results.csv", "report.json"];

impl StudyFolder {
    /// The study folder at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder's path.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder of run `id`.
    pub fn run(&self, id: &str) -> RunFolder {
        RunFolder::new(self.dir.join("runs").join(id))
    }

    /// Locks the folder for running the study `plan`. A folder that another process is writing
    /// is refused, and so is one whose `study.json` holds other settings, unless `replace`
    /// (`--force`): running it would replace the runs it has.
    pub fn claim(&self, plan: &StudyConfig, replace: bool) -> Result<FolderLock> {
        let lock = lock_folder(&self.dir)?;
        let plan_path = self.dir.join("study.json");
        if plan_path.exists() && !replace {
            let held: StudyConfig = read_json(&plan_path)?;
            if held != *plan {
                return Err(Error::file(
                    &self.dir,
                    format!(
                        "holds a study with other settings ({}; asked for {}): pass --force to \
                         train its runs again with the new settings, or choose another --out",
                        held.describe(),
                        plan.describe()
                    ),
                ));
            }
        }
        Ok(lock)
    }

    /// Writes the plan (`study.json`), creating the folder.
    pub fn write_plan(&self, config: &StudyConfig) -> Result<()> {
        super::create_dir(&self.dir.join("runs"))?;
        write_json(&self.dir.join("study.json"), config)
    }

    /// The study in the folder: its plan (`study.json`, else inferred from the runs) and every
    /// finished run under `runs/` that belongs to it. Runs that cannot be read or do not belong
    /// are left out, each with a note saying why.
    pub fn load(&self) -> Result<(Study, Vec<String>)> {
        let runs_dir = self.dir.join("runs");
        let entries = std::fs::read_dir(&runs_dir).map_err(|e| Error::file(&runs_dir, e))?;
        let mut folders: Vec<RunFolder> = entries
            .filter_map(|e| Some(RunFolder::new(e.ok()?.path())))
            .filter(RunFolder::is_finished)
            .collect();
        folders.sort_by(|a, b| a.dir().cmp(b.dir()));
        let mut notes = Vec::new();
        let mut results = Vec::new();
        for folder in folders {
            match folder.result() {
                Ok(r) => results.push(r),
                Err(err) => notes.push(format!("ignoring {err}")),
            }
        }
        // Train runs first: the refit can only be recorded once they are.
        results.sort_by_key(|r| r.fit() == Fit::TrainVal);
        let plan_path = self.dir.join("study.json");
        let plan = if plan_path.exists() {
            read_json(&plan_path)?
        } else if results.is_empty() {
            return Err(Error::file(
                &self.dir,
                format!(
                    "no study here: no study.json and no finished run under runs/{}",
                    if notes.is_empty() {
                        ""
                    } else {
                        " that can be read"
                    }
                ),
            ));
        } else {
            inferred_plan(&results)
        };
        let mut study = Study::new(plan)?;
        for result in results {
            let id = result.id.clone();
            if let Err(err) = study.record(result) {
                notes.push(format!("leaving out run {id}: {err}"));
            }
        }
        Ok((study, notes))
    }

    fn catalogue_path(&self) -> PathBuf {
        self.dir.join("catalogue.json")
    }

    /// The cross-domain section, when the catalogue was evaluated.
    pub fn catalogue(&self) -> Result<Option<CatalogueSection>> {
        let path = self.catalogue_path();
        path.exists().then(|| read_json(&path)).transpose()
    }

    /// Keeps the cross-domain section for the report.
    pub fn write_catalogue(&self, section: &CatalogueSection) -> Result<()> {
        write_json(&self.catalogue_path(), section)
    }

    /// Builds the report of the study in the folder (with the catalogue section when there is
    /// one) and writes [`REPORT_FILES`]; also returns the notes of [`load`](Self::load).
    pub fn write_reports(&self) -> Result<(StudyReport, Vec<String>)> {
        let (study, notes) = self.load()?;
        let report = StudyReport::new(&study)?.with_catalogue(self.catalogue()?);
        let contents = [
            report::to_html(&report),
            report::to_markdown(&report),
            report::to_csv(&report),
            report::to_json(&report),
        ];
        for (name, text) in REPORT_FILES.iter().zip(contents) {
            write(&self.dir.join(name), text)?;
        }
        Ok((report, notes))
    }
}

/// A plan that fits the runs found, for a study folder without `study.json`.
fn inferred_plan(results: &[RunResult]) -> StudyConfig {
    let trained = |v: &Variant| {
        results
            .iter()
            .any(|r| r.variant == *v && r.fit() == Fit::Train)
    };
    let mut plan = StudyConfig {
        variants: Variant::ALL.into_iter().filter(trained).collect(),
        ..StudyConfig::default()
    };
    if let Some(first) = results.first() {
        plan.epochs = first.config.epochs;
        plan.seed = first.config.seed;
        plan.limit_train = first.limit_train;
        plan.limit_eval = first.limit_eval;
    }
    if let Some(refit) = results.iter().find(|r| r.fit() == Fit::TrainVal) {
        plan.refit = RefitChoice::Variant(refit.variant);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fake_result;

    fn folder(name: &str) -> StudyFolder {
        let dir = std::env::temp_dir().join(format!("study-folder-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        StudyFolder::new(dir)
    }

    fn plan() -> StudyConfig {
        StudyConfig {
            epochs: 2,
            variants: vec![Variant::Base, Variant::V1],
            ..StudyConfig::default()
        }
    }

    /// Writes a finished result for every run of `study` into `folder`.
    fn finish(folder: &StudyFolder, study: &mut Study) {
        while let Some(spec) = study.next_run() {
            let result = fake_result(&spec, 0.8, 0.85);
            let run = folder.run(&spec.id);
            super::super::create_dir(run.dir()).unwrap();
            write_json(&run.dir().join("results.json"), &result).unwrap();
            study.record(result).unwrap();
        }
    }

    #[test]
    fn a_finished_study_reads_back_and_reports() {
        let folder = folder("finished");
        folder.write_plan(&plan()).unwrap();
        let mut study = Study::new(plan()).unwrap();
        finish(&folder, &mut study);
        let (loaded, notes) = folder.load().unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert!(loaded.is_finished());
        assert_eq!(loaded.results.len(), 3);
        let (report, _) = folder.write_reports().unwrap();
        assert_eq!(report.results.len(), 3);
        for file in REPORT_FILES {
            assert!(folder.dir().join(file).is_file(), "{file}");
        }
        std::fs::remove_dir_all(folder.dir()).unwrap();
    }

    #[test]
    fn runs_of_other_settings_are_left_out_with_a_note() {
        let folder = folder("other");
        let mut study = Study::new(plan()).unwrap();
        finish(&folder, &mut study);
        // The plan changes afterwards: three epochs instead of two.
        folder
            .write_plan(&StudyConfig {
                epochs: 3,
                ..plan()
            })
            .unwrap();
        let (loaded, notes) = folder.load().unwrap();
        assert!(loaded.results.is_empty());
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("other settings"), "{notes:?}");
        // Without study.json the plan is inferred from the runs themselves.
        std::fs::remove_file(folder.dir().join("study.json")).unwrap();
        let (inferred, notes) = folder.load().unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(inferred.config.epochs, 2);
        assert!(inferred.is_finished());
        std::fs::remove_dir_all(folder.dir()).unwrap();
    }
}
