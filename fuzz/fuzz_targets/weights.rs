//! The weights formats (`.ftw` and `.safetensors`): `Checkpoint::from_bytes` then `build` on the
//! CPU device, as `fashion-trainer predict --model` and the page's "Load weights" do. A
//! checkpoint that parses builds a model or gives an error; a model that builds gives ten logits
//! for an image, and its weights survive a safetensors round trip and export to ONNX.
#![no_main]

use burn::tensor::{Device, Tensor};
use fashion_trainer::checkpoint::Checkpoint;
use fashion_trainer::data::NUM_CLASSES;
use fashion_trainer::interop::ExportFormat;
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
    let exported = ExportFormat::Safetensors.encode(&checkpoint).unwrap();
    let back = Checkpoint::from_bytes(&exported).unwrap();
    // A `.ftw` may list its tensors in any order; safetensors gives the model's.
    let sorted = |c: &Checkpoint| {
        let mut tensors = c.tensors().to_vec();
        tensors.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        tensors
    };
    assert_eq!(sorted(&back), sorted(&checkpoint));
    assert!(!ExportFormat::Onnx.encode(&checkpoint).unwrap().is_empty());
});
