//! The weights format (`.ftw`): `Checkpoint::from_bytes` then `build` on the CPU device, as
//! `fashion-trainer predict --model` and the page's "Load weights" do. A checkpoint that parses
//! builds a model or gives an error; a model that builds gives ten logits for an image.
#![no_main]

use burn::tensor::{Device, Tensor};
use fashion_trainer::checkpoint::Checkpoint;
use fashion_trainer::data::NUM_CLASSES;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(checkpoint) = Checkpoint::from_bytes(data) else {
        return;
    };
    let device = Device::flex();
    let Ok(model) = checkpoint.build(&device) else {
        return;
    };
    // The same weights fit their own architecture by name too (the run-folder path).
    assert!(
        checkpoint
            .build_as(&checkpoint.model, &checkpoint.label, &device)
            .is_ok()
    );
    let logits = model.forward(Tensor::<4>::ones([1, 1, 28, 28], &device) * 0.5);
    assert_eq!(logits.dims(), [1, NUM_CLASSES]);
});
