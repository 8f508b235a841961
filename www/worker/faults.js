// @ts-check
// Fault injection for the page's tests, off unless the page was opened with `?faults=` (README,
// "Tests"); the page hands the list only to its first worker. `trap@N` traps the wasm core and
// `gpu-lost@N` destroys the WebGPU device and `helper-trap@N` traps a helper worker's core, once
// each, when a run's epoch N-1 has ended (N >= 2).

import { wasm } from './core.js';
import { gpuDevices } from './gpu.js';
import { trapHelper } from './peers.js';

const pending = new URLSearchParams(self.location.search).get('faults')?.split(',').filter(Boolean) ?? [];

/** Injects the faults due once epoch `epoch` has ended. */
export function afterEpoch(epoch) {
  for (const fault of [...pending]) {
    const [kind, at] = fault.split('@');
    if (Number(at) !== epoch + 1) continue;
    pending.splice(pending.indexOf(fault), 1);
    if (kind === 'gpu-lost') for (const device of gpuDevices()) device.destroy();
    if (kind === 'trap') wasm().faultTrap();
    if (kind === 'helper-trap') trapHelper();
  }
}
