//! Which backend and how many CPU workers a run gets: the page's workers setting, and the
//! backends' speeds measured here (or remembered from an earlier visit), which `auto` follows.

use std::sync::atomic::{AtomicUsize, Ordering};

use tsify::Ts;
use wasm_bindgen::prelude::*;

use super::{DataStore, from_ts, js_err, to_ts};
use crate::device::{self, BackendSpeeds};
use crate::limits::WORKERS;
use crate::training::measure_backends;

/// The CPU workers a run gets (the page's setting), which `auto` weighs against the GPU.
static CPU_WORKERS: AtomicUsize = AtomicUsize::new(1);

/// The CPU workers of the next runs.
pub(super) fn cpu_workers() -> usize {
    CPU_WORKERS.load(Ordering::Relaxed)
}

/// Sets how many workers (the trainer's and its helpers') train the next CPU runs; a count
/// outside the core's range is an error naming it. Returns the count.
#[wasm_bindgen(js_name = setWorkers)]
pub fn set_workers(count: f64) -> Result<usize, JsError> {
    WORKERS.check(count).map_err(|e| js_err(e.message))?;
    CPU_WORKERS.store(count as usize, Ordering::Relaxed);
    Ok(count as usize)
}

/// Times a few training steps on the GPU and the CPU, on the loaded data, and makes `auto`
/// follow the result (which the page keeps for this browser and adapter); `undefined` when no
/// GPU device could be initialised.
#[wasm_bindgen(js_name = measureBackends)]
pub async fn measure_backends_js(store: &DataStore) -> Result<Option<Ts<BackendSpeeds>>, JsError> {
    let train = store.loaded()?.0.clone();
    let Some(speeds) = measure_backends(&train).await.map_err(js_err)? else {
        return Ok(None);
    };
    device::remember_speeds(speeds);
    to_ts(&speeds).map(Some)
}

/// Makes `auto` follow speeds measured on an earlier visit; implausible ones are ignored
/// (false).
#[wasm_bindgen(js_name = rememberSpeeds)]
pub fn remember_speeds(speeds: Ts<BackendSpeeds>) -> Result<bool, JsError> {
    let speeds = from_ts(speeds, "backend speeds")?;
    device::remember_speeds(speeds);
    Ok(speeds.is_plausible())
}

/// What `auto` does with the speeds, for the page's notice (`measured GPU 125 img/s, CPU
/// 5,500 img/s: training on the CPU`).
#[wasm_bindgen(js_name = speedsSummary)]
pub fn speeds_summary(speeds: Ts<BackendSpeeds>) -> Result<String, JsError> {
    let speeds = from_ts(speeds, "backend speeds")?;
    Ok(speeds.summary(cpu_workers(), "worker"))
}
