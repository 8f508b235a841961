// @ts-check
// What every part of the worker shares: the wasm module, posting events, running calls on one
// wasm object one at a time, and what happens when the core traps.

/** @typedef {import('../js/protocol.js').Events} Events */

/** The worker's global scope, typed as the dedicated worker it is. */
export const scope = /** @type {DedicatedWorkerGlobalScope} */ (/** @type {unknown} */ (self));

/** @type {typeof import('../pkg/fashion_trainer.js') | null} */
let api = null;
/** @type {Promise<typeof import('../pkg/fashion_trainer.js')> | null} */
let loading = null;
/** The module's linear memory, to report its size. @type {WebAssembly.Memory | null} */
let memory = null;
/** The compiled module, which helper workers instantiate too (worker/peers.js). @type {WebAssembly.Module | null} */
let compiled = null;

/**
 * Compiles the core's wasm. Helper workers get this module rather than compiling their own: the
 * browser then shares the machine code between them (a run with one helper started training in
 * 122-130 ms here, 163-186 ms when the helper compiled its own).
 */
async function compileCore() {
  const response = await fetch(new URL('../pkg/fashion_trainer_bg.wasm', import.meta.url));
  if (!response.ok) throw new Error(`the trainer's code could not be loaded: ${response.status} ${response.statusText}`);
  const copy = response.clone();
  try {
    return await WebAssembly.compileStreaming(response);
  } catch {
    return WebAssembly.compile(await copy.arrayBuffer()); // a host that does not say application/wasm
  }
}

/** The wasm module's exports, loaded (and instantiated) once. */
export function loadApi() {
  loading ??= (async () => {
    const mod = await import('../pkg/fashion_trainer.js');
    const module = await compileCore();
    memory = (await mod.default({ module_or_path: module })).memory;
    compiled = module;
    api = mod;
    return mod;
  })().catch((error) => {
    loading = null; // let a retry try again
    throw error;
  });
  return loading;
}

/** The compiled core, for helper workers; only after `loadApi` resolved. */
export function compiledCore() {
  if (!compiled) throw new Error('the trainer is not loaded yet');
  return compiled;
}

/** The loaded wasm module; only after `loadApi` resolved. */
export function wasm() {
  if (!api) throw new Error('the trainer is not loaded yet');
  return api;
}

/**
 * Posts event `type` to the page.
 * @template {keyof Events} K
 * @param {K} type
 * @param {Events[K]} data
 * @param {Transferable[]} [transfer]
 */
export function post(type, data, transfer = []) {
  scope.postMessage({ type, ...data }, transfer);
}

/**
 * The memory in use now: the wasm module's linear memory (it only ever grows) and the worker's
 * JS heap where the browser tells it (Chromium's `performance.memory`, absent in workers today).
 * @returns {import('../js/protocol.js').MemorySample}
 */
export function memoryUse() {
  const heap = /** @type {any} */ (performance).memory?.usedJSHeapSize;
  return { wasmBytes: memory?.buffer.byteLength ?? 0, heapBytes: Number.isFinite(heap) ? heap : null };
}

/** Set once the core trapped: why. */
let crashed = /** @type {string | null} */ (null);

/**
 * True (and the page told, once) when `error` is a wasm trap (a panic, an out-of-memory abort,
 * `unreachable`): the module's memory may be half-updated, so nothing may run in it again and
 * the page replaces this worker.
 */
export function isFatal(error) {
  if (!(error instanceof WebAssembly.RuntimeError)) return false;
  if (!crashed) {
    crashed = `${error.name}: ${error.message}`;
    post('fatal', { message: crashed });
  }
  return true;
}

/** Refuses work once the core has trapped. */
export function checkAlive() {
  if (crashed) throw new Error(`the trainer crashed (${crashed}); a fresh one is starting`);
}

/** A readable message from anything thrown (wasm errors, DOMExceptions, strings). */
export function messageOf(error) {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (error && typeof error.message === 'string') return error.message;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/**
 * A queue that runs its calls one at a time. wasm-bindgen objects refuse a second call while an
 * async method still borrows them, so every call into one object goes through its queue.
 */
export function serial() {
  let tail = Promise.resolve();
  /**
   * @template T
   * @param {() => T | Promise<T>} fn
   * @returns {Promise<T>}
   */
  return (fn) => {
    const run = tail.then(fn);
    tail = run.then(
      () => {},
      () => {},
    );
    return run;
  };
}

/** A copy of bytes that can be transferred without detaching a view of wasm memory. */
export const ownBytes = (bytes) => (bytes instanceof Uint8Array ? bytes.slice() : new Uint8Array(bytes));
