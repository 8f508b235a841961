//! `fashion-trainer`: the native command-line face of the crate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use fashion_trainer::checkpoint::{self, Checkpoint};
use fashion_trainer::data::{self, Dataset, Fit, Splits};
use fashion_trainer::device::{BackendChoice, SelectedDevice, select_device};
use fashion_trainer::metrics::ClassificationReport;
use fashion_trainer::photo::{self, Preprocess};
use fashion_trainer::presets::Variant;
use fashion_trainer::products::{CataloguePlan, CatalogueResult, CatalogueRun, LabelMap};
use fashion_trainer::report::{self as study_report, CatalogueSection, StudyReport};
use fashion_trainer::study::{RefitChoice, RunResult, Study, StudyConfig};
use fashion_trainer::summary::ModelSummary;
use fashion_trainer::training::{EpochRecord, Evaluator, Trainer, TrainingConfig};
use fashion_trainer::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};

/// Train, evaluate and inspect LeNet-5-family Fashion-MNIST classifiers.
#[derive(Parser)]
#[command(name = "fashion-trainer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the model summary (layers, output shapes, parameter counts, sizes).
    Summary {
        /// base, v1, v2, v3 or v4.
        #[arg(long, default_value = "base")]
        variant: Variant,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Train a model and write its config, history, best weights and test report.
    Train {
        /// base, v1, v2, v3 or v4.
        #[arg(long, default_value = "base")]
        variant: Variant,
        /// Epochs (default: the variant's, 15).
        #[arg(long)]
        epochs: Option<usize>,
        /// Batch size (default 64).
        #[arg(long)]
        batch_size: Option<usize>,
        /// Learning rate (default: the variant's).
        #[arg(long)]
        learning_rate: Option<f64>,
        /// Seed for initialisation, shuffling and dropout (default 42).
        #[arg(long)]
        seed: Option<u64>,
        /// Fit on `train` (50,000 images, 10,000 validate) or `train+val` (all 60,000).
        #[arg(long, default_value = "train")]
        fit: Fit,
        /// cpu (flex) or gpu (wgpu).
        #[arg(long, default_value = "cpu")]
        backend: BackendChoice,
        /// Directory with the four Fashion-MNIST IDX files.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Use only the first N training images (quick runs).
        #[arg(long)]
        limit_train: Option<usize>,
        /// Use only the first N validation and test images (quick runs).
        #[arg(long)]
        limit_eval: Option<usize>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Print the final results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the whole study: every variant on train, the best refitted on train+val, and a report.
    Study {
        /// Epochs per run.
        #[arg(long, default_value_t = 15)]
        epochs: usize,
        /// Seed of every run.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// cpu (flex) or gpu (wgpu).
        #[arg(long, default_value = "cpu")]
        backend: BackendChoice,
        /// Comma-separated variants, in study order (default: base,v1,v2,v3,v4).
        #[arg(long, value_delimiter = ',')]
        variants: Vec<Variant>,
        /// The model refitted on train+val: `best` (by validation top-1) or a variant.
        #[arg(long, default_value = "best")]
        refit: RefitChoice,
        /// Directory with the four Fashion-MNIST IDX files.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Use only the first N fitting images (quick studies).
        #[arg(long)]
        limit_train: Option<usize>,
        /// Use only the first N validation and test images (quick studies).
        #[arg(long)]
        limit_eval: Option<usize>,
        /// Product catalogue for the cross-domain section, evaluated with the refitted model
        /// (default: ../shared/data/fashion-products when present; `none` to skip).
        #[arg(long)]
        catalogue: Option<PathBuf>,
        /// Study directory: runs/<id>/ per run, then report.html, report.md, results.csv and
        /// report.json. Finished runs found there are not redone.
        #[arg(long)]
        out: PathBuf,
    },
    /// Rebuild a study's report files from its finished runs (and catalogue.json if present).
    Report {
        /// The study directory (`study --out`).
        #[arg(long)]
        from: PathBuf,
    },
    /// Measure training speed: images/s over timed batches after a warm-up.
    Bench {
        /// base, v1, v2, v3 or v4.
        #[arg(long, default_value = "base")]
        variant: Variant,
        /// cpu or gpu.
        #[arg(long, default_value = "cpu")]
        backend: BackendChoice,
        /// Batch size.
        #[arg(long, default_value_t = 64)]
        batch_size: usize,
        /// Timed batches.
        #[arg(long, default_value_t = 200)]
        batches: usize,
        /// Untimed warm-up batches.
        #[arg(long, default_value_t = 20)]
        warmup: usize,
        /// Directory with the four Fashion-MNIST IDX files.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Convert the IDX files into checksummed shards and a manifest for the web page.
    Shards {
        /// Directory with the four Fashion-MNIST IDX files.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Output directory (www/data).
        #[arg(long)]
        out: PathBuf,
    },
    /// Evaluate saved weights: classification report and confusion matrix.
    Evaluate {
        /// A directory written by `train` (or a weights file).
        #[arg(long)]
        model: PathBuf,
        /// `val` or `test`.
        #[arg(long, default_value = "test")]
        split: String,
        /// Directory with the four Fashion-MNIST IDX files.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Use only the first N images.
        #[arg(long)]
        limit_eval: Option<usize>,
        /// cpu or gpu.
        #[arg(long, default_value = "cpu")]
        backend: BackendChoice,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Classify photos: preprocess each (crop, 28x28, grayscale, invert) and print the top three.
    Predict {
        /// A directory written by `train` (or a weights file).
        #[arg(long)]
        model: PathBuf,
        /// `auto` (crop the object found against the background) or `center` (centred square).
        #[arg(long, default_value = "auto")]
        preprocess: Preprocess,
        /// Print JSON with all ten probabilities.
        #[arg(long)]
        json: bool,
        /// Write each photo's 28x28 model input as a PNG into this directory.
        #[arg(long)]
        save_inputs: Option<PathBuf>,
        /// Photos (JPEG, PNG, WebP, GIF or BMP).
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Evaluate a model on a product-photo catalogue (styles.csv + images/<id>.jpg).
    EvaluateProducts {
        /// A directory written by `train` (or a weights file).
        #[arg(long)]
        model: PathBuf,
        /// The catalogue directory (default ../shared/data/fashion-products).
        #[arg(long)]
        catalogue: Option<PathBuf>,
        /// articleType -> class CSV (default: data/product-label-map.csv, built in).
        #[arg(long)]
        label_map: Option<PathBuf>,
        /// `auto` or `center`.
        #[arg(long, default_value = "auto")]
        preprocess: Preprocess,
        /// Evaluate only the first N mapped rows.
        #[arg(long)]
        limit: Option<usize>,
        /// cpu or gpu.
        #[arg(long, default_value = "cpu")]
        backend: BackendChoice,
        /// Print the whole result as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Summary { variant, json } => {
            let summary = ModelSummary::new(&variant.config().model);
            if json {
                println!("{}", to_json(&summary)?);
            } else {
                print!("{}", summary.to_text());
            }
            Ok(())
        }
        Command::Train {
            variant,
            epochs,
            batch_size,
            learning_rate,
            seed,
            fit,
            backend,
            data,
            limit_train,
            limit_eval,
            out,
            json,
        } => {
            let mut config = variant.config().with_fit(fit);
            if let Some(v) = epochs {
                config.epochs = v;
            }
            if let Some(v) = batch_size {
                config.batch_size = v;
            }
            if let Some(v) = learning_rate {
                config.learning_rate = v;
            }
            if let Some(v) = seed {
                config.seed = v;
            }
            config.validate()?;
            let splits = load_splits(data.as_deref(), fit, limit_train, limit_eval)?;
            train(variant, config, splits, backend, &out, json)
        }
        Command::Study {
            epochs,
            seed,
            backend,
            variants,
            refit,
            data,
            limit_train,
            limit_eval,
            catalogue,
            out,
        } => {
            let plan = StudyConfig {
                epochs,
                seed,
                limit_train,
                limit_eval,
                variants: if variants.is_empty() {
                    Variant::ALL.to_vec()
                } else {
                    variants
                },
                refit,
            };
            run_study(plan, backend, data.as_deref(), catalogue.as_deref(), &out)
        }
        Command::Report { from } => {
            let report = write_reports(&from)?;
            print!("{}", study_report::results_markdown(&report));
            Ok(())
        }
        Command::Bench {
            variant,
            backend,
            batch_size,
            batches,
            warmup,
            data,
        } => bench(
            variant,
            backend,
            batch_size,
            batches,
            warmup,
            data.as_deref(),
        ),
        Command::Shards { data, out } => {
            let (train, test) = data::load_idx_dir(&data_dir(data.as_deref())?)?;
            let (manifest, files) = fashion_trainer::shards::make_shards(&train, &test);
            std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
            for (name, bytes) in &files {
                write(&out.join(name), bytes)?;
            }
            write(&out.join("manifest.json"), to_json(&manifest)?)?;
            println!(
                "wrote {} shards and manifest.json to {}",
                files.len(),
                out.display()
            );
            Ok(())
        }
        Command::Evaluate {
            model,
            split,
            data,
            limit_eval,
            backend,
            json,
        } => evaluate(&model, &split, data.as_deref(), limit_eval, backend, json),
        Command::Predict {
            model,
            preprocess,
            json,
            save_inputs,
            images,
        } => predict(&model, preprocess, json, save_inputs.as_deref(), &images),
        Command::EvaluateProducts {
            model,
            catalogue,
            label_map,
            preprocess,
            limit,
            backend,
            json,
        } => evaluate_products(
            &model,
            catalogue.as_deref(),
            label_map.as_deref(),
            preprocess,
            limit,
            backend,
            json,
        ),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Config(e.to_string()))
}

fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, contents).map_err(|e| Error::io(path, e))
}

/// `--data`, else `$FASHION_MNIST_DIR`, else `../shared/data/fashion-mnist`, else `data/cache`
/// (filled by `./build.sh data`), each relative to the working directory or the crate.
fn data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Ok(dir) = std::env::var("FASHION_MNIST_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        PathBuf::from("../shared/data/fashion-mnist"),
        crate_dir.join("../shared/data/fashion-mnist"),
        PathBuf::from("data/cache"),
        crate_dir.join("data/cache"),
    ];
    candidates
        .iter()
        .find(|d| d.join("t10k-labels-idx1-ubyte.gz").exists() || d.join("t10k-labels-idx1-ubyte").exists())
        .cloned()
        .ok_or_else(|| {
            Error::Config(
                "no Fashion-MNIST data found: pass --data DIR, or run ./build.sh data to download it into data/cache"
                    .into(),
            )
        })
}

fn load_splits(
    dir: Option<&Path>,
    fit: Fit,
    limit_train: Option<usize>,
    limit_eval: Option<usize>,
) -> Result<Splits> {
    let (train_all, test) = data::load_idx_dir(&data_dir(dir)?)?;
    let splits = Splits::new(train_all, test, fit);
    Ok(Splits {
        train: splits.train.limited(limit_train),
        val: splits.val.map(|v| v.limited(limit_eval)),
        test: splits.test.limited(limit_eval),
    })
}

fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {msg} (ETA {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
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

fn history_csv(history: &[EpochRecord]) -> String {
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

/// What `train --json` prints and `results.json` holds.
#[derive(serde::Serialize)]
struct TrainResults<'a> {
    variant: &'a str,
    backend: &'a str,
    best_epoch: usize,
    best_train_accuracy: f64,
    best_val_accuracy: Option<f64>,
    test_accuracy: f64,
    seconds: f64,
}

fn train(
    variant: Variant,
    config: TrainingConfig,
    splits: Splits,
    backend: BackendChoice,
    out: &Path,
    json: bool,
) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let selected = pollster::block_on(select_device(backend))?;
    if !json {
        eprintln!(
            "training {variant} ({}) on {} train images, {} validation, backend {}",
            config.model.describe(),
            splits.train.len(),
            splits.val.as_ref().map_or(0, Dataset::len),
            selected.reason
        );
    }
    let trained = train_into(variant.name(), &config, splits, &selected, out, json)?;
    let (best_epoch, report) = (trained.best_epoch, &trained.report);
    let best = &trained.history[best_epoch - 1];
    let results = TrainResults {
        variant: variant.name(),
        backend: selected.backend,
        best_epoch,
        best_train_accuracy: best.train_accuracy,
        best_val_accuracy: best.val_accuracy,
        test_accuracy: report.accuracy,
        seconds: trained.seconds,
    };
    write(&out.join("results.json"), to_json(&results)?)?;
    if json {
        println!("{}", to_json(&results)?);
    } else {
        println!(
            "best epoch {best_epoch}: train top-1 {:.2}%, val top-1 {}; test top-1 {:.2}%  ({:.0}s)\nwrote {}",
            100.0 * best.train_accuracy,
            best.val_accuracy
                .map_or("n/a".to_string(), |a| format!("{:.2}%", 100.0 * a)),
            100.0 * report.accuracy,
            results.seconds,
            out.display()
        );
        println!("\nTest set:\n{}", report.to_text(4));
    }
    Ok(())
}

/// What one training run produced.
struct Trained {
    history: Vec<EpochRecord>,
    best_epoch: usize,
    report: ClassificationReport,
    seconds: f64,
}

/// Trains `config` on `splits` with a progress bar and epoch lines (on stderr under `json`),
/// and writes config.json, summary.txt, history.json/.csv, model.ftw (the kept epoch's weights)
/// and test-report.txt/.json to `out`. Shared by `train` and `study`.
fn train_into(
    label: &str,
    config: &TrainingConfig,
    splits: Splits,
    selected: &SelectedDevice,
    out: &Path,
    json: bool,
) -> Result<Trained> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write(&out.join("config.json"), to_json(config)?)?;
    write(
        &out.join("summary.txt"),
        ModelSummary::new(&config.model).to_text(),
    )?;

    let started = fashion_trainer::clock::now_seconds();
    let mut trainer = Trainer::new(
        config.clone(),
        &selected.device,
        Arc::new(splits.train),
        splits.val.map(Arc::new),
    )?;
    let bar = progress_bar(1000);
    bar.set_prefix(label.to_string());
    while !trainer.is_done() {
        let p = pollster::block_on(trainer.step(20))?;
        bar.set_position((p.fraction_done * 1000.0) as u64);
        bar.set_message(format!(
            "epoch {}/{} {:?} loss {:.4} top-1 {:.2}% {:.0} img/s",
            p.epoch,
            p.epochs,
            p.phase,
            p.train_loss,
            100.0 * p.train_accuracy,
            p.images_per_second
        ));
        if let Some(record) = &p.finished_epoch {
            let line = epoch_line(record);
            // Epoch lines go to stdout (stderr under --json), above the progress bar.
            bar.suspend(|| {
                if json {
                    eprintln!("{line}")
                } else {
                    println!("{line}")
                }
            });
        }
    }
    bar.finish_and_clear();
    let history = trainer.history().to_vec();
    write(&out.join("history.json"), to_json(&history)?)?;
    write(&out.join("history.csv"), history_csv(&history))?;

    let (best_epoch, best_model) = trainer
        .best()
        .ok_or_else(|| Error::Config("training produced no epoch".into()))?;
    let bytes = pollster::block_on(checkpoint::to_bytes(
        &best_model,
        &config.model,
        Some(config),
        label,
    ))?;
    checkpoint::save_file(&out.join("model.ftw"), &bytes)?;

    let evaluation =
        pollster::block_on(Evaluator::new(&best_model, Arc::new(splits.test), 256).run())?;
    let report = ClassificationReport::new(&evaluation.labels, &evaluation.predictions);
    write(&out.join("test-report.txt"), report.to_text(4))?;
    write(&out.join("test-report.json"), to_json(&report)?)?;
    Ok(Trained {
        history,
        best_epoch,
        report,
        seconds: fashion_trainer::clock::now_seconds() - started,
    })
}

/// Runs every unfinished run of the study into `out/runs/<id>/`, then writes the report files.
/// A run whose `results.json` matches the plan is loaded instead of trained again.
fn run_study(
    plan: StudyConfig,
    backend: BackendChoice,
    data: Option<&Path>,
    catalogue: Option<&Path>,
    out: &Path,
) -> Result<()> {
    let mut study = Study::new(plan)?;
    let runs_dir = out.join("runs");
    std::fs::create_dir_all(&runs_dir).map_err(|e| Error::io(&runs_dir, e))?;
    write(&out.join("study.json"), to_json(&study.config)?)?;
    let mut selected: Option<SelectedDevice> = None;
    let mut images: Option<(Dataset, Dataset)> = None;
    while let Some(spec) = study.next_run() {
        let dir = runs_dir.join(&spec.id);
        let results_path = dir.join("results.json");
        if results_path.exists() {
            match read_result(&results_path).and_then(|r| study.record(r)) {
                Ok(()) => {
                    println!("skipping {}: already finished", spec.id);
                    continue;
                }
                Err(err) => {
                    println!("rerunning {}: {err}", spec.id);
                    std::fs::remove_file(&results_path).map_err(|e| Error::io(&results_path, e))?;
                }
            }
        }
        let selected = match &selected {
            Some(s) => s,
            None => selected.insert(pollster::block_on(select_device(backend))?),
        };
        let (train_all, test) = match &images {
            Some(i) => i,
            None => images.insert(data::load_idx_dir(&data_dir(data)?)?),
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
            selected.reason
        );
        let trained = train_into(&spec.id, &spec.config, splits, selected, &dir, false)?;
        let result = RunResult::new(
            &spec,
            trained.history,
            trained.best_epoch,
            trained.report,
            trained.seconds,
            selected.backend,
        );
        write(&results_path, to_json(&result)?)?;
        // Read back, so this report and a later `report --from` see the very same numbers.
        let result = read_result(&results_path)?;
        println!(
            "{} finished: best epoch {}, val top-1 {}, test top-1 {:.2}% ({:.0} s)",
            result.id,
            result.best_epoch,
            result
                .val_top1()
                .map_or("n/a".into(), |a| format!("{:.2}%", 100.0 * a)),
            100.0 * result.test_top1(),
            result.seconds
        );
        study.record(result)?;
    }
    study_catalogue(&study, catalogue, out)?;
    let report = write_reports(out)?;
    println!("\nResults:\n{}", study_report::results_markdown(&report));
    Ok(())
}

/// Evaluates the study's final model (the refit) on the product catalogue into
/// `catalogue.json`, once; a study without a catalogue simply has no cross-domain section.
fn study_catalogue(study: &Study, catalogue: Option<&Path>, out: &Path) -> Result<()> {
    let section_path = out.join("catalogue.json");
    if section_path.exists() || catalogue.is_some_and(|c| c == Path::new("none")) {
        return Ok(());
    }
    let Ok(dir) = catalogue_dir(catalogue) else {
        eprintln!("note: no product catalogue found, the report has no cross-domain section");
        return Ok(());
    };
    let Some(spec) = study.refit_run() else {
        return Ok(());
    };
    let selected = pollster::block_on(select_device(BackendChoice::Cpu))?;
    let (_, model) = load_model(&out.join("runs").join(&spec.id), &selected.device)?;
    let preprocess = Preprocess::default();
    eprintln!(
        "evaluating {} on the product catalogue in {}",
        spec.id,
        dir.display()
    );
    let (result, _) = catalogue_result(&model, &dir, &LabelMap::builtin(), preprocess, None)?;
    let section = CatalogueSection {
        model: spec.id.clone(),
        preprocess: preprocess.to_string(),
        images: result.evaluated,
        accuracy: result.accuracy,
        report: result.report,
    };
    write(&section_path, to_json(&section)?)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

fn read_result(path: &Path) -> Result<RunResult> {
    read_json(path)
}

/// The study in `dir`: its plan (`study.json`, else inferred from the runs) and every finished
/// run under `runs/` that belongs to it; runs that do not are reported and left out.
fn load_study(dir: &Path) -> Result<Study> {
    let runs_dir = dir.join("runs");
    let entries = std::fs::read_dir(&runs_dir).map_err(|e| Error::io(&runs_dir, e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path().join("results.json")))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut results = Vec::new();
    for path in paths {
        match read_result(&path) {
            Ok(r) => results.push(r),
            Err(err) => eprintln!("note: ignoring {err}"),
        }
    }
    // Train runs first: the refit can only be recorded once they are.
    results.sort_by_key(|r| r.fit() == Fit::TrainVal);
    let plan_path = dir.join("study.json");
    let plan = if plan_path.exists() {
        read_json(&plan_path)?
    } else {
        inferred_plan(&results)
    };
    let mut study = Study::new(plan)?;
    for result in results {
        let id = result.id.clone();
        if let Err(err) = study.record(result) {
            eprintln!("note: leaving out run {id}: {err}");
        }
    }
    Ok(study)
}

/// A plan that fits the runs found, for a study directory without `study.json`.
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

/// Builds the report of the study in `dir` and writes report.html, report.md, results.csv and
/// report.json there. `catalogue.json`, when present, adds the cross-domain section.
fn write_reports(dir: &Path) -> Result<StudyReport> {
    let study = load_study(dir)?;
    let catalogue_path = dir.join("catalogue.json");
    let catalogue: Option<CatalogueSection> = if catalogue_path.exists() {
        Some(read_json(&catalogue_path)?)
    } else {
        None
    };
    let report = StudyReport::new(&study)?.with_catalogue(catalogue);
    write(&dir.join("report.html"), study_report::to_html(&report))?;
    write(&dir.join("report.md"), study_report::to_markdown(&report))?;
    write(&dir.join("results.csv"), study_report::to_csv(&report))?;
    write(&dir.join("report.json"), study_report::to_json(&report))?;
    if !report.missing.is_empty() {
        eprintln!("note: unfinished runs: {}", report.missing.join(", "));
    }
    println!(
        "wrote report.html, report.md, results.csv and report.json to {}",
        dir.display()
    );
    Ok(report)
}

/// Loads the weights of a run directory (checked against its `config.json`) or a weights file.
fn load_model(
    path: &Path,
    device: &burn::tensor::Device,
) -> Result<(Checkpoint, fashion_trainer::model::LeNet)> {
    if path.is_dir() {
        let checkpoint = checkpoint::load_file(&path.join("model.ftw"))?;
        let config_path = path.join("config.json");
        let model = match std::fs::read(&config_path) {
            Ok(bytes) => {
                let config: TrainingConfig = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::Config(format!("{}: {e}", config_path.display())))?;
                let name = format!("the run in {}", path.display());
                checkpoint.build_as(&config.model, &name, device)?
            }
            Err(_) => checkpoint.build(device)?,
        };
        Ok((checkpoint, model))
    } else {
        let checkpoint = checkpoint::load_file(path)?;
        let model = checkpoint.build(device)?;
        Ok((checkpoint, model))
    }
}

fn evaluate(
    model_path: &Path,
    split: &str,
    data: Option<&Path>,
    limit_eval: Option<usize>,
    backend: BackendChoice,
    json: bool,
) -> Result<()> {
    let selected = pollster::block_on(select_device(backend))?;
    let (checkpoint, model) = load_model(model_path, &selected.device)?;
    let splits = load_splits(data, Fit::Train, None, limit_eval)?;
    let set = match split {
        "test" => splits.test,
        "val" => splits.val.unwrap_or_default(),
        other => {
            return Err(Error::Config(format!(
                "unknown split '{other}' (expected val or test)"
            )));
        }
    };
    let evaluation = pollster::block_on(Evaluator::new(&model, Arc::new(set), 256).run())?;
    let report = ClassificationReport::new(&evaluation.labels, &evaluation.predictions);
    if json {
        println!("{}", to_json(&report)?);
    } else {
        println!(
            "{} ({}) on the {split} set, {} images, loss {:.4}\n",
            checkpoint.label,
            checkpoint.model.describe(),
            evaluation.labels.len(),
            evaluation.loss
        );
        println!("{}", report.to_text(4));
        println!(
            "Confusion matrix (rows: true class, columns: predicted class)\n{}",
            report.confusion.to_text()
        );
    }
    Ok(())
}

fn bench(
    variant: Variant,
    backend: BackendChoice,
    batch_size: usize,
    batches: usize,
    warmup: usize,
    data: Option<&Path>,
) -> Result<()> {
    let selected = pollster::block_on(select_device(backend))?;
    let images = (warmup + batches) * batch_size;
    let splits = load_splits(data, Fit::TrainVal, Some(images), None)?;
    let config = variant.config().with_batch_size(batch_size).with_epochs(1);
    let mut trainer = Trainer::new(config, &selected.device, Arc::new(splits.train), None)?;
    let clock = fashion_trainer::clock::now_seconds;
    let t0 = clock();
    pollster::block_on(trainer.step(warmup))?;
    let t1 = clock();
    pollster::block_on(trainer.step(batches))?;
    let t2 = clock();
    let result = serde_json::json!({
        "variant": variant.name(),
        "backend": selected.backend,
        "batch_size": batch_size,
        "warmup_batches": warmup,
        "warmup_seconds": t1 - t0,
        "timed_batches": batches,
        "timed_seconds": t2 - t1,
        "images_per_second": (batches * batch_size) as f64 / (t2 - t1),
    });
    println!("{result}");
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// The ten class probabilities of each 784-pixel input, in order.
fn probabilities(model: &fashion_trainer::model::LeNet, inputs: Vec<u8>) -> Result<Vec<Vec<f32>>> {
    let count = inputs.len() / data::IMAGE_PIXELS;
    let set = Dataset::new(inputs, vec![0; count])?;
    let evaluation = pollster::block_on(
        Evaluator::new(model, Arc::new(set), 256)
            .with_probabilities()
            .run(),
    )?;
    Ok(evaluation
        .probabilities
        .chunks(data::NUM_CLASSES)
        .map(<[f32]>::to_vec)
        .collect())
}

/// The classes of `probs` from most to least likely.
fn ranked(probs: &[f32]) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = probs.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked
}

fn predict(
    model_path: &Path,
    preprocess: Preprocess,
    json: bool,
    save_inputs: Option<&Path>,
    images: &[PathBuf],
) -> Result<()> {
    let selected = pollster::block_on(select_device(BackendChoice::Cpu))?;
    let (_, model) = load_model(model_path, &selected.device)?;
    // Every photo is read and preprocessed first, so a bad one fails before any output.
    let mut inputs = Vec::with_capacity(images.len() * data::IMAGE_PIXELS);
    for path in images {
        let steps = photo::preprocess(&read(path)?, preprocess)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        if let Some(dir) = save_inputs {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            let out = dir.join(format!("{stem}-28x28.png"));
            image::GrayImage::from_raw(28, 28, steps.input.clone())
                .ok_or_else(|| Error::Config("bad input size".into()))?
                .save(&out)
                .map_err(|e| Error::Config(format!("{}: {e}", out.display())))?;
        }
        inputs.extend_from_slice(&steps.input);
    }
    let all = probabilities(&model, inputs)?;
    let mut results = Vec::new();
    for (path, probs) in images.iter().zip(&all) {
        let top = ranked(probs);
        if json {
            results.push(serde_json::json!({
                "image": path.display().to_string(),
                "preprocess": preprocess,
                "class": data::CLASS_NAMES[top[0].0],
                "label": top[0].0,
                "top3": top.iter().take(3).map(|&(c, p)| serde_json::json!({
                    "class": data::CLASS_NAMES[c], "label": c, "probability": p
                })).collect::<Vec<_>>(),
                "probabilities": probs,
            }));
        } else {
            let three: Vec<String> = top
                .iter()
                .take(3)
                .map(|&(c, p)| format!("{} {:.1}%", data::CLASS_NAMES[c], 100.0 * p))
                .collect();
            println!(
                "{}: {}  ({})",
                path.display(),
                data::CLASS_NAMES[top[0].0],
                three.join(", ")
            );
        }
    }
    if json {
        println!("{}", to_json(&results)?);
    }
    Ok(())
}

/// `--catalogue`, else `../shared/data/fashion-products` next to the working directory or crate.
fn catalogue_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        PathBuf::from("../shared/data/fashion-products"),
        crate_dir.join("../shared/data/fashion-products"),
    ]
    .into_iter()
    .find(|d| d.join("styles.csv").exists())
    .ok_or_else(|| {
        Error::Config(
            "no catalogue found: pass --catalogue DIR (with styles.csv and images/)".into(),
        )
    })
}

fn evaluate_products(
    model_path: &Path,
    catalogue: Option<&Path>,
    label_map: Option<&Path>,
    preprocess: Preprocess,
    limit: Option<usize>,
    backend: BackendChoice,
    json: bool,
) -> Result<()> {
    let selected = pollster::block_on(select_device(backend))?;
    let (checkpoint, model) = load_model(model_path, &selected.device)?;
    let dir = catalogue_dir(catalogue)?;
    let map = match label_map {
        Some(path) => LabelMap::parse(&String::from_utf8_lossy(&read(path)?))?,
        None => LabelMap::builtin(),
    };
    let (result, timing) = catalogue_result(&model, &dir, &map, preprocess, limit)?;
    if json {
        println!("{}", to_json(&result)?);
    } else {
        println!(
            "{} ({}) on the catalogue in {}\n",
            checkpoint.label,
            checkpoint.model.describe(),
            dir.display()
        );
        print!("{}", result.to_text());
        println!(
            "\n{:.3} s preprocessing ({:.0} photos/s), {:.3} s predicting",
            timing.0,
            timing.2 as f64 / timing.0.max(1e-9),
            timing.1
        );
    }
    Ok(())
}

/// Preprocesses and predicts the mapped photos of the catalogue in `dir`; also returns the
/// seconds spent preprocessing and predicting and the number of photos.
fn catalogue_result(
    model: &fashion_trainer::model::LeNet,
    dir: &Path,
    map: &LabelMap,
    preprocess: Preprocess,
    limit: Option<usize>,
) -> Result<(CatalogueResult, (f64, f64, usize))> {
    let mut plan = CataloguePlan::new(&read(&dir.join("styles.csv"))?, map)?;
    if let Some(n) = limit {
        plan.items.truncate(n);
    }
    let started = fashion_trainer::clock::now_seconds();
    let ids: Vec<String> = plan.items.iter().map(|i| i.id.clone()).collect();
    let mut run = CatalogueRun::new(plan, preprocess);
    let bar = progress_bar(ids.len() as u64);
    bar.set_prefix("photos");
    for id in &ids {
        let path = dir.join("images").join(format!("{id}.jpg"));
        match std::fs::read(&path) {
            // A broken photo is recorded as skipped and reported; it does not stop the run.
            Ok(bytes) => drop(run.add_photo(id, &bytes)),
            Err(_) => run.add_missing(id),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let preprocessed = fashion_trainer::clock::now_seconds();
    let evaluation = pollster::block_on(
        Evaluator::new(model, Arc::new(run.dataset()?), 256)
            .with_probabilities()
            .run(),
    )?;
    let result = run.finish(&evaluation);
    let done = fashion_trainer::clock::now_seconds();
    Ok((
        result,
        (preprocessed - started, done - preprocessed, ids.len()),
    ))
}
