//! The CLI as a user runs it: exact summary output, and one clear error line (never a panic) for
//! each kind of bad input.
#![cfg(not(target_family = "wasm"))]

mod common;
use common::{cli, scratch};

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use fashion_trainer::checkpoint;
use fashion_trainer::data::{IMAGE_PIXELS, encode_idx_images, encode_idx_labels};
use fashion_trainer::presets::Variant;

fn idx_images(count: u32) -> Vec<u8> {
    encode_idx_images(count, 28, 28, &vec![0u8; count as usize * IMAGE_PIXELS])
}

/// Writes a data directory whose four files are good except where `spoil` says.
fn data_dir(name: &str, spoil: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) -> PathBuf {
    let dir = scratch(name);
    let files = [
        ("train-images-idx3-ubyte", idx_images(20)),
        ("train-labels-idx1-ubyte", encode_idx_labels(&[1; 20])),
        ("t10k-images-idx3-ubyte", idx_images(10)),
        ("t10k-labels-idx1-ubyte", encode_idx_labels(&[2; 10])),
    ];
    for (file, bytes) in files {
        if let Some(bytes) = spoil(file, bytes) {
            std::fs::write(dir.join(file), bytes).unwrap();
        }
    }
    dir
}

fn assert_one_clear_error(args: &[&str], expect: &str) {
    let (code, _, stderr) = cli(args);
    assert_ne!(code, 0, "expected failure for {args:?}");
    assert!(
        !stderr.contains("panicked"),
        "panic for {args:?}:\n{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one error line for {args:?}, got:\n{stderr}"
    );
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(
        lines[0].contains(expect),
        "expected '{expect}' in: {stderr}"
    );
}

fn train_args(data: &Path, out: &Path) -> Vec<String> {
    [
        "train",
        "--epochs",
        "1",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn assert_bad_data(name: &str, expect: &str, spoil: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let data = data_dir(name, spoil);
    let out = data.join("out");
    let args = train_args(&data, &out);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_one_clear_error(&args, expect);
}

#[test]
fn summary_prints_the_seed_table() {
    let (code, stdout, _) = cli(&["summary", "--variant", "base"]);
    assert_eq!(code, 0);
    for line in [
        "        Layer (type)               Output Shape         Param #",
        "            Conv2d-1            [-1, 6, 28, 28]             156",
        "         AvgPool2d-3            [-1, 6, 14, 14]               0",
        "            Conv2d-4           [-1, 16, 10, 10]           2,416",
        "         AvgPool2d-6             [-1, 16, 5, 5]               0",
        "           Flatten-7                  [-1, 400]               0",
        "            Linear-8                  [-1, 120]          48,120",
        "           Linear-10                   [-1, 84]          10,164",
        "           Linear-12                   [-1, 10]             850",
        "Total params: 61,706",
        "Input size (MB): 0.002991",
        "Forward/backward pass size (MB): 0.114456",
        "Params size (MB): 0.235390",
        "Estimated Total Size (MB): 0.352837",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing {line:?} in\n{stdout}"
        );
    }
    let (code, json, _) = cli(&["summary", "--variant", "v1", "--json"]);
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["total_params"], 99_976);
}

#[test]
fn truncated_idx_is_one_clear_error() {
    assert_bad_data("truncated", "truncated", |f, b| {
        Some(if f.starts_with("train-images") {
            b[..b.len() - 100].to_vec()
        } else {
            b
        })
    });
}

#[test]
fn wrong_magic_is_one_clear_error() {
    assert_bad_data("magic", "not an IDX images file", |f, b| {
        Some(if f.starts_with("t10k-images") {
            encode_idx_labels(&[0; 10])
        } else {
            b
        })
    });
}

#[test]
fn label_out_of_range_is_one_clear_error() {
    assert_bad_data("label", "out of range", |f, b| {
        Some(if f.starts_with("train-labels") {
            encode_idx_labels(&[12; 20])
        } else {
            b
        })
    });
}

#[test]
fn count_mismatch_is_one_clear_error() {
    assert_bad_data("count", "has 20 images but", |f, b| {
        Some(if f.starts_with("train-labels") {
            encode_idx_labels(&[1; 19])
        } else {
            b
        })
    });
}

#[test]
fn missing_file_is_one_clear_error() {
    assert_bad_data("missing", "missing", |f, b| {
        (!f.starts_with("t10k-labels")).then_some(b)
    });
}

#[test]
fn weights_of_another_variant_are_one_clear_error() {
    let run = scratch("variant");
    let device = Device::flex();
    let v1 = Variant::V1.config();
    let bytes = pollster::block_on(checkpoint::to_bytes(
        &v1.model.init(&device),
        &v1.model,
        Some(&v1),
        "v1",
    ))
    .unwrap();
    std::fs::write(run.join("model.ftw"), bytes).unwrap();
    let base = Variant::Base.config();
    std::fs::write(
        run.join("config.json"),
        serde_json::to_string(&base).unwrap(),
    )
    .unwrap();
    let data = data_dir("variant-data", |_, b| Some(b));
    let args = [
        "evaluate",
        "--model",
        run.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ];
    assert_one_clear_error(&args, "these weights are for v1");

    // Not a weights file at all.
    std::fs::write(run.join("model.ftw"), b"<html>oops</html>").unwrap();
    assert_one_clear_error(&args, "not a fashion-trainer weights file");
}

#[test]
fn bad_arguments_are_refused() {
    let (code, _, stderr) = cli(&["summary", "--variant", "v7"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("unknown variant"), "{stderr}");
}
