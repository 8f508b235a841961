//! Two CPU runs with the same seed give identical histories. This lives in its own test binary
//! because Burn's flex backend keeps one process-wide random generator: tests running in parallel
//! threads would draw from it in between and make any run look irreproducible.
#![cfg(not(target_family = "wasm"))]

use std::sync::Arc;

use burn::tensor::Device;
use fashion_trainer::data::toy_dataset;
use fashion_trainer::model::LeNetConfig;
use fashion_trainer::training::{Trainer, TrainingConfig};

fn history(seed: u64) -> Vec<(f64, f64, Option<f64>, Option<f64>)> {
    let data = Arc::new(toy_dataset(320));
    let config = TrainingConfig::new(LeNetConfig::new().with_dropout(0.3))
        .with_epochs(2)
        .with_batch_size(32)
        .with_learning_rate(3e-3)
        .with_seed(seed);
    let mut trainer = Trainer::new(config, &Device::flex(), data.clone(), Some(data)).unwrap();
    while !trainer.is_done() {
        pollster::block_on(trainer.step(3)).unwrap();
    }
    trainer
        .history()
        .iter()
        .map(|r| (r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy))
        .collect()
}

#[test]
fn same_seed_gives_identical_histories() {
    let a = history(11);
    assert_eq!(a, history(11));
    assert_ne!(a, history(12));
}
