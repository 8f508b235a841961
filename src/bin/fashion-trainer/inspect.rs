//! The commands that use trained weights: `evaluate`, `predict` and `evaluate-products`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fashion_trainer::data::{self, Dataset, EvalSplit};
use fashion_trainer::device::BackendChoice;
use fashion_trainer::format::printable;
use fashion_trainer::interop::ExportFormat;
use fashion_trainer::model::LeNet;
use fashion_trainer::photo::{self, Preprocess};
use fashion_trainer::products::{CataloguePlan, CatalogueResult, CatalogueRun, LabelMap};
use fashion_trainer::run::EVAL_BATCH;
use fashion_trainer::storage::{self, load_model};
use fashion_trainer::training::{Evaluation, Evaluator};
use fashion_trainer::{Error, Result, clock};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{BackendArg, DataArgs, ModelArg};

/// The images an evaluation runs on.
pub struct EvalSet<'a> {
    /// `val` or `test`.
    pub split: EvalSplit,
    /// Where Fashion-MNIST is.
    pub data: &'a DataArgs,
    /// Only the first N images.
    pub limit: Option<usize>,
}

/// Prints the classification report and confusion matrix of the weights on `set`, and writes
/// every image's logits to `logits` when asked.
pub fn evaluate(
    model: &ModelArg,
    set: EvalSet<'_>,
    backend: BackendArg,
    json: bool,
    logits: Option<&Path>,
) -> Result<()> {
    let selected = backend.select()?;
    let (checkpoint, model) = load_model(model.path(), &selected.device)?;
    let (train_all, test) = set.data.load()?;
    let images = data::eval_images(&train_all, &test, set.split, set.limit);
    let mut evaluator = Evaluator::new(&model, Arc::new(images), EVAL_BATCH);
    if logits.is_some() {
        evaluator = evaluator.with_logits();
    }
    let evaluation = pollster::block_on(evaluator.run())?;
    if let Some(path) = logits {
        storage::write(path, logits_csv(&evaluation))?;
    }
    let report = evaluation.report();
    if json {
        println!("{}", storage::to_json(&report)?);
    } else {
        println!(
            "{} ({}) on the {} set, {} images, loss {:.4}\n",
            printable(&checkpoint.label),
            checkpoint.model.describe(),
            set.split,
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

/// One row per image: index, label, predicted class, the ten logits (shortest exact decimals).
fn logits_csv(evaluation: &Evaluation) -> String {
    let mut csv = String::from("index,label,predicted");
    for class in 0..data::NUM_CLASSES {
        csv.push_str(&format!(",logit_{class}"));
    }
    csv.push('\n');
    let rows = evaluation.logits.chunks(data::NUM_CLASSES);
    for (i, ((label, predicted), row)) in evaluation
        .labels
        .iter()
        .zip(&evaluation.predictions)
        .zip(rows)
        .enumerate()
    {
        csv.push_str(&format!("{i},{label},{predicted}"));
        for logit in row {
            csv.push_str(&format!(",{logit}"));
        }
        csv.push('\n');
    }
    csv
}

/// Writes the weights of `model` in `format` (or the one `out`'s extension names) and says how
/// to load the file.
pub fn export(model: &ModelArg, format: Option<ExportFormat>, out: &Path) -> Result<()> {
    let by_extension = ExportFormat::ALL.into_iter().find(|f| {
        out.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(&f.extension()[1..]))
    });
    let format = match (format, by_extension) {
        (Some(asked), Some(named)) if asked != named => {
            return Err(Error::file(
                out,
                format!(
                    "the name says {named} but --format is {asked}: rename the file or drop --format"
                ),
            ));
        }
        (Some(format), _) | (None, Some(format)) => format,
        (None, None) => {
            return Err(Error::file(
                out,
                "say --format safetensors, onnx or ftw, or end the file name with .safetensors, .onnx or .ftw",
            ));
        }
    };
    // Built once, so the weights are checked against their architecture before export.
    let (checkpoint, _) = load_model(model.path(), &burn::tensor::Device::flex())?;
    let bytes = format.encode(&checkpoint)?;
    storage::write(out, &bytes)?;
    let info = format.info(&checkpoint.model);
    println!(
        "wrote {} ({}, {} bytes)\n\nLoad it with:\n{}",
        printable(&out.display().to_string()),
        info.title,
        bytes.len(),
        info.snippet
    );
    Ok(())
}

/// The ten class probabilities of each 784-pixel input, in order.
fn probabilities(model: &LeNet, inputs: Vec<u8>) -> Result<Vec<Vec<f32>>> {
    let count = inputs.len() / data::IMAGE_PIXELS;
    let set = Dataset::new(inputs, vec![0; count])?;
    let evaluation = pollster::block_on(
        Evaluator::new(model, Arc::new(set), EVAL_BATCH)
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

/// Classifies photos and prints the top three of each (or JSON with all ten).
pub fn predict(
    model: &ModelArg,
    preprocess: Preprocess,
    json: bool,
    save_inputs: Option<&Path>,
    images: &[PathBuf],
) -> Result<()> {
    let selected = BackendArg {
        backend: BackendChoice::Cpu,
    }
    .select()?;
    let (_, model) = load_model(model.path(), &selected.device)?;
    // Every photo is read and preprocessed first, so a bad one fails before any output.
    let mut photos = Vec::with_capacity(images.len());
    let mut inputs = Vec::with_capacity(images.len() * data::IMAGE_PIXELS);
    for path in images {
        let steps = photo::preprocess(&storage::read(path)?, preprocess)
            .map_err(|e| Error::file(path, e))?;
        if let Some(dir) = save_inputs {
            storage::create_dir(dir)?;
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            let out = dir.join(format!("{stem}-28x28.png"));
            image::GrayImage::from_raw(28, 28, steps.input.clone())
                .ok_or_else(|| Error::file(&out, "the model input is not 28x28"))?
                .save(&out)
                .map_err(|e| Error::file(&out, e))?;
        }
        if let Ok(input) = steps.classifiable() {
            inputs.extend_from_slice(input);
        }
        photos.push((path, steps.found));
    }
    let mut all = if inputs.is_empty() {
        Vec::new()
    } else {
        probabilities(&model, inputs)?
    }
    .into_iter();
    let mut results = Vec::new();
    for (path, found) in photos {
        let name = printable(&path.display().to_string()).into_owned();
        // Blank photos were left out of the batch: they get a reason, not a class.
        let probs = if found.blank { None } else { all.next() };
        let Some(probs) = probs else {
            let reason = photo::PhotoError::Blank.to_string();
            if json {
                results.push(serde_json::json!({
                    "image": path.display().to_string(), "preprocess": preprocess, "object_found": false,
                    "blank": true, "class": null, "error": reason,
                }));
            } else {
                println!("{name}: {reason}");
            }
            continue;
        };
        let top = ranked(&probs);
        if json {
            results.push(serde_json::json!({
                "image": path.display().to_string(),
                "preprocess": preprocess,
                "object_found": found.object_found,
                "blank": false,
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
            let note = if found.object_found {
                ""
            } else {
                "  [no object stood out from the background: the whole photo was used]"
            };
            println!(
                "{name}: {}  ({}){note}",
                data::CLASS_NAMES[top[0].0],
                three.join(", ")
            );
        }
    }
    if json {
        println!("{}", storage::to_json(&results)?);
    }
    Ok(())
}

/// Evaluates the weights on a product catalogue and prints the result.
pub fn evaluate_products(
    model: &ModelArg,
    catalogue: Option<&Path>,
    label_map: Option<&Path>,
    preprocess: Preprocess,
    limit: Option<usize>,
    backend: BackendArg,
    json: bool,
) -> Result<()> {
    let selected = backend.select()?;
    let (checkpoint, model) = load_model(model.path(), &selected.device)?;
    let dir = storage::catalogue_dir(catalogue)?;
    let map = match label_map {
        Some(path) => LabelMap::parse(&String::from_utf8_lossy(&storage::read(path)?))?,
        None => LabelMap::builtin(),
    };
    let (result, timing) = catalogue_result(&model, &dir, &map, preprocess, limit)?;
    if json {
        println!("{}", storage::to_json(&result)?);
    } else {
        println!(
            "{} ({}) on the catalogue in {}\n",
            printable(&checkpoint.label),
            checkpoint.model.describe(),
            dir.display()
        );
        print!("{}", printable(&result.to_text()));
        println!(
            "\n{:.3} s preprocessing ({:.0} photos/s), {:.3} s predicting",
            timing.preprocessing,
            timing.photos as f64 / timing.preprocessing.max(1e-9),
            timing.predicting
        );
    }
    Ok(())
}

/// Where a catalogue evaluation's time went.
pub struct CatalogueTiming {
    /// Seconds reading and preprocessing photos.
    pub preprocessing: f64,
    /// Seconds predicting.
    pub predicting: f64,
    /// Photos (mapped rows) handled.
    pub photos: usize,
}

/// Preprocesses and predicts the mapped photos of the catalogue in `dir`.
pub fn catalogue_result(
    model: &LeNet,
    dir: &Path,
    map: &LabelMap,
    preprocess: Preprocess,
    limit: Option<usize>,
) -> Result<(CatalogueResult, CatalogueTiming)> {
    let mut plan = CataloguePlan::new(&storage::read(&dir.join("styles.csv"))?, map)?;
    if let Some(n) = limit {
        plan.items.truncate(n);
    }
    let started = clock::now_seconds();
    let ids: Vec<String> = plan.items.iter().map(|i| i.id.clone()).collect();
    let mut run = CatalogueRun::new(plan, preprocess);
    let bar = ProgressBar::new(ids.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("photos [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    for id in &ids {
        let path = dir.join("images").join(format!("{id}.jpg"));
        // A missing or broken photo is recorded as skipped and reported; it does not stop the
        // run.
        if !path.exists() {
            run.add_missing(id);
        } else {
            match storage::read(&path) {
                Ok(bytes) => drop(run.add_photo(id, &bytes)),
                Err(err) => run.add_skipped(id, &err.to_string()),
            }
        }
        bar.inc(1);
        bar.set_message(run.progress().line);
    }
    bar.finish_and_clear();
    let preprocessed = clock::now_seconds();
    let evaluation = pollster::block_on(
        Evaluator::new(model, Arc::new(run.dataset()?), EVAL_BATCH)
            .with_probabilities()
            .run(),
    )?;
    let result = run.finish(&evaluation);
    Ok((
        result,
        CatalogueTiming {
            preprocessing: preprocessed - started,
            predicting: clock::now_seconds() - preprocessed,
            photos: ids.len(),
        },
    ))
}
