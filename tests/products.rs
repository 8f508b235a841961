//! `predict` and `evaluate-products` as a user runs them, on real catalogue photos
//! (`../shared/data/fashion-products`) and a model the test trains itself.
#![cfg(not(target_family = "wasm"))]

mod common;
use common::{cli, scratch};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn catalogue() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/fashion-products");
    assert!(
        dir.join("styles.csv").exists(),
        "the product catalogue is expected in {}",
        dir.display()
    );
    dir
}

/// A base model trained for one epoch on 10,000 images (seconds), shared by the tests.
fn model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let out = scratch("model");
        let (code, _, err) = cli(&[
            "train",
            "--variant",
            "base",
            "--epochs",
            "1",
            "--limit-train",
            "10000",
            "--limit-eval",
            "500",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "training failed: {err}");
        out
    })
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn predict_gives_the_top_three_of_each_photo() {
    let images = catalogue().join("images");
    let photos = [images.join("21379.jpg"), images.join("19311.jpg")];
    let mut args = vec!["predict", "--model", model().to_str().unwrap(), "--json"];
    args.extend(photos.iter().map(|p| p.to_str().unwrap()));
    let (code, out, err) = cli(&args);
    assert_eq!(code, 0, "{err}");
    let results = json(&out);
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        let probs: Vec<f64> = r["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_f64().unwrap())
            .collect();
        assert_eq!(probs.len(), 10);
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-4);
        let top3 = r["top3"].as_array().unwrap();
        assert_eq!(top3.len(), 3);
        let p0 = top3[0]["probability"].as_f64().unwrap();
        assert!(
            probs.iter().all(|&p| p <= p0 + 1e-9),
            "top-1 is the largest"
        );
        assert_eq!(r["class"], top3[0]["class"]);
    }

    // The same photo with the plain-text output names a class.
    let (code, out, _) = cli(&[
        "predict",
        "--model",
        model().to_str().unwrap(),
        "--preprocess",
        "center",
        photos[0].to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("21379.jpg: "), "{out}");
    assert!(out.matches('%').count() == 3, "three probabilities: {out}");
}

#[test]
fn predict_refuses_a_text_file_named_jpg() {
    let dir = scratch("text");
    let fake = dir.join("photo.jpg");
    std::fs::write(&fake, "just some text, not a photo").unwrap();
    let (code, out, err) = cli(&[
        "predict",
        "--model",
        model().to_str().unwrap(),
        fake.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("photo.jpg") && err.contains("not an image"),
        "{err}"
    );
}

#[test]
fn evaluate_products_on_a_catalogue_subset() {
    let (code, out, err) = cli(&[
        "evaluate-products",
        "--model",
        model().to_str().unwrap(),
        "--catalogue",
        catalogue().to_str().unwrap(),
        "--limit",
        "300",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let r = json(&out);
    let evaluated = r["evaluated"].as_u64().unwrap();
    let skipped = r["skipped"].as_array().unwrap().len() as u64;
    assert_eq!(evaluated + skipped, 300);
    assert!(
        evaluated >= 290,
        "nearly every photo is readable: {evaluated}"
    );
    let support: u64 = r["report"]["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["support"].as_u64().unwrap())
        .sum();
    assert_eq!(support, evaluated);
    // Ten classes, no training on product photos: a one-epoch model still beats chance clearly.
    let accuracy = r["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.2, "accuracy {accuracy}");
    let unmapped = r["unmapped"].as_array().unwrap();
    assert!(
        unmapped.iter().any(|u| u[0] == "Watches"),
        "watches have no class"
    );
    assert!(r["mistakes"].as_array().unwrap().len() <= 200);
}

#[test]
fn evaluate_products_names_a_bad_label_map_line() {
    let dir = scratch("map");
    let map = dir.join("map.csv");
    std::fs::write(
        &map,
        "articleType,class\nTshirts,T-shirt/top\nJeans,Jodhpurs\n",
    )
    .unwrap();
    let (code, _, err) = cli(&[
        "evaluate-products",
        "--model",
        model().to_str().unwrap(),
        "--catalogue",
        catalogue().to_str().unwrap(),
        "--label-map",
        map.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("line 3") && err.contains("Jodhpurs"), "{err}");
}
