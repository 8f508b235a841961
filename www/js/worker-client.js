// @ts-check
// The page's side of the worker protocol (js/protocol.js): typed requests that resolve with the
// reply, and event listeners.

/** @typedef {import('./protocol.js').Requests} Requests */
/** @typedef {import('./protocol.js').Replies} Replies */
/** @typedef {import('./protocol.js').Events} Events */

/** A rejected request: the worker's message, and where it happened. */
export class WorkerError extends Error {
  /** @param {string} message @param {string} where */
  constructor(message, where) {
    super(message);
    this.where = where;
  }
}

/** @type {Worker | null} */
let worker = null;
const pending = new Map();
let nextId = 1;
/** @type {Map<string, Set<(msg: any) => void>>} */
const listeners = new Map();

/**
 * Sends request `type`; resolves with its reply, rejects with a WorkerError.
 * @template {keyof Requests} K
 * @param {K} type
 * @param {Requests[K]} data
 * @param {Transferable[]} [transfer]
 * @returns {Promise<Replies[K]>}
 */
export function request(type, data, transfer = []) {
  if (!worker) return Promise.reject(new WorkerError('the trainer is not running', type));
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ type, id, ...data }, transfer);
  });
}

/**
 * Sends request `type` without waiting for the reply; a failure is reported as an `error`
 * event (the run's errors arrive that way too).
 * @template {keyof Requests} K
 * @param {K} type
 * @param {Requests[K]} data
 */
export function send(type, data) {
  request(type, data).catch((error) => {
    // A worker that stopped is reported once, by startWorker's onFailure.
    if (error.where !== 'worker') emit('error', { where: error.where ?? type, message: error.message });
  });
}

/**
 * Calls `listener` for every event `type`.
 * @template {keyof Events} K
 * @param {K} type
 * @param {(msg: Events[K]) => void} listener
 */
export function on(type, listener) {
  if (!listeners.has(type)) listeners.set(type, new Set());
  listeners.get(type).add(listener);
}

function emit(type, msg) {
  for (const listener of listeners.get(type) ?? []) listener(msg);
}

/** What the page does when the worker cannot run, and when a running one dies. */
const handlers = { onFailure: (message) => {}, onCrash: (message) => {} };

/**
 * Starts the worker. `onFailure` hears when its script cannot run at all (every request then
 * fails); `onCrash` when a worker that was running dies (an uncaught error) or its core traps
 * (the `fatal` event): that worker is ended and its pending requests rejected, and
 * `restartWorker` starts a fresh one. `faults` goes to this worker only (tests, see README).
 * @param {{onFailure: (message: string) => void, onCrash: (message: string) => void, faults?: string}} options
 */
export function startWorker({ onFailure, onCrash, faults = '' }) {
  Object.assign(handlers, { onFailure, onCrash });
  const me = new Worker(faults ? `./worker.js?faults=${encodeURIComponent(faults)}` : './worker.js', { type: 'module' });
  worker = me;
  // A fresh worker (after a crash) gets the settings its predecessor had, before anything else.
  for (const [type, data] of settings) request(type, data).catch(() => {});
  let running = false; // it has said something: a later error is a crash, not a load failure
  const crash = (message) => {
    if (worker !== me) return;
    me.terminate();
    worker = null;
    for (const { reject } of pending.values()) reject(new WorkerError('the trainer crashed', 'worker'));
    pending.clear();
    handlers.onCrash(message);
  };
  me.addEventListener('message', ({ data: msg }) => {
    running = true;
    const waiter = msg.id != null ? pending.get(msg.id) : undefined;
    if (waiter) {
      pending.delete(msg.id);
      const { type, id, ...fields } = msg;
      if (type === 'error') waiter.reject(new WorkerError(fields.message, fields.where));
      else waiter.resolve(fields);
      return;
    }
    if (msg.type === 'fatal') crash(msg.message);
    else emit(msg.type, msg);
  });
  me.addEventListener('error', (event) => {
    event.preventDefault();
    if (running) {
      crash(event.message || 'the worker stopped');
      return;
    }
    for (const { reject } of pending.values()) reject(new WorkerError('the worker stopped', 'worker'));
    pending.clear();
    handlers.onFailure(event.message || 'the worker script failed to load');
  });
}

/** The last value of each setting request, sent again to a fresh worker. @type {Map<any, any>} */
const settings = new Map();

/**
 * Sends a request that sets part of the worker's state (how many workers train), and
 * remembers it for a fresh worker.
 * @template {keyof Requests} K
 * @param {K} type
 * @param {Requests[K]} data
 */
export function setting(type, data) {
  settings.set(type, data);
  return request(type, data);
}

/** Starts a fresh worker after a crash (without fault injection), with the same handlers. */
export function restartWorker() {
  startWorker(handlers);
}
