// @ts-check
// Runs and the study, kept in IndexedDB ('fashion-trainer': stores 'runs' and 'studies'), so they
// survive a reload. Without storage (a private window, a blocked database) the page keeps them in
// memory and says so.

import { setStatus } from './dom.js';
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
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    const req = fn(tx.objectStore(name));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** Keeps `run` (in the store at once, then in IndexedDB). @param {RunRecord} run */
export async function saveRun(run) {
  const runs = new Map(store.get().runs);
  runs.set(run.id, run);
  store.set({ runs });
  try {
    await transaction('readwrite', (s) => s.put(run));
  } catch (error) {
    setStatus(`Could not store the run in this browser: ${error?.message ?? error}`, 'warn');
  }
}

/** Forgets run `id`. */
export async function deleteRun(id) {
  const runs = new Map(store.get().runs);
  runs.delete(id);
  store.set({ runs });
  await transaction('readwrite', (s) => s.delete(id)).catch(() => {});
}

/** The stored runs; a run still marked running lost its worker when the page went away. */
export async function loadRuns() {
  const stored = /** @type {RunRecord[]} */ ((await transaction('readonly', (s) => s.getAll()).catch(() => null)) ?? []);
  const runs = new Map();
  for (const run of stored) {
    if (run.status === 'running') {
      run.status = 'interrupted';
      await transaction('readwrite', (s) => s.put(run)).catch(() => {});
    }
    run.history ??= [];
    runs.set(run.id, run);
  }
  store.set({ runs });
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
