//! The whole study from the command line, small: two variants, one epoch, a few thousand real
//! images. Checks the files, that the results table is computed from the runs' histories, that a
//! second invocation skips finished runs, and that `report --from` reproduces the report.
#![cfg(not(target_family = "wasm"))]

mod common;
use common::{cli_timed as cli, fashion_mnist_dir as data_dir, scratch};

use std::path::Path;

use serde_json::Value;

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn study_args<'a>(data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "study",
        "--variants",
        "base,v1",
        "--epochs",
        "1",
        "--limit-train",
        "3000",
        "--limit-eval",
        "1000",
        "--data",
        data,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// The rows of results.csv as field vectors, without the header.
fn csv_rows(dir: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("id,variant,fit,epochs,best_epoch,train_top1,val_top1,test_top1,seconds")
    );
    lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

#[test]
fn a_small_study_runs_resumes_and_reports() {
    let data = data_dir();
    assert!(
        data.exists(),
        "Fashion-MNIST is needed in {} (./build.sh data)",
        data.display()
    );
    let dir = scratch("small");
    let (data_s, dir_s) = (data.to_str().unwrap(), dir.to_str().unwrap());

    let (code, stdout, stderr, first_seconds) = cli(&study_args(data_s, dir_s, &[]));
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    for file in [
        "report.html",
        "report.md",
        "results.csv",
        "report.json",
        "study.json",
    ] {
        assert!(dir.join(file).is_file(), "missing {file}");
    }

    // One row per run: base, v1, then the refit of the better one on train+val.
    let rows = csv_rows(&dir);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let mut best: Option<(String, f64)> = None;
    for row in &rows[..2] {
        let run = dir.join("runs").join(&row[0]);
        for file in [
            "config.json",
            "history.json",
            "history.csv",
            "model.ftw",
            "results.json",
            "test-report.txt",
        ] {
            assert!(run.join(file).is_file(), "missing {}/{file}", row[0]);
        }
        let history = json(&run.join("history.json"));
        let result = json(&run.join("results.json"));
        let best_epoch: usize = row[4].parse().unwrap();
        assert_eq!((row[2].as_str(), row[3].as_str()), ("train", "1"));
        assert_eq!(best_epoch, 1);
        let record = &history[best_epoch - 1];
        let val = record["val_accuracy"].as_f64().unwrap();
        assert!(close(
            row[5].parse().unwrap(),
            record["train_accuracy"].as_f64().unwrap()
        ));
        assert!(close(row[6].parse().unwrap(), val));
        let test = result["test_report"]["accuracy"].as_f64().unwrap();
        assert!(close(row[7].parse().unwrap(), test));
        assert!(val > 0.5, "{} learned nothing: {val}", row[0]);
        if best.as_ref().is_none_or(|(_, b)| val > *b) {
            best = Some((row[0].clone(), val));
        }
    }
    let (chosen, _) = best.unwrap();
    let refit = &rows[2];
    assert_eq!(refit[0], format!("{chosen}+trainval"));
    assert_eq!(
        (refit[1].as_str(), refit[2].as_str()),
        (chosen.as_str(), "train+val")
    );
    assert_eq!(refit[6], "", "no validation on train+val");
    let refit_dir = dir.join("runs").join(&refit[0]);
    let refit_result = json(&refit_dir.join("results.json"));
    assert_eq!(refit_result["best_epoch"], 1);
    assert!(refit_result["history"][0]["val_accuracy"].is_null());

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for heading in [
        ">Setup</h2>",
        ">Results</h2>",
        ">Validation accuracy of all models</h2>",
        ">Pair-wise comparison</h2>",
        ">Models</h2>",
        ">Train vs train+val on the test set</h2>",
        "<h3 id=\"model-base\">",
        "<h3 id=\"model-v1\">",
    ] {
        assert!(html.contains(heading), "report.html lacks {heading}");
    }
    assert!(!html.contains("http") && !html.contains("src=") && !html.contains("url("));
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("## Train vs train+val on the test set"), "{md}");
    assert!(
        stdout.contains("| run | variant |"),
        "results table not printed:\n{stdout}"
    );

    // Again: everything is finished, so nothing is trained.
    let report_json = std::fs::read(dir.join("report.json")).unwrap();
    let (code, stdout, stderr, second_seconds) = cli(&study_args(data_s, dir_s, &[]));
    assert_eq!(code, 0, "{stderr}");
    for id in ["base", "v1", refit[0].as_str()] {
        assert!(
            stdout.contains(&format!("skipping {id}: already finished")),
            "{id} not skipped:\n{stdout}"
        );
    }
    assert!(!stderr.contains("training"), "trained again:\n{stderr}");
    assert!(
        second_seconds < first_seconds,
        "resume took {second_seconds:.1} s, the study {first_seconds:.1} s"
    );
    assert_eq!(std::fs::read(dir.join("report.json")).unwrap(), report_json);

    // `report --from` rebuilds the same report from the run directories alone.
    std::fs::remove_file(dir.join("report.json")).unwrap();
    std::fs::remove_file(dir.join("report.html")).unwrap();
    let (code, stdout, stderr, _) = cli(&["report", "--from", dir_s]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("| run | variant |"), "{stdout}");
    assert_eq!(
        String::from_utf8(std::fs::read(dir.join("report.json")).unwrap()).unwrap(),
        String::from_utf8(report_json).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("report.html")).unwrap(),
        html
    );

    // A catalogue section found next to the runs is added to the report.
    let report: Value = json(&dir.join("report.json"));
    let catalogue = serde_json::json!({
        "model": refit[0],
        "preprocess": "auto crop",
        "images": 7,
        "accuracy": 0.5,
        "report": report["refit"]["train"]["report"],
    });
    std::fs::write(dir.join("catalogue.json"), catalogue.to_string()).unwrap();
    let (code, _, stderr, _) = cli(&["report", "--from", dir_s]);
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains(">Product catalogue photos</h2>"));

    // An edited result (an epoch numbered 10^18, which the chart's ticks once followed) is left
    // out with a note naming it; the report of the rest is written at once.
    let path = dir.join("runs/v1/results.json");
    let mut edited = json(&path);
    edited["history"][0]["epoch"] = serde_json::json!(1_000_000_000_000_000_000u64);
    std::fs::write(&path, edited.to_string()).unwrap();
    let (code, stdout, stderr, seconds) = cli(&["report", "--from", dir_s]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("note: ignoring the result of run v1: record 1 is numbered epoch"),
        "{stderr}"
    );
    assert!(stderr.contains("unfinished runs: v1"), "{stderr}");
    assert!(stdout.contains("| run | variant |"), "{stdout}");
    assert!(seconds < 10.0, "the report took {seconds:.1} s");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_study_with_other_settings_is_only_replaced_when_forced() {
    let data = data_dir();
    let dir = scratch("settings");
    let (data_s, dir_s) = (data.to_str().unwrap(), dir.to_str().unwrap());
    let args = [
        "study",
        "--variants",
        "base",
        "--epochs",
        "1",
        "--limit-train",
        "500",
        "--limit-eval",
        "200",
        "--data",
        data_s,
        "--out",
        dir_s,
    ];
    let (code, _, stderr, _) = cli(&args);
    assert_eq!(code, 0, "{stderr}");
    let results = std::fs::read(dir.join("runs/base/results.json")).unwrap();
    let plan = std::fs::read(dir.join("study.json")).unwrap();
    let mut reseeded = args.to_vec();
    reseeded.extend(["--seed", "7"]);
    // Other settings: refused, and nothing in the folder changes.
    let (code, _, stderr, _) = cli(&reseeded);
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("holds a study with other settings"),
        "{stderr}"
    );
    assert!(
        stderr.contains("seed 42") && stderr.contains("seed 7"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(
        std::fs::read(dir.join("runs/base/results.json")).unwrap(),
        results
    );
    assert_eq!(std::fs::read(dir.join("study.json")).unwrap(), plan);
    // Forced: the run is trained again with the new settings.
    reseeded.push("--force");
    let (code, stdout, stderr, _) = cli(&reseeded);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("rerunning base: "), "{stdout}");
    assert!(!stdout.contains("skipping"), "{stdout}");
    let config = json(&dir.join("runs/base/results.json"));
    assert_eq!(config["config"]["seed"], 7);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_plans_are_one_clear_error() {
    let dir = scratch("bad");
    let (code, _, stderr, _) = cli(&[
        "study",
        "--variants",
        "base,v1",
        "--refit",
        "v3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("not among"),
        "{stderr}"
    );
    let (code, _, stderr, _) = cli(&["report", "--from", dir.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.starts_with("error: "), "{stderr}");
}
