//! Choosing the compute device: the `flex` CPU backend or a GPU through wgpu (WebGPU in
//! browsers), with the reason for the choice kept for the user.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
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
}

fn cpu(reason: String) -> SelectedDevice {
    SelectedDevice {
        device: Device::flex(),
        backend: "cpu",
        reason,
    }
}

/// Initialises the device asked for. `Gpu` fails when no adapter exists; `Auto` falls back to the
/// CPU and says why.
pub async fn select_device(choice: BackendChoice) -> Result<SelectedDevice, DeviceError> {
    if choice == BackendChoice::Cpu {
        return Ok(cpu("CPU backend (flex) chosen".into()));
    }
    if let Some(reason) = gpu_lost() {
        return after_gpu_loss(choice, &reason);
    }
    match init_gpu().await {
        Ok(device) => Ok(SelectedDevice {
            device,
            backend: "gpu",
            reason: "GPU via wgpu".into(),
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
}
