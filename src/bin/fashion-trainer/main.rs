//! `fashion-trainer`: the native command-line face of the crate. Each subcommand parses its
//! options here and calls the library (`storage` for run and study folders); `train.rs` holds
//! the training commands, `inspect.rs` those that use trained weights.

mod args;
mod inspect;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use args::{BackendArg, DataArgs, LimitArgs, ModelArg, RecipeArgs, ThreadsArg, positive};
use clap::{Parser, Subcommand};
use fashion_trainer::data::{EvalSplit, Fit};
use fashion_trainer::format::printable;
use fashion_trainer::interop::ExportFormat;
use fashion_trainer::photo::Preprocess;
use fashion_trainer::presets::Variant;
use fashion_trainer::storage::RunFolder;
use fashion_trainer::study::RefitChoice;
use fashion_trainer::summary::ModelSummary;
use fashion_trainer::{Result, shards, storage};

/// mimalloc rather than glibc's malloc: with `--threads 2` glibc's per-thread arenas gave back
/// and re-faulted their pages every step (up to 1.4 s of system time in a 4 s bench, 0.03 s on
/// one thread) and training ran at 10,074-12,919 img/s; with mimalloc 14,327-16,218
/// (`bench --threads 2 --synthetic`, three alternating pairs). One thread: the same within noise.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        /// base, v1, v2, v3, v4, best or fast.
        #[arg(long, default_value = "base")]
        variant: Variant,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Train a model and write its config, history, best weights and test report.
    Train {
        /// base, v1, v2, v3, v4 (the study's), best or fast (recipes beyond it).
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
        /// Fit on `train` (50,000 images, 10,000 validate) or `train+val` (all 60,000); default:
        /// the variant's (`train`, `train+val` for best and fast).
        #[arg(long)]
        fit: Option<Fit>,
        #[command(flatten)]
        recipe: RecipeArgs,
        #[command(flatten)]
        backend: BackendArg,
        #[command(flatten)]
        threads: ThreadsArg,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        limits: LimitArgs,
        /// Output directory. One that holds a run is refused unless `--force`.
        #[arg(long)]
        out: PathBuf,
        /// Replace the run already in `--out`.
        #[arg(long)]
        force: bool,
        /// Print the run's result as JSON.
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
        #[command(flatten)]
        backend: BackendArg,
        #[command(flatten)]
        threads: ThreadsArg,
        /// Comma-separated variants, in study order (default: base,v1,v2,v3,v4); add best and
        /// fast for the report's "Beyond the study" section.
        #[arg(long, value_delimiter = ',')]
        variants: Vec<Variant>,
        /// The model refitted on train+val: `best` (by validation top-1) or a variant.
        #[arg(long, default_value = "best")]
        refit: RefitChoice,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        limits: LimitArgs,
        /// Product catalogue for the cross-domain section, evaluated with the refitted model
        /// (default: ../shared/data/fashion-products when present; `none` to skip).
        #[arg(long)]
        catalogue: Option<PathBuf>,
        /// Study directory: runs/<id>/ per run, then report.html, report.md, results.csv and
        /// report.json. Finished runs found there are not redone; a study with other settings
        /// there is refused unless `--force`.
        #[arg(long)]
        out: PathBuf,
        /// Replace a study with other settings in `--out` (its runs are trained again).
        #[arg(long)]
        force: bool,
    },
    /// Rebuild a study's report files from its finished runs (and catalogue.json if present).
    Report {
        /// The study directory (`study --out`).
        #[arg(long)]
        from: PathBuf,
    },
    /// Measure training speed: images/s over timed batches after a warm-up.
    Bench {
        /// base, v1, v2, v3, v4, best or fast.
        #[arg(long, default_value = "base")]
        variant: Variant,
        #[command(flatten)]
        backend: BackendArg,
        #[command(flatten)]
        threads: ThreadsArg,
        /// Batch size.
        #[arg(long, default_value_t = 64, value_parser = positive)]
        batch_size: usize,
        /// Timed batches.
        #[arg(long, default_value_t = 200, value_parser = positive)]
        batches: usize,
        /// Untimed warm-up batches.
        #[arg(long, default_value_t = 20)]
        warmup: usize,
        /// Train on generated images instead of Fashion-MNIST: the speed is the same, and a
        /// machine without the data (`./build.sh gpu-check`) can run it.
        #[arg(long)]
        synthetic: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Convert the IDX files into checksummed shards and a manifest for the web page.
    Shards {
        #[command(flatten)]
        data: DataArgs,
        /// Output directory (www/data).
        #[arg(long)]
        out: PathBuf,
    },
    /// Evaluate saved weights: classification report and confusion matrix.
    Evaluate {
        #[command(flatten)]
        model: ModelArg,
        /// `val` or `test`.
        #[arg(long, default_value = "test")]
        split: EvalSplit,
        #[command(flatten)]
        data: DataArgs,
        /// Use only the first N images.
        #[arg(long, value_parser = positive)]
        limit_eval: Option<usize>,
        #[command(flatten)]
        backend: BackendArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also write every image's ten logits to this CSV (index,label,predicted,logit_0..9),
        /// to compare with other runtimes.
        #[arg(long)]
        logits: Option<PathBuf>,
    },
    /// Export weights for other runtimes: safetensors (PyTorch's names and layouts), ONNX
    /// (opset 13 inference graph) or ftw.
    Export {
        #[command(flatten)]
        model: ModelArg,
        /// safetensors, onnx or ftw (default: from the extension of `--out`).
        #[arg(long)]
        format: Option<ExportFormat>,
        /// The file to write (replaced if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Classify photos: preprocess each (crop, 28x28, grayscale, invert) and print the top three.
    Predict {
        #[command(flatten)]
        model: ModelArg,
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
        #[command(flatten)]
        model: ModelArg,
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
        #[arg(long, value_parser = positive)]
        limit: Option<usize>,
        #[command(flatten)]
        backend: BackendArg,
        /// Print the whole result as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`| head`) would panic; the default
    // action ends the program quietly, as other command-line tools do.
    #[cfg(unix)]
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Messages quote file contents (labels, ids, paths): no terminal escapes get through.
            eprintln!("error: {}", printable(&err.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Summary { variant, json } => {
            let summary = ModelSummary::new(&variant.config().model);
            if json {
                println!("{}", storage::to_json(&summary)?);
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
            recipe,
            backend,
            threads,
            data,
            limits,
            out,
            force,
            json,
        } => {
            let mut config = recipe.apply(&variant.config())?;
            config.fit = fit.unwrap_or(config.fit);
            let fit = config.fit;
            config.epochs = epochs.unwrap_or(config.epochs);
            config.batch_size = batch_size.unwrap_or(config.batch_size);
            config.learning_rate = learning_rate.unwrap_or(config.learning_rate);
            config.seed = seed.unwrap_or(config.seed);
            config.validate()?;
            // The folder is claimed before the data loads, so a refusal comes at once.
            let folder = RunFolder::new(&out);
            let lock = folder.claim(force)?;
            let splits = data.splits(fit, &limits)?;
            let selected = backend.select_for_training(threads.count(), &splits.train)?;
            train::train(
                variant,
                config,
                &limits,
                splits,
                selected,
                (&folder, &lock),
                json,
            )
        }
        Command::Study {
            epochs,
            seed,
            backend,
            threads,
            variants,
            refit,
            data,
            limits,
            catalogue,
            out,
            force,
        } => {
            let plan = fashion_trainer::study::StudyConfig {
                epochs,
                seed,
                limit_train: limits.limit_train,
                limit_eval: limits.limit_eval,
                variants: if variants.is_empty() {
                    Variant::ALL.to_vec()
                } else {
                    variants
                },
                refit,
            };
            train::study(
                plan,
                backend,
                threads,
                &data,
                catalogue.as_deref(),
                &out,
                force,
            )
        }
        Command::Report { from } => train::report(&from),
        Command::Bench {
            variant,
            backend,
            threads,
            batch_size,
            batches,
            warmup,
            synthetic,
            data,
        } => {
            let bench = train::BenchArgs {
                variant,
                batch_size,
                batches,
                warmup,
                synthetic,
            };
            train::bench(&bench, backend, threads, &data)
        }
        Command::Shards { data, out } => {
            let (train, test) = data.load()?;
            let (manifest, files) = shards::make_shards(&train, &test);
            storage::create_dir(&out)?;
            for (name, bytes) in &files {
                storage::write(&out.join(name), bytes)?;
            }
            storage::write_json(&out.join("manifest.json"), &manifest)?;
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
            logits,
        } => {
            let set = inspect::EvalSet {
                split,
                data: &data,
                limit: limit_eval,
            };
            inspect::evaluate(&model, set, backend, json, logits.as_deref())
        }
        Command::Export { model, format, out } => inspect::export(&model, format, &out),
        Command::Predict {
            model,
            preprocess,
            json,
            save_inputs,
            images,
        } => inspect::predict(&model, preprocess, json, save_inputs.as_deref(), &images),
        Command::EvaluateProducts {
            model,
            catalogue,
            label_map,
            preprocess,
            limit,
            backend,
            json,
        } => inspect::evaluate_products(
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
