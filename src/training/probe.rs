//! How fast each backend trains here, measured: `auto` trains on the faster one
//! ([`BackendSpeeds`], remembered by [`crate::device::remember_speeds`]). A few steps of the
//! base model on real images, after one untimed step (the GPU compiles its kernels then).

use std::sync::Arc;

use burn::tensor::Device;

use super::{Trainer, TrainingConfig, TrainingError};
use crate::clock::now_seconds;
use crate::data::Dataset;
use crate::device::{BackendSpeeds, init_gpu_for_probe};
use crate::model::LeNetConfig;

/// The timed part of measuring one backend, in seconds (the GPU's and the CPU's together stay
/// near 1.5 s).
pub const PROBE_SECONDS: f64 = 0.7;
/// Images the probe trains on (its steps cycle through them).
const PROBE_IMAGES: usize = 64 * 32;

/// Training images per second of base (batch 64) on `device`: one untimed step, then steps for
/// about `seconds` (at least two).
pub async fn measure_speed(
    device: &Device,
    train: &Dataset,
    seconds: f64,
) -> Result<f64, TrainingError> {
    let config = TrainingConfig::new(LeNetConfig::new())
        .with_epochs(1000)
        .with_batch_size(64);
    let images = Arc::new(train.slice(0..PROBE_IMAGES));
    let mut trainer = Trainer::new(config, device, images, None)?;
    trainer.step(1).await?;
    let (started, mut steps) = (now_seconds(), 0usize);
    while steps < 2 || now_seconds() - started < seconds {
        // Each step reads its metrics back, so the time is the GPU's too.
        trainer.step(1).await?;
        steps += 1;
    }
    Ok((steps * 64) as f64 / (now_seconds() - started).max(1e-9))
}

/// Measures the GPU and the CPU on `train`'s first images; `None` when no GPU can be
/// initialised (there is nothing to choose).
pub async fn measure_backends(train: &Dataset) -> Result<Option<BackendSpeeds>, TrainingError> {
    if train.len() < PROBE_IMAGES {
        return Err(TrainingError::Device(format!(
            "measuring the backends needs {PROBE_IMAGES} training images, there are {}",
            train.len()
        )));
    }
    let Some(device) = init_gpu_for_probe().await else {
        return Ok(None);
    };
    let gpu = measure_speed(&device, train, PROBE_SECONDS).await?;
    let cpu = measure_speed(&Device::flex(), train, PROBE_SECONDS).await?;
    Ok(Some(BackendSpeeds {
        gpu: Some(gpu),
        cpu,
    }))
}
