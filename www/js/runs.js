// @ts-check
// The runs table: every run kept in this browser with its accuracies, and what can be done with
// it (resume a run cut off, show its curves, use or download its weights, delete it).

import { $, button, cell, emptyRow, fileSafe, downloadBlob, pct, setStatus, statusCell } from './dom.js';
import { currentRun, isBusyRunning, isTraining, store } from './state.js';
import { deleteRun, saveRun } from './storage.js';
import { request } from './worker-client.js';

/** @typedef {import('./state.js').RunRecord} RunRecord */

const table = $('results', HTMLTableElement);

/**
 * What the buttons of a row do, wired by the page.
 * @type {{resume: (run: RunRecord) => void, curves: (run: RunRecord) => void, use: (run: RunRecord) => void}}
 */
const actions = { resume() {}, curves() {}, use() {} };

/** Wires the row buttons. @param {typeof actions} handlers */
export function initRuns(handlers) {
  Object.assign(actions, handlers);
}

/** Saves `bytes` as `<label>-epoch<N><extension>` (`.ftw` unless said). */
export function downloadWeights(bytes, label, epoch, extension = '.ftw') {
  downloadBlob(new Blob([/** @type {BlobPart} */ (bytes)], { type: 'application/octet-stream' }), `${fileSafe(label || 'model')}${epoch ? `-epoch${epoch}` : ''}${extension}`);
}

function confirmDelete(run) {
  if (!confirm(`Delete the run “${run.label}” and its weights from this browser?`)) return;
  const state = store.get();
  if (state.currentRun === run.id) store.set({ currentRun: null });
  deleteRun(run.id);
  setStatus(`Deleted the run ${run.label}.`);
}

/** Gives runs stored before descriptions were kept the core's description of their config. */
export async function describeOldRuns() {
  const old = [...store.get().runs.values()].filter((r) => !r.description);
  if (!old.length) return;
  const { descriptions } = await request('describe', { runs: old.map((r) => ({ config: r.config, limit: r.limit || null })) });
  old.forEach((run, i) => descriptions[i] && saveRun({ ...run, description: descriptions[i] }));
}

/** Redraws the table, keeping keyboard focus on the button that had it. */
export function renderRuns() {
  const state = store.get();
  const tbody = table.tBodies[0];
  const active = /** @type {HTMLElement} */ (document.activeElement);
  const focusKey = tbody.contains(active) ? [active.closest('tr')?.dataset.runId, active.dataset.action] : null;
  const list = [...state.runs.values()].sort((a, b) => a.createdAt - b.createdAt);
  if (!list.length) {
    emptyRow(tbody, 'No runs yet. Start one above.', 8);
    return;
  }
  const busy = isBusyRunning(state);
  const current = currentRun(state);
  tbody.replaceChildren(...list.map((run) => row(run, state, busy, run.id === current?.id)));
  if (focusKey) {
    /** @type {HTMLElement | null} */ (tbody.querySelector(`tr[data-run-id="${CSS.escape(focusKey[0] ?? '')}"] button[data-action="${focusKey[1]}"]`))?.focus();
  }
}

/** @param {RunRecord} run @param {import('./state.js').PageState} state */
function row(run, state, busy, isCurrent) {
  const tr = document.createElement('tr');
  tr.dataset.runId = run.id;
  const live = isCurrent && busy;
  if (isCurrent) tr.classList.add('current');
  const best = run.history.find((r) => r.epoch === run.bestEpoch) ?? run.history.at(-1);

  const name = cell('th', '');
  name.scope = 'row';
  name.append(cell('span', run.label, 'run-label'), cell('span', run.description ?? '', 'run-config'));
  if (run.status === 'running' && !isCurrent && state.elsewhere) {
    name.append(cell('span', 'Training in another tab of this page.', 'run-config'));
  } else if (run.study && run.study.key === state.studyKey && run.status !== 'done' && !live) {
    name.append(cell('span', 'A study run: Continue study in the Study section trains it.', 'run-config'));
  }
  const status = live && state.run === 'paused' ? 'paused' : run.status;
  const buttons = cell('td', '', 'actions');
  buttons.append(
    button('curves', 'Curves', `Show the learning curves of ${run.label}`, () => actions.curves(run), !run.history.length || busy),
    button('use', 'Use', `Use the weights of ${run.label} for the test set, your photos and catalogues`, () => actions.use(run),
      !run.weights || busy || state.busy || state.data !== 'ready' || state.model?.runId === run.id),
    button('weights', 'Weights', `Download the weights of ${run.label}`, () => downloadWeights(run.weights, run.label, run.bestEpoch), !run.weights),
    button('delete', 'Delete', `Delete the run ${run.label}`, () => confirmDelete(run), live || (run.status === 'running' && state.elsewhere)),
  );
  if (run.status === 'interrupted' && run.resumeWeights && !run.study) {
    buttons.prepend(
      button('resume-run', 'Resume', `Resume ${run.label} from epoch ${run.history.length + 1}`, () => actions.resume(run),
        isTraining(state) || state.run === 'paused' || state.data !== 'ready' || state.elsewhere),
    );
  }
  tr.append(
    name,
    statusCell(status, run.error),
    cell('td', `${run.history.length}/${run.config.epochs}`, 'num'),
    cell('td', best ? pct(best.train_accuracy) : '—', 'num'),
    cell('td', best ? pct(best.val_accuracy) : '—', 'num'),
    cell('td', run.bestEpoch ? String(run.bestEpoch) : '—', 'num'),
    cell('td', run.testAccuracy != null ? pct(run.testAccuracy) : '—', 'num'),
    buttons,
  );
  return tr;
}
