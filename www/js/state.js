// @ts-check
// The page's state in one small store: features read it, change it with `set`, and re-render
// from `subscribe`. The store knows nothing of the DOM or the worker.

/**
 * @typedef {object} RunRecord A run as stored in IndexedDB ('runs').
 * @property {string} id
 * @property {string} label
 * @property {string} [description] Its settings in one line (computed by the core).
 * @property {import('./protocol.js').TrainingConfig} config
 * @property {import('./protocol.js').EpochRecord[]} history
 * @property {number} bestEpoch
 * @property {Uint8Array | null} weights The best epoch's weights.
 * @property {Uint8Array | null} [resumeWeights] The weights after the last finished epoch.
 * @property {'running' | 'done' | 'cancelled' | 'error' | 'interrupted'} status
 * @property {string} [error]
 * @property {number} createdAt
 * @property {number} [limit] `?limit=N` when it was trained.
 * @property {number} [testAccuracy]
 * @property {{key: string, runId: string, spec?: import('./protocol.js').RunSpec | null}} [study]
 */

/**
 * @typedef {object} PageState
 * @property {import('./protocol.js').PageInfo | null} info What the core offers, once loaded.
 * @property {'loading' | 'ready' | 'failed'} data
 * @property {'idle' | 'starting' | 'running' | 'pausing' | 'paused' | 'done'} run
 * @property {boolean} busy Evaluating, exporting, loading weights or a catalogue.
 * @property {import('./protocol.js').ModelInfo | null} model The worker's model.
 * @property {string | null} currentRun The id of the run being trained.
 * @property {Map<string, RunRecord>} runs
 * @property {'setup' | 'study'} controls Whose buttons act next after a pause, resume or cancel.
 * @property {boolean} studyActive The worker is running the study (also while a run is paused).
 * @property {string | null} studyKey The stored study's key (its runs carry it).
 * @property {boolean} elsewhere Another tab of this page is training (it holds the run lock).
 * @property {{model: string, source: string, images: number, preprocess: string, accuracy: number} | null} catalogue
 *   The last catalogue evaluation (a study report can include it).
 */

/**
 * A store of `initial` with subscribers.
 * @template T
 * @param {T} initial
 */
export function createStore(initial) {
  let state = initial;
  /** @type {Set<(state: T) => void>} */
  const listeners = new Set();
  return {
    get: () => state,
    /** @param {Partial<T>} patch */
    set(patch) {
      state = { ...state, ...patch };
      for (const listener of listeners) listener(state);
    },
    /** @param {(state: T) => void} listener */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The page's one store. */
export const store = createStore(/** @type {PageState} */ ({
  info: null,
  data: 'loading',
  run: 'idle',
  busy: false,
  model: null,
  currentRun: null,
  runs: new Map(),
  controls: 'setup',
  studyActive: false,
  studyKey: null,
  elsewhere: false,
  catalogue: null,
}));

/** True while a run trains (or a study runs): nothing else may take the worker's model then. */
export const isTraining = (s = store.get()) => ['starting', 'running', 'pausing'].includes(s.run) || s.studyActive;

/** True while a run trains or is paused. */
export const isBusyRunning = (s = store.get()) => isTraining(s) || s.run === 'paused';

/** The run being trained, if any. */
export const currentRun = (s = store.get()) => (s.currentRun ? s.runs.get(s.currentRun) ?? null : null);

/** `?limit=N` trains and evaluates on N images: quick runs and tests. */
export const LIMIT = (() => {
  const n = Number.parseInt(new URLSearchParams(location.search).get('limit') ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
})();

/** `?faults=trap@2,gpu-lost@2`: the tests' fault injection, handed to the first worker only (README, "Tests"). */
export const FAULTS = new URLSearchParams(location.search).get('faults') ?? '';
