// @ts-check
// What every part of the worker shares: the wasm module, posting events, and running calls on
// one wasm object one at a time.

/** @typedef {import('../js/protocol.js').Events} Events */

/** The worker's global scope, typed as the dedicated worker it is. */
export const scope = /** @type {DedicatedWorkerGlobalScope} */ (/** @type {unknown} */ (self));

/** @type {typeof import('../pkg/fashion_trainer.js') | null} */
let api = null;
/** @type {Promise<typeof import('../pkg/fashion_trainer.js')> | null} */
let loading = null;

/** The wasm module's exports, loaded (and instantiated) once. */
export function loadApi() {
  loading ??= (async () => {
    const mod = await import('../pkg/fashion_trainer.js');
    await mod.default();
    api = mod;
    return mod;
  })().catch((error) => {
    loading = null; // let a retry try again
    throw error;
  });
  return loading;
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
