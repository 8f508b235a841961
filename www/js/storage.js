// @ts-check
// Runs and the study, kept in IndexedDB ('fashion-trainer': stores 'runs' and 'studies'), so they
// survive a reload. Without storage (a private window, a blocked database) the page keeps them in
// memory and says so. The page asks for persistent storage when a run starts and shows the space
// used under the runs table; a save that fails (a full disk or quota) is named there with what
// is still stored, which a reload resumes from.

import { $, setStatus } from './dom.js';
import { store } from './state.js';

/** @typedef {import('./state.js').RunRecord} RunRecord */

/**
 * The study as stored (key 'current'): the core's Study object, the backend it runs on, and a key
 * that ties its runs in the runs table to it.
 * @typedef {{id: 'current', key: string, study: import('./protocol.js').Study, backend: import('./protocol.js').BackendChoice, createdAt: number, updatedAt?: number}} StoredStudy
 */

/** @type {Promise<IDBDatabase | null>} */
const opened = new Promise((resolve) => {
  setTimeout(() => resolve(null), 5000); // a stuck open must not hold the page hostage
  try {
    // Version 2 added 'studies' (the study, key 'current') next to 'runs'.
    const open = indexedDB.open('fashion-trainer', 2);
    open.onupgradeneeded = () => {
      const names = open.result.objectStoreNames;
      if (!names.contains('runs')) open.result.createObjectStore('runs', { keyPath: 'id' });
      if (!names.contains('studies')) open.result.createObjectStore('studies', { keyPath: 'id' });
    };
    open.onsuccess = () => {
      // Another tab with a newer page may need to upgrade: let it.
      open.result.onversionchange = () => open.result.close();
      resolve(open.result);
    };
    open.onerror = () => resolve(null);
    open.onblocked = () => resolve(null);
  } catch {
    resolve(null);
  }
});

/**
 * Runs `fn` on object store `name` in one transaction; resolves with its request's result.
 * @param {IDBTransactionMode} mode
 * @param {(s: IDBObjectStore) => IDBRequest} fn
 */
async function transaction(mode, fn, name = 'runs') {
  const db = await opened;
  if (!db) return null;
  return track(new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    const req = fn(tx.objectStore(name));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  }));
}

/** The transactions not yet settled. @type {Set<Promise<any>>} */
const inFlight = new Set();

function track(promise) {
  inFlight.add(promise);
  const done = () => inFlight.delete(promise);
  promise.then(done, done);
  return promise;
}

/** Resolves once every write started so far has settled (before the run lock is let go). */
export const writesSettled = () => Promise.allSettled([...inFlight]);

const el = {
  info: $('storage-info', HTMLElement),
  error: $('storage-error', HTMLElement),
};

/** The finished epochs of each run as last stored, for saying what a failed save left. */
const storedEpochs = new Map();
/** What the saves of a run that failed since its last good one would have added. */
const unsaved = new Map();

/**
 * Keeps `run` (in the store at once, then in IndexedDB). `what` names what this save adds (`the
 * weights and results of epoch 3`): when saves fail, the page lists everything not stored since
 * the last good save, and says what is stored. @param {RunRecord} run
 */
export async function saveRun(run, what = 'its record') {
  const runs = new Map(store.get().runs);
  runs.set(run.id, run);
  store.set({ runs });
  try {
    await transaction('readwrite', (s) => s.put(run));
    storedEpochs.set(run.id, run.resumeWeights || run.status === 'done' ? run.history.length : 0);
    unsaved.delete(run.id);
    if (el.error.dataset.runId === run.id) el.error.hidden = true;
    showUsage();
  } catch (error) {
    const lost = [...(unsaved.get(run.id) ?? []), what];
    unsaved.set(run.id, lost);
    const stored = storedEpochs.get(run.id) ?? 0;
    const left = !stored
      ? 'Nothing of it is stored: after a reload it would start again.'
      : `Stored: ${stored === 1 ? 'epoch 1' : `epochs 1–${stored}`}, so after a reload the run resumes from epoch ${stored + 1}.`;
    el.error.dataset.runId = run.id;
    el.error.textContent = `Not saved for “${run.label}”: ${lost.join('; ')} (${saveError(error)}). ${left} ` +
      'Delete old runs to free space; the next save tries again.';
    el.error.hidden = false;
    setStatus(`“${run.label}”: could not store ${what} in this browser (${saveError(error)}); see under the runs table.`, 'warn');
  }
}

/** Why a save failed, in words. */
function saveError(error) {
  if (error?.name === 'QuotaExceededError') return "this browser's storage for the page is full: QuotaExceededError";
  return `${error?.name ?? 'Error'}: ${error?.message ?? error}`;
}

let usageTimer = 0;

/** Shows the storage used and allowed, and whether it is persistent (at most every 2 s). */
export function showUsage() {
  if (usageTimer) return;
  usageTimer = window.setTimeout(async () => {
    usageTimer = 0;
    const storage = navigator.storage;
    if (!storage?.estimate) return;
    try {
      const [{ usage = 0, quota = 0 }, persisted] = await Promise.all([storage.estimate(), storage.persisted?.() ?? false]);
      const mb = (bytes) => `${(bytes / 1e6).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB`;
      el.info.textContent = `Storage: ${mb(usage)} used of the ${mb(quota)} this browser allows the page; ` +
        (persisted ? 'persistent: the browser keeps it until you delete it.' : 'not persistent: the browser may clear it when space runs low.');
    } catch {
      // no estimate: nothing to show
    }
  }, 2000);
}

let askedToPersist = false;

/** Asks once (when a run starts) for storage the browser will not clear on its own. */
export function askToPersist() {
  if (askedToPersist) return;
  askedToPersist = true;
  navigator.storage?.persist?.().then(showUsage, () => {});
}

/** Forgets run `id`. */
export async function deleteRun(id) {
  const runs = new Map(store.get().runs);
  runs.delete(id);
  store.set({ runs });
  await transaction('readwrite', (s) => s.delete(id)).catch(() => {});
}

/**
 * The stored runs; a run still marked running lost its worker when the page went away, unless
 * another tab is training it (`elsewhere`).
 */
export async function loadRuns({ elsewhere = false } = {}) {
  const stored = /** @type {RunRecord[]} */ ((await transaction('readonly', (s) => s.getAll()).catch(() => null)) ?? []);
  const runs = new Map();
  for (const run of stored) {
    storedEpochs.set(run.id, run.resumeWeights || run.status === 'done' ? (run.history?.length ?? 0) : 0);
    if (run.status === 'running' && !elsewhere) {
      run.status = 'interrupted';
      await transaction('readwrite', (s) => s.put(run)).catch(() => {});
    }
    run.history ??= [];
    runs.set(run.id, run);
  }
  store.set({ runs });
  showUsage();
  if (!(await opened)) setStatus('This browser does not allow storage here: runs last until the page closes.', 'warn');
}

/** The stored study, if any. @returns {Promise<StoredStudy | null>} */
export async function loadStudy() {
  return transaction('readonly', (s) => s.get('current'), 'studies').catch(() => null);
}

/** Keeps the study. @param {StoredStudy} saved */
export async function saveStudy(saved) {
  saved.updatedAt = Date.now();
  await transaction('readwrite', (s) => s.put(saved), 'studies');
}

/** Forgets the study. */
export async function deleteStudy() {
  await transaction('readwrite', (s) => s.delete('current'), 'studies').catch(() => {});
}

/** A fresh id for a run or a study. */
export const newId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
