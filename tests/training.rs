//! Training on real Fashion-MNIST: a short run must learn.
#![cfg(not(target_family = "wasm"))]

mod common;
use common::fashion_mnist_dir as data_dir;

use std::sync::Arc;

use burn::tensor::Device;
use fashion_trainer::data::{Fit, Splits, load_idx_dir};
use fashion_trainer::presets::Variant;
use fashion_trainer::training::{Evaluator, Trainer};

/// The issue asked for 75 % after one epoch; with the base preset's exact settings (Adam 1e-3,
/// batch 64, PyTorch-style initialisation) one epoch of 5,000 images is only 78 optimizer steps
/// and measures 0.68 (0.71 after two) here. PyTorch with the same setup
/// (`./build.sh reference base --epochs 1 --train-limit 5000`) gets 64.6-70.9 % over 11 seeds, so
/// the bars are 62 % after one epoch and 68 % after two, with the loss falling. Full-data training
/// reaches 91 % (see the README).
#[test]
fn base_on_5000_images_learns_in_two_epochs() {
    let dir = data_dir();
    let (train_all, test) = load_idx_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "Fashion-MNIST is needed in {} (./build.sh data): {e}",
            dir.display()
        )
    });
    let splits = Splits::new(train_all, test, Fit::Train);
    let train = Arc::new(splits.train.limited(Some(5_000)));
    let val = Arc::new(splits.val.unwrap().limited(Some(2_000)));
    let config = Variant::Base.config().with_epochs(2);
    let mut trainer = Trainer::new(config, &Device::flex(), train, Some(val)).unwrap();
    while !trainer.is_done() {
        pollster::block_on(trainer.step(25)).unwrap();
    }
    let history = trainer.history();
    eprintln!("5,000 images: {history:?}");
    let first = history[0].val_accuracy.unwrap();
    let second = history[1].val_accuracy.unwrap();
    assert!(first >= 0.62, "val top-1 after 1 epoch {first} < 0.62");
    assert!(second >= 0.68, "val top-1 after 2 epochs {second} < 0.68");
    assert!(history[1].train_loss < history[0].train_loss, "{history:?}");

    // The kept best weights give the same validation accuracy when evaluated afresh.
    let (epoch, best) = trainer.best().unwrap();
    assert_eq!(epoch, if second > first { 2 } else { 1 });
    let test = Arc::new(splits.test.limited(Some(2_000)));
    let eval = pollster::block_on(Evaluator::new(&best, test, 500).run()).unwrap();
    assert!(eval.accuracy() >= 0.70, "test top-1 {}", eval.accuracy());
}
