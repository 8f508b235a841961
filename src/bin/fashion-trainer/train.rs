//! The training commands: `train`, `study`, `report` and `bench`.

use std::path::Path;
use std::sync::Arc;

use fashion_trainer::data::{Dataset, Fit, Splits, toy_dataset};
use fashion_trainer::device::{BackendChoice, SelectedDevice};
use fashion_trainer::format;
use fashion_trainer::photo::Preprocess;
use fashion_trainer::presets::Variant;
use fashion_trainer::products::LabelMap;
use fashion_trainer::report::{self, CatalogueSection};
use fashion_trainer::run::{FinishedRun, RunResult, RunSpec};
use fashion_trainer::storage::{self, FolderLock, RunFolder, StudyFolder, load_model};
use fashion_trainer::study::{Study, StudyConfig};
use fashion_trainer::training::{EpochRecord, Trainer, TrainingConfig};
use fashion_trainer::{Error, Result, clock};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{BackendArg, DataArgs, LimitArgs, ThreadsArg};
use crate::inspect::catalogue_result;

/// Trains `config` into the claimed `folder` and prints the result.
pub fn train(
    variant: Variant,
    config: TrainingConfig,
    limits: &LimitArgs,
    splits: Splits,
    selected: SelectedDevice,
    (folder, lock): (&RunFolder, &FolderLock),
    json: bool,
) -> Result<()> {
    if !json {
        eprintln!(
            "training {variant} ({}) on {} train images, {} validation, backend {}",
            config.model.describe(),
            splits.train.len(),
            splits.val.as_ref().map_or(0, Dataset::len),
            selected.describe()
        );
    }
    let spec = RunSpec {
        id: RunSpec::id_for(variant, config.fit),
        variant,
        config,
        limit_train: limits.limit_train,
        limit_eval: limits.limit_eval,
    };
    let finished = train_with_bar(folder, lock, &spec, splits, &selected, json)?;
    let result = &finished.result;
    if json {
        println!("{}", storage::to_json(result)?);
    } else {
        let best = result.best_record();
        println!(
            "best epoch {}: train top-1 {}, val top-1 {}; test top-1 {}  ({})\nwrote {}",
            result.best_epoch,
            best.map_or("n/a".into(), |r| format::percent(r.train_accuracy)),
            result.val_top1().map_or("n/a".into(), format::percent),
            format::percent(result.test_top1()),
            format::duration(result.seconds()),
            folder.dir().display()
        );
        println!("\nTest set:\n{}", result.test_report.to_text(4));
    }
    Ok(())
}

fn progress_bar(label: &str) -> ProgressBar {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

fn epoch_line(r: &EpochRecord) -> String {
    let val = match (r.val_loss, r.val_accuracy) {
        (Some(l), Some(a)) => format!("val loss {l:.4}  val top-1 {:6.2}%", 100.0 * a),
        _ => "no validation (train+val)".into(),
    };
    format!(
        "epoch {:>3}  train loss {:.4}  train top-1 {:6.2}%  {val}  {:6.1}s  {:>6.0} img/s",
        r.epoch,
        r.train_loss,
        100.0 * r.train_accuracy,
        r.seconds,
        r.images_per_second
    )
}

/// Trains `spec` into `folder` with a progress bar, printing a line per epoch (on stderr under
/// `json`, so stdout stays JSON).
fn train_with_bar(
    folder: &RunFolder,
    lock: &FolderLock,
    spec: &RunSpec,
    splits: Splits,
    selected: &SelectedDevice,
    json: bool,
) -> Result<FinishedRun> {
    let bar = progress_bar(&spec.id);
    let finished = pollster::block_on(folder.train(lock, spec, splits, selected, |p| {
        bar.set_position((p.fraction_done * 1000.0) as u64);
        bar.set_message(p.line());
        if let Some(why) = &p.peers_lost {
            let why = format::printable(why);
            bar.suspend(|| {
                eprintln!("note: a training thread stopped ({why}); training goes on with one")
            });
        }
        if let Some(record) = &p.finished_epoch {
            let line = epoch_line(record);
            bar.suspend(|| {
                if json {
                    eprintln!("{line}")
                } else {
                    println!("{line}")
                }
            });
        }
    }));
    bar.finish_and_clear();
    finished
}

/// Runs every unfinished run of the study into `out/runs/<id>/`, then writes the report files.
/// A run whose `results.json` matches the plan is loaded instead of trained again; a folder
/// holding a study with other settings is refused unless `force`.
pub fn study(
    plan: StudyConfig,
    backend: BackendArg,
    threads: ThreadsArg,
    data: &DataArgs,
    catalogue: Option<&Path>,
    out: &Path,
    force: bool,
) -> Result<()> {
    let mut study = Study::new(plan)?;
    let folder = StudyFolder::new(out);
    let _lock = folder.claim(&study.config, force)?;
    folder.write_plan(&study.config)?;
    let mut selected: Option<SelectedDevice> = None;
    let mut images: Option<(Dataset, Dataset)> = None;
    while let Some(spec) = study.next_run() {
        let run = folder.run(&spec.id);
        if run.is_finished() {
            match run.result().and_then(|r| Ok(study.record(r)?)) {
                Ok(()) => {
                    println!("skipping {}: already finished", spec.id);
                    continue;
                }
                Err(err) if force => println!("rerunning {}: {err}", spec.id),
                Err(err) => {
                    return Err(Error::file(
                        run.dir(),
                        format!(
                            "{err}; pass --force to train it again with these settings, or \
                             choose another --out"
                        ),
                    ));
                }
            }
        }
        // Nothing finished is lost here: a finished run was either recorded above or may be
        // replaced (`--force`); what is left is a run that never finished.
        let lock = run.claim(true)?;
        let (train_all, test) = match &images {
            Some(i) => i,
            None => images.insert(data.load()?),
        };
        let selected = match &selected {
            Some(s) => s,
            None => selected.insert(backend.select_for_training(threads.count(), train_all)?),
        };
        let splits = spec.splits(train_all, test);
        eprintln!(
            "[{}/{}] training {} ({}, fit {}) on {} images, {} validation, backend {}",
            study.results.len() + 1,
            study.total_runs(),
            spec.id,
            spec.config.model.describe(),
            spec.config.fit,
            splits.train.len(),
            splits.val.as_ref().map_or(0, Dataset::len),
            selected.describe()
        );
        train_with_bar(&run, &lock, &spec, splits, selected, false)?;
        // Read back, so this report and a later `report --from` see the very same numbers.
        let result = run.result()?;
        print_finished(&result);
        study.record(result)?;
    }
    study_catalogue(&study, &folder, catalogue)?;
    report(out)
}

fn print_finished(result: &RunResult) {
    println!(
        "{} finished: best epoch {}, val top-1 {}, test top-1 {} ({})",
        result.id,
        result.best_epoch,
        result.val_top1().map_or("n/a".into(), format::percent),
        format::percent(result.test_top1()),
        format::duration(result.seconds())
    );
}

/// Evaluates the study's final model (the refit) on the product catalogue into
/// `catalogue.json`, once; a study without a catalogue simply has no cross-domain section.
fn study_catalogue(study: &Study, folder: &StudyFolder, catalogue: Option<&Path>) -> Result<()> {
    if folder.catalogue()?.is_some() || catalogue.is_some_and(|c| c == Path::new("none")) {
        return Ok(());
    }
    let Ok(dir) = storage::catalogue_dir(catalogue) else {
        eprintln!("note: no product catalogue found, the report has no cross-domain section");
        return Ok(());
    };
    let Some(spec) = study.refit_run() else {
        return Ok(());
    };
    let selected = BackendArg {
        backend: BackendChoice::Cpu,
    }
    .select()?;
    let (_, model) = load_model(folder.run(&spec.id).dir(), &selected.device)?;
    let preprocess = Preprocess::default();
    eprintln!(
        "evaluating {} on the product catalogue in {}",
        spec.id,
        dir.display()
    );
    let (result, _) = catalogue_result(&model, &dir, &LabelMap::builtin(), preprocess, None)?;
    folder.write_catalogue(&CatalogueSection {
        model: spec.id.clone(),
        preprocess: preprocess.to_string(),
        images: result.evaluated,
        accuracy: result.accuracy,
        report: result.report,
    })
}

/// Writes the report files of the study in `dir` and prints its results table.
pub fn report(dir: &Path) -> Result<()> {
    let (report, notes) = StudyFolder::new(dir).write_reports()?;
    for note in notes {
        eprintln!("note: {note}");
    }
    if !report.missing.is_empty() {
        eprintln!("note: unfinished runs: {}", report.missing.join(", "));
    }
    println!(
        "wrote report.html, report.md, results.csv and report.json to {}",
        dir.display()
    );
    println!("\nResults:\n{}", report::results_markdown(&report));
    Ok(())
}

/// Training speed: `warmup` untimed batches, then `batches` timed ones, as one JSON line.
/// What `bench` times.
pub struct BenchArgs {
    pub variant: Variant,
    pub batch_size: usize,
    pub batches: usize,
    pub warmup: usize,
    /// Generated images instead of Fashion-MNIST.
    pub synthetic: bool,
}

pub fn bench(
    bench: &BenchArgs,
    backend: BackendArg,
    threads: ThreadsArg,
    data: &DataArgs,
) -> Result<()> {
    let BenchArgs {
        variant,
        batch_size,
        batches,
        warmup,
        synthetic,
    } = *bench;
    let needed = warmup
        .checked_add(batches)
        .and_then(|n| n.checked_mul(batch_size));
    let limits = LimitArgs {
        limit_train: needed,
        limit_eval: None,
    };
    // Generated images are held in memory: as many as Fashion-MNIST has at most.
    let splits = match needed {
        Some(n) if synthetic && n <= 60_000 => {
            Splits::new(toy_dataset(n), toy_dataset(1), Fit::TrainVal)
        }
        _ => data.splits(Fit::TrainVal, &limits)?,
    };
    // One epoch is timed: more batches than it holds would time fewer than asked.
    if needed.is_none_or(|n| n > splits.train.len()) {
        return Err(Error::file(
            "--batches",
            format!(
                "{warmup} warm-up and {batches} timed batches of {batch_size} need more than \
                 the {} training images: ask for fewer",
                splits.train.len()
            ),
        ));
    }
    let selected = backend.select_for_training(threads.count(), &splits.train)?;
    let config = variant.config().with_batch_size(batch_size).with_epochs(1);
    let mut trainer = Trainer::new(config, &selected.device, Arc::new(splits.train), None)?;
    pollster::block_on(trainer.share_with_threads(selected.threads))?;
    let t0 = clock::now_seconds();
    if warmup > 0 {
        pollster::block_on(trainer.step(warmup))?;
    }
    let t1 = clock::now_seconds();
    pollster::block_on(trainer.step(batches))?;
    let t2 = clock::now_seconds();
    let result = serde_json::json!({
        "variant": variant.name(),
        "backend": selected.backend,
        "threads": selected.threads,
        "batch_size": batch_size,
        "warmup_batches": warmup,
        "synthetic": synthetic,
        "warmup_seconds": t1 - t0,
        "timed_batches": batches,
        "timed_seconds": t2 - t1,
        "images_per_second": (batches * batch_size) as f64 / (t2 - t1),
    });
    println!("{result}");
    Ok(())
}
