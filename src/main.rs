//! `fashion-trainer`: the native command-line face of the crate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use fashion_trainer::checkpoint::{self, Checkpoint};
use fashion_trainer::data::{self, Dataset, Fit, Splits};
use fashion_trainer::device::{BackendChoice, select_device};
use fashion_trainer::metrics::ClassificationReport;
use fashion_trainer::presets::Variant;
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
    write(&out.join("config.json"), to_json(&config)?)?;
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
    bar.set_prefix(variant.name());
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
    let label = variant.name();
    let bytes = pollster::block_on(checkpoint::to_bytes(
        &best_model,
        &config.model,
        Some(&config),
        label,
    ))?;
    checkpoint::save_file(&out.join("model.ftw"), &bytes)?;

    let evaluation =
        pollster::block_on(Evaluator::new(&best_model, Arc::new(splits.test), 256).run())?;
    let report = ClassificationReport::new(&evaluation.labels, &evaluation.predictions);
    write(&out.join("test-report.txt"), report.to_text(4))?;
    write(&out.join("test-report.json"), to_json(&report)?)?;
    let best = &history[best_epoch - 1];
    let results = TrainResults {
        variant: label,
        backend: selected.backend,
        best_epoch,
        best_train_accuracy: best.train_accuracy,
        best_val_accuracy: best.val_accuracy,
        test_accuracy: report.accuracy,
        seconds: fashion_trainer::clock::now_seconds() - started,
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
