// @ts-check
// The WebGPU device the core computes on, watched for loss. Burn (CubeCL over wgpu) asks for it
// with GPUAdapter.requestDevice and keeps it to itself, so the worker wraps that call once to
// see the device too: when the browser loses it (a driver reset, the GPU process gone,
// `destroy()`), `onLost` hears the browser's reason.

/** Every device the core was given (a lost one is dropped, never reused). @type {any[]} */
const devices = [];
/** @type {Promise<string>} */
let lost = new Promise(() => {});
let isLost = false;

/**
 * Wraps `GPUAdapter.prototype.requestDevice` (before the core loads), so every device it gets is
 * watched. @param {(reason: string) => void} onLost
 */
export function watchGpuDevices(onLost) {
  const adapter = /** @type {any} */ (self).GPUAdapter?.prototype;
  if (!adapter?.requestDevice) return; // no WebGPU here: nothing to lose
  const request = adapter.requestDevice;
  let reportLoss;
  lost = new Promise((resolve) => {
    reportLoss = resolve;
  });
  adapter.requestDevice = async function requestDevice(...args) {
    const device = await request.apply(this, args);
    devices.push(device);
    device.lost.then((info) => {
      const reason = `${info.reason}: ${info.message}`.replace(/[.\s]+$/, '');
      isLost = true;
      reportLoss(reason);
      onLost(reason);
    });
    return device;
  };
}

/**
 * True once a device was lost, waiting up to `ms` for it: a failed GPU step may arrive just
 * before the browser's word on the loss.
 */
export async function gpuLostWithin(ms) {
  if (isLost) return true;
  const timeout = new Promise((resolve) => setTimeout(resolve, ms, false));
  return Promise.race([lost.then(() => true), timeout]);
}

/** The devices the core was given, for the fault hook. */
export const gpuDevices = () => devices;
