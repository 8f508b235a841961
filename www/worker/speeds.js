// @ts-check
// How fast this browser trains on its GPU and on its CPU, measured once per browser and
// adapter (a few steps each, in the core) and kept in Cache Storage, so `auto` trains on the
// faster backend without measuring on every visit.

import { messageOf, wasm } from './core.js';
import { dataStore } from './data.js';

/** @typedef {import('../pkg/fashion_trainer.js').BackendSpeeds} BackendSpeeds */

const CACHE = 'fashion-trainer-backend-speeds';

/** This browser and its WebGPU adapter, as a key (null: no adapter). */
async function adapterKey() {
  const gpu = /** @type {any} */ (navigator).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const parts = [navigator.userAgent, info.vendor, info.architecture, info.device, info.description];
  return `./backend-speeds?key=${encodeURIComponent(parts.map((p) => p ?? '').join('|'))}`;
}

/**
 * The speeds `auto` follows: remembered for this browser and adapter, else measured now (only
 * when a WebGPU adapter exists: without one, `auto` trains on the CPU anyway). Returns them with
 * where they came from, or why there are none.
 * @returns {Promise<{speeds: BackendSpeeds | null, remembered: boolean, failed: string | null}>}
 */
export async function backendSpeeds() {
  const key = await adapterKey();
  if (!key) return { speeds: null, remembered: false, failed: null };
  const cache = 'caches' in self ? await caches.open(CACHE).catch(() => null) : null;
  const kept = await cache?.match(key).then((r) => r?.json()).catch(() => null);
  if (kept && wasm().rememberSpeeds(kept)) return { speeds: kept, remembered: true, failed: null };
  try {
    const speeds = await wasm().measureBackends(dataStore());
    if (!speeds) return { speeds: null, remembered: false, failed: 'the GPU device could not be initialised' };
    await cache?.put(key, new Response(JSON.stringify(speeds))).catch(() => {});
    return { speeds, remembered: false, failed: null };
  } catch (error) {
    return { speeds: null, remembered: false, failed: messageOf(error) };
  }
}
