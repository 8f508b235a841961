//! The whole study in the browser: the Web Worker holds one [`WebStudy`], trains its runs one
//! after the other and records each; the page stores what [`WebStudy::study`] returns after
//! every finished run, so a reload continues where it stopped.

use serde::{Deserialize, Serialize};
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;

use super::trainer::ResumePoint;
use super::{DataStore, WebTrainer, from_ts, js_err, to_ts};
use crate::device::BackendChoice;
use crate::format;
use crate::report::{self, CatalogueSection, StudyReport};
use crate::run::RunSpec;
use crate::study::{QueueEntry, Study, StudyConfig};
use crate::training::Progress;

/// Where a study stands, for the page.
#[derive(Serialize, Tsify)]
pub struct StudyView {
    /// The plan.
    pub config: StudyConfig,
    /// Every run, finished or waiting.
    pub queue: Vec<QueueEntry>,
    /// Finished runs.
    pub finished: usize,
    /// All runs, the refit included.
    pub total: usize,
    /// True when every run is finished.
    pub is_finished: bool,
    /// The run to train next.
    pub next: Option<RunSpec>,
    /// The finished runs' own time in words.
    pub time: String,
}

/// The format of a downloaded report.
#[derive(Clone, Copy, Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// One self-contained HTML page.
    Html,
    /// Markdown.
    Markdown,
    /// The results table as CSV.
    Csv,
    /// Everything as JSON.
    Json,
}

/// A study in the page.
#[wasm_bindgen]
pub struct WebStudy {
    study: Study,
}

#[wasm_bindgen]
impl WebStudy {
    /// A new study of `config` (from `checkStudy`).
    #[wasm_bindgen(constructor)]
    pub fn new(config: Ts<StudyConfig>) -> Result<WebStudy, JsError> {
        let config = from_ts(config, "study plan")?;
        Ok(WebStudy {
            study: Study::new(config).map_err(js_err)?,
        })
    }

    /// A study saved with [`study`](Self::study), checked again: its plan and every result.
    pub fn restore(study: Ts<Study>) -> Result<WebStudy, JsError> {
        let study = from_ts(study, "saved study")?;
        Ok(WebStudy {
            study: study
                .restored()
                .map_err(|e| js_err(format!("the saved study is damaged: {e}")))?,
        })
    }

    /// The study (plan and finished runs), for storing.
    pub fn study(&self) -> Result<Ts<Study>, JsError> {
        to_ts(&self.study)
    }

    /// Where the study stands.
    pub fn view(&self) -> Result<Ts<StudyView>, JsError> {
        to_ts(&StudyView {
            config: self.study.config.clone(),
            queue: self.study.queue(),
            finished: self.study.finished_runs().len(),
            total: self.study.total_runs(),
            is_finished: self.study.is_finished(),
            next: self.study.next_run(),
            time: self.study.time(),
        })
    }

    /// Starts the study's next run on `backend`, on exactly the images the CLI's study uses
    /// for it. Of `saved` (the saved states of runs cut off), the one of this very run (same
    /// plan, some but not all epochs done) is continued; without one the run starts afresh.
    #[wasm_bindgen(js_name = trainNext)]
    pub async fn train_next(
        &self,
        store: &DataStore,
        backend: Ts<BackendChoice>,
        saved: Vec<Ts<ResumePoint>>,
    ) -> Result<WebTrainer, JsError> {
        let spec = self
            .study
            .next_run()
            .ok_or_else(|| js_err("the study is finished"))?;
        let resume = self.resume_point(&spec, saved);
        let (train_all, test) = store.loaded()?;
        let splits = spec.splits(train_all, test);
        WebTrainer::start(
            spec.id.clone(),
            spec.config.clone(),
            Some(spec.clone()),
            (spec.limit_train, spec.limit_eval),
            WebTrainer::select(from_ts(backend, "backend")?).await?,
            splits,
            resume,
        )
        .await
    }

    /// The epoch the next run would continue from, given the saved states `saved`, or
    /// `undefined` when it would start afresh.
    #[wasm_bindgen(js_name = resumeFrom)]
    pub fn resume_from(&self, saved: Vec<Ts<ResumePoint>>) -> Option<usize> {
        let spec = self.study.next_run()?;
        self.resume_point(&spec, saved)
            .map(|point| point.history.len() + 1)
    }

    /// Records the study run `trainer`, once `trainer.finish()` has tested it.
    pub fn record(&mut self, trainer: &WebTrainer) -> Result<(), JsError> {
        let result = trainer
            .result
            .clone()
            .ok_or_else(|| js_err("the run has not been finished (tested) yet"))?;
        self.study.record(result).map_err(js_err)
    }

    /// The study's remaining time while its current run is at `progress`, as `mm:ss`, or
    /// `undefined` before there is a pace to go by.
    #[wasm_bindgen(js_name = etaText)]
    pub fn eta_text(&self, progress: Ts<Progress>) -> Result<Option<String>, JsError> {
        let progress = from_ts(progress, "progress")?;
        Ok(self.study.eta_seconds(&progress).map(format::clock))
    }

    /// The report in `format`; `catalogue` (an evaluated product catalogue) adds the
    /// cross-domain section.
    pub fn report(
        &self,
        format: Ts<ReportFormat>,
        catalogue: Option<Ts<CatalogueSection>>,
    ) -> Result<String, JsError> {
        let catalogue = catalogue
            .map(|c| from_ts(c, "catalogue result"))
            .transpose()?;
        let report = StudyReport::new(&self.study)
            .map_err(js_err)?
            .with_catalogue(catalogue);
        Ok(match from_ts(format, "report format")? {
            ReportFormat::Html => report::to_html(&report),
            ReportFormat::Markdown => report::to_markdown(&report),
            ReportFormat::Csv => report::to_csv(&report),
            ReportFormat::Json => report::to_json(&report),
        })
    }
}

impl WebStudy {
    /// The saved state among `saved` that continues run `spec`: the same run with the same
    /// settings, with some but not all of its epochs done.
    fn resume_point(&self, spec: &RunSpec, saved: Vec<Ts<ResumePoint>>) -> Option<ResumePoint> {
        for point in saved {
            // A saved state that cannot be read (stored by an older page) is not resumed.
            let Ok(point) = point.to_rust() else {
                continue;
            };
            let done = point.history.len();
            if point.spec.as_ref() == Some(spec) && done > 0 && done < spec.config.epochs {
                return Some(point);
            }
        }
        None
    }
}
