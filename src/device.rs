//! Choosing the compute device: the `flex` CPU backend or a GPU through wgpu (WebGPU in
//! browsers), with the reason for the choice kept for the user.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::format::thousands;
use thiserror::Error;

/// Why the device asked for cannot be used.
#[derive(Debug, Error)]
pub enum DeviceError {
    /// `gpu` was asked for and no adapter could be initialised.
    #[error("device error: no usable GPU: {0}")]
    NoGpu(String),
}

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// The GPU when an adapter exists, else the CPU.
    #[default]
    Auto,
    /// The pure-Rust `flex` CPU backend.
    Cpu,
    /// wgpu: Vulkan / Metal / DX12 natively, WebGPU in a browser.
    Gpu,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" | "flex" => Ok(Self::Cpu),
            "gpu" | "wgpu" | "webgpu" => Ok(Self::Gpu),
            other => Err(format!(
                "unknown backend '{other}' (expected auto, cpu or gpu)"
            )),
        }
    }
}

/// The device in use and why.
#[derive(Clone, Debug)]
pub struct SelectedDevice {
    /// The device to create models and tensors on.
    pub device: Device,
    /// `cpu` or `gpu`.
    pub backend: &'static str,
    /// A sentence for the user, e.g. why the CPU is used.
    pub reason: String,
    /// Replicas that train each batch on the CPU (threads natively, workers in a page): 1 on a
    /// GPU.
    pub threads: usize,
    /// What a replica is, for [`describe`](Self::describe) (`thread`, `worker`); empty: unsaid.
    pub replica_unit: &'static str,
}

impl SelectedDevice {
    /// Trains on `threads` CPU threads (a GPU keeps one).
    pub fn with_threads(self, threads: usize) -> Self {
        self.with_replicas(threads, "thread")
    }

    /// Trains on `count` CPU replicas, each a `unit` (`thread`, `worker`); a GPU keeps one.
    pub fn with_replicas(mut self, count: usize, unit: &'static str) -> Self {
        if self.backend == "cpu" {
            self.threads = count.max(1);
            self.replica_unit = unit;
        }
        self
    }

    /// The same device for one replica, unsaid (a model predicting in one worker).
    pub fn single(&self) -> Self {
        Self {
            threads: 1,
            replica_unit: "",
            ..self.clone()
        }
    }

    /// The reason, with the replicas on the CPU: `CPU backend (flex) chosen, 2 workers`.
    pub fn describe(&self) -> String {
        if self.backend != "cpu" || self.replica_unit.is_empty() {
            return self.reason.clone();
        }
        let plural = if self.threads == 1 { "" } else { "s" };
        format!(
            "{}, {} {}{plural}",
            self.reason, self.threads, self.replica_unit
        )
    }
}

fn cpu(reason: String) -> SelectedDevice {
    SelectedDevice {
        device: Device::flex(),
        backend: "cpu",
        reason,
        threads: 1,
        replica_unit: "",
    }
}

/// How fast base trains on each backend here (training images per second), measured by
/// [`crate::training::measure_backends`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct BackendSpeeds {
    /// On the GPU, when there is one.
    pub gpu: Option<f64>,
    /// On the CPU, one replica.
    pub cpu: f64,
}

/// The share of one more replica's speed that data-parallel training keeps (the replicas wait
/// for each other's gradients and share the cores with the browser), measured here: 0.45-0.63
/// in the page (2 workers 1.45-1.63x one, README "Benchmarks"), 0.8 natively; the lower, so
/// `auto` never flatters the CPU.
pub const REPLICA_EFFICIENCY: f64 = 0.45;

impl BackendSpeeds {
    /// The CPU's estimated speed with `replicas` replicas.
    pub fn cpu_with(&self, replicas: usize) -> f64 {
        let extra = replicas.saturating_sub(1) as f64;
        self.cpu * (1.0 + REPLICA_EFFICIENCY * extra)
    }

    /// True when the GPU trains faster than the CPU with `replicas` replicas.
    pub fn gpu_is_faster(&self, replicas: usize) -> bool {
        self.gpu.is_some_and(|gpu| gpu > self.cpu_with(replicas))
    }

    /// What was measured and what `auto` does with it:
    /// `WebGPU 125 img/s, CPU 5,500 img/s per worker (about 9,900 with 2): training on the CPU`.
    pub fn summary(&self, replicas: usize, unit: &str) -> String {
        let rate = |r: f64| format!("{} img/s", thousands(r.round() as usize));
        let cpu = if replicas > 1 {
            format!(
                "CPU {} per {unit} (about {} with {replicas})",
                rate(self.cpu),
                thousands(self.cpu_with(replicas).round() as usize)
            )
        } else {
            format!("CPU {}", rate(self.cpu))
        };
        let gpu = self
            .gpu
            .map_or("no GPU".to_string(), |g| format!("GPU {}", rate(g)));
        let choice = if self.gpu_is_faster(replicas) {
            "GPU"
        } else {
            "CPU"
        };
        format!("measured {gpu}, {cpu}: training on the {choice}")
    }

    /// Speeds that are finite and positive (a remembered value may be anything).
    pub fn is_plausible(&self) -> bool {
        let ok = |r: f64| r.is_finite() && r > 0.0;
        ok(self.cpu) && self.gpu.is_none_or(ok)
    }
}

/// The backend speeds measured in this process, which `auto` follows.
static MEASURED: std::sync::Mutex<Option<BackendSpeeds>> = std::sync::Mutex::new(None);

/// Makes `auto` follow `speeds` (measured now, or remembered from an earlier visit).
pub fn remember_speeds(speeds: BackendSpeeds) {
    if let Ok(mut measured) = MEASURED.lock() {
        *measured = Some(speeds).filter(BackendSpeeds::is_plausible);
    }
}

/// The speeds `auto` follows, if any.
pub fn measured_speeds() -> Option<BackendSpeeds> {
    MEASURED.lock().ok().and_then(|m| *m)
}

/// The GPU device for measuring it, when one can be initialised (and was not lost).
pub async fn init_gpu_for_probe() -> Option<Device> {
    if gpu_lost().is_some() {
        return None;
    }
    init_gpu().await.ok()
}

/// Initialises the device asked for. `Gpu` fails when no adapter exists; `Auto` takes the faster
/// backend when they were measured ([`remember_speeds`]; `replicas`: the CPU replicas a run
/// would have), else the GPU when there is one, and says why.
pub async fn select_device(choice: BackendChoice) -> Result<SelectedDevice, DeviceError> {
    select_device_for(choice, 1, "worker").await
}

/// [`select_device`] for a run on `replicas` CPU replicas, each a `unit`.
pub async fn select_device_for(
    choice: BackendChoice,
    replicas: usize,
    unit: &str,
) -> Result<SelectedDevice, DeviceError> {
    if choice == BackendChoice::Cpu {
        return Ok(cpu("CPU backend (flex) chosen".into()));
    }
    if let Some(reason) = gpu_lost() {
        return after_gpu_loss(choice, &reason);
    }
    if choice == BackendChoice::Auto
        && let Some(speeds) = measured_speeds()
        && !speeds.gpu_is_faster(replicas)
    {
        return Ok(cpu(speeds.summary(replicas, unit)));
    }
    let measured = match measured_speeds() {
        Some(speeds) if choice == BackendChoice::Auto => speeds.summary(replicas, unit),
        _ => "GPU backend (wgpu) chosen".into(),
    };
    match init_gpu().await {
        Ok(device) => Ok(SelectedDevice {
            device,
            backend: "gpu",
            reason: measured,
            threads: 1,
            replica_unit: "",
        }),
        Err(why) if choice == BackendChoice::Auto => Ok(cpu(format!(
            "no usable GPU ({why}); using the CPU backend (flex)"
        ))),
        Err(why) => Err(DeviceError::NoGpu(why)),
    }
}

/// What `auto` and `gpu` get once the GPU device was lost: wgpu's runtime cannot be initialised
/// a second time in one process (Burn refuses it), so the GPU is back only in a new one (a
/// reloaded page, a fresh Web Worker).
fn after_gpu_loss(choice: BackendChoice, reason: &str) -> Result<SelectedDevice, DeviceError> {
    let why = format!("the GPU device was lost ({reason}); reload the page to use the GPU again");
    match choice {
        BackendChoice::Gpu => Err(DeviceError::NoGpu(why)),
        _ => Ok(cpu(format!("{why}; using the CPU backend (flex)"))),
    }
}

/// The wgpu runtime can be initialised once per process; later requests reuse its device.
static GPU_DEVICE: std::sync::Mutex<Option<Device>> = std::sync::Mutex::new(None);
/// Why the GPU device was lost, once the browser (or a driver reset) took it away.
static GPU_LOST: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Drops the cached GPU device after it was lost (`reason`: what the browser said): nothing
/// may compute on it again, and later runs and models get the CPU (`auto`) or an error (`gpu`)
/// that says why.
pub fn forget_gpu(reason: &str) {
    if let Ok(mut device) = GPU_DEVICE.lock() {
        *device = None;
    }
    if let Ok(mut lost) = GPU_LOST.lock() {
        *lost = Some(reason.to_string());
    }
}

/// Why the GPU device was lost, if it was.
pub fn gpu_lost() -> Option<String> {
    GPU_LOST.lock().ok().and_then(|lost| lost.clone())
}

async fn init_gpu() -> Result<Device, String> {
    if let Some(device) = GPU_DEVICE.lock().map_err(|e| e.to_string())?.clone() {
        return Ok(device);
    }
    let device = init_gpu_runtime().await?;
    *GPU_DEVICE.lock().map_err(|e| e.to_string())? = Some(device.clone());
    Ok(device)
}

/// Runs the module's static constructors, once. pliron (under CubeCL's GPU compiler) registers
/// its IR through `inventory`, whose constructors wasm-ld collects into `__wasm_call_ctors`. A
/// module that never calls that itself is linked "command-style": wasm-ld wraps *every* export
/// in a call to it, and the WebGPU backend calls exports (externref table slots) thousands of
/// times a training step, so rerunning the constructors each time kept the worker busy and
/// halved training speed on a CPU-bound adapter. Calling it here ends the wrapping (the
/// `inventory` crate's docs on WebAssembly say the same). The page runs it at instantiation
/// (web.rs's start function); GPU setup runs it too, for hosts that skip the start function,
/// such as wasm-bindgen-test's runner.
#[cfg(target_family = "wasm")]
pub fn run_static_constructors() {
    unsafe extern "C" {
        fn __wasm_call_ctors();
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the linker-made constructor runner, called once, before any GPU work reads what
    // the constructors register.
    ONCE.call_once(|| unsafe { __wasm_call_ctors() });
}

async fn init_gpu_runtime() -> Result<Device, String> {
    #[cfg(target_family = "wasm")]
    {
        run_static_constructors();
        Device::wgpu_options()
            .graphics_api(burn::tensor::wgpu::WgpuBackend::WebGpu)
            .init_async()
            .await
            .map_err(|e| format!("{e}"))
    }
    #[cfg(not(target_family = "wasm"))]
    {
        Device::wgpu_options().init().map_err(|e| format!("{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_gpu_leaves_auto_on_the_cpu_and_refuses_gpu() {
        let auto = after_gpu_loss(BackendChoice::Auto, "destroyed: Device was destroyed.").unwrap();
        assert_eq!(auto.backend, "cpu");
        assert!(
            auto.reason
                .contains("the GPU device was lost (destroyed: Device was destroyed.)"),
            "{}",
            auto.reason
        );
        assert!(
            auto.reason.ends_with("using the CPU backend (flex)"),
            "{}",
            auto.reason
        );
        let gpu = after_gpu_loss(BackendChoice::Gpu, "unknown")
            .unwrap_err()
            .to_string();
        assert!(
            gpu.contains("the GPU device was lost (unknown); reload the page"),
            "{gpu}"
        );
    }

    #[test]
    fn auto_weighs_the_gpu_against_every_cpu_replica() {
        let speeds = BackendSpeeds {
            gpu: Some(6000.0),
            cpu: 5000.0,
        };
        assert!(speeds.gpu_is_faster(1));
        // 5,000 + 0.45 x 5,000 = 7,250 with two replicas: the CPU wins.
        assert!(!speeds.gpu_is_faster(2));
        assert_eq!(
            speeds.summary(2, "worker"),
            "measured GPU 6,000 img/s, CPU 5,000 img/s per worker (about 7,250 with 2): \
             training on the CPU"
        );
        assert_eq!(
            speeds.summary(1, "thread"),
            "measured GPU 6,000 img/s, CPU 5,000 img/s: training on the GPU"
        );
        let bad = BackendSpeeds {
            gpu: Some(f64::NAN),
            cpu: 1.0,
        };
        assert!(!bad.is_plausible());
        assert!(
            !BackendSpeeds {
                gpu: None,
                cpu: 0.0
            }
            .is_plausible()
        );
    }

    #[test]
    fn the_reason_names_the_cpu_replicas() {
        let one = cpu("CPU backend (flex) chosen".into());
        assert_eq!(one.describe(), "CPU backend (flex) chosen");
        let two = one.clone().with_replicas(2, "worker");
        assert_eq!(two.describe(), "CPU backend (flex) chosen, 2 workers");
        assert_eq!(two.threads, 2);
        assert_eq!(two.single().describe(), "CPU backend (flex) chosen");
        assert_eq!(
            one.with_threads(1).describe(),
            "CPU backend (flex) chosen, 1 thread"
        );
    }
}
