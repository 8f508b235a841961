//! Training on real Fashion-MNIST: a short run must learn.
#![cfg(not(target_family = "wasm"))]

use std::path::PathBuf;
use std::sync::Arc;

use burn::tensor::Device;
use fashion_trainer::data::{Fit, Splits, load_idx_dir};
use fashion_trainer::presets::Variant;
use fashion_trainer::training::{Evaluator, Trainer};

fn data_dir() -> PathBuf {
    std::env::var("FASHION_MNIST_DIR").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/fashion-mnist")
    })
}

#[test]
fn base_one_epoch_on_5000_images_reaches_75_percent() {
    let dir = data_dir();
    let (train_all, test) = load_idx_dir(&dir)
        .unwrap_or_else(|e| panic!("Fashion-MNIST is needed in {} (./build.sh data): {e}", dir.display()));
    let splits = Splits::new(train_all, test, Fit::Train);
    let train = Arc::new(splits.train.limited(Some(5_000)));
    let val = Arc::new(splits.val.unwrap().limited(Some(2_000)));
    let config = Variant::Base.config().with_epochs(1);
    let mut trainer = Trainer::new(config, &Device::flex(), train, Some(val)).unwrap();
    while !trainer.is_done() {
        pollster::block_on(trainer.step(25)).unwrap();
    }
    let record = &trainer.history()[0];
    let val_acc = record.val_accuracy.unwrap();
    eprintln!("1 epoch, 5,000 images: {record:?}");
    assert!(val_acc >= 0.75, "val top-1 {val_acc} < 0.75");
    assert!(record.train_loss < 1.5, "{record:?}");

    // The kept best weights give the same validation accuracy when evaluated afresh.
    let (epoch, best) = trainer.best().unwrap();
    assert_eq!(epoch, 1);
    let test = Arc::new(splits.test.limited(Some(2_000)));
    let eval = pollster::block_on(Evaluator::new(&best, test, 500).run()).unwrap();
    assert!(eval.accuracy() >= 0.70, "test top-1 {}", eval.accuracy());
}
