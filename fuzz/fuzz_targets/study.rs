//! Stored studies and runs: a `Study` as the page stores it (`WebStudy::restore`: serde, then
//! `restored`), reported with all four renderers; a run's `results.json` (`RunResult`, then
//! `check`); the CLI's `study.json` plan (`StudyConfig`, then `Study::new`); and the
//! `catalogue.json` section, rendered into the report of a real study (`seeds/study/study.json`).
//! The whole input is tried as each of them.
#![no_main]

use std::sync::OnceLock;

use fashion_trainer::report::{
    CatalogueSection, StudyReport, to_csv, to_html, to_json, to_markdown,
};
use fashion_trainer::run::RunResult;
use fashion_trainer::study::{Study, StudyConfig};
use libfuzzer_sys::fuzz_target;

/// Every renderer, with the checks that cost nothing: the JSON report is JSON.
fn render(report: &StudyReport) {
    assert!(to_html(report).contains("</html>"));
    let _ = to_markdown(report);
    let _ = to_csv(report);
    let json = to_json(report);
    assert!(
        serde_json::from_str::<serde_json::Value>(&json).is_ok(),
        "to_json wrote invalid JSON: {json}"
    );
}

/// The report of the seed study, built once.
fn seed_report() -> &'static StudyReport {
    static REPORT: OnceLock<StudyReport> = OnceLock::new();
    REPORT.get_or_init(|| {
        let study: Study = serde_json::from_slice(include_bytes!("../seeds/study/study.json"))
            .expect("the seed study parses");
        StudyReport::new(&study.restored().expect("the seed study restores"))
            .expect("the seed study has finished runs")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(study) = serde_json::from_slice::<Study>(data)
        && let Ok(study) = study.restored()
    {
        assert!(study.finished_runs().len() <= study.total_runs());
        match StudyReport::new(&study) {
            Ok(report) => render(&report),
            Err(_) => assert!(study.finished_runs().is_empty()),
        }
    }
    if let Ok(result) = serde_json::from_slice::<RunResult>(data)
        && result.check().is_ok()
    {
        assert!(result.best_record().is_some());
        let _ = (result.train_top1(), result.val_top1(), result.seconds());
    }
    if let Ok(plan) = serde_json::from_slice::<StudyConfig>(data)
        && let Ok(study) = Study::new(plan)
    {
        assert!(study.next_run().is_some());
        let _ = (study.queue(), study.time());
    }
    if let Ok(section) = serde_json::from_slice::<CatalogueSection>(data) {
        render(&seed_report().clone().with_catalogue(Some(section)));
    }
});
