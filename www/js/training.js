// @ts-check
// A run from the page's side: starting, resuming, pausing and cancelling it, its progress and
// curves, and what the worker reports (started, progress, epochs with their weights, done). A
// study's runs arrive through the same events and are kept as runs too.

import { TrainingCurves, chartsAvailable } from './charts.js';
import { $, keepFocus, pct, setStatus } from './dom.js';
import { chosenBackend, chosenGpuBatches, showSummary } from './setup.js';
import { LIMIT, currentRun, store } from './state.js';
import { askToPersist, newId, saveRun } from './storage.js';
import { claimRun } from './tabs.js';
import { on, request, send } from './worker-client.js';

/** @typedef {import('./state.js').RunRecord} RunRecord */

const el = {
  backendNotice: $('backend-notice', HTMLElement),
  progress: $('progress', HTMLProgressElement),
  progressText: $('progress-text', HTMLElement),
  progressMetrics: $('progress-metrics', HTMLElement),
  progressLive: $('progress-live', HTMLElement),
  chartsNote: $('charts-note', HTMLElement),
  start: $('start', HTMLButtonElement),
  pause: $('pause', HTMLButtonElement),
  resume: $('resume', HTMLButtonElement),
  cancel: $('cancel', HTMLButtonElement),
  studyStart: $('study-start', HTMLButtonElement),
  studyContinue: $('study-continue', HTMLButtonElement),
  studyPause: $('study-pause', HTMLButtonElement),
  studyResume: $('study-resume', HTMLButtonElement),
  studyCancel: $('study-cancel', HTMLButtonElement),
};

const curves = new TrainingCurves({
  loss: $('loss-chart', HTMLElement),
  acc: $('acc-chart', HTMLElement),
  lossText: $('loss-latest', HTMLElement),
  table: $('curves-table', HTMLTableElement),
  accText: $('acc-latest', HTMLElement),
});
if (!chartsAvailable()) {
  el.chartsNote.textContent = 'Charts are unavailable (vendor/uPlot.esm.js did not load); the runs table has the numbers.';
}

let lastAnnouncement = 0;

/** The buttons that act next, the setup form's or the study's. */
export function runControls() {
  return store.get().controls === 'study'
    ? { start: el.studyContinue.hidden ? el.studyStart : el.studyContinue, pause: el.studyPause, resume: el.studyResume }
    : { start: el.start, pause: el.pause, resume: el.resume };
}

/** Empties the progress display, with `text` in its place. */
export function resetProgress(text = 'No run yet.') {
  el.progress.value = 0;
  el.progress.removeAttribute('aria-valuetext');
  el.progressText.textContent = text;
  el.progressMetrics.textContent = '';
}

/** The backend notice: where the run trains and why. */
export function setBackendNotice(backend, reason) {
  el.backendNotice.textContent =
    `Training on the ${backend === 'gpu' ? 'GPU (WebGPU)' : 'CPU'}${reason ? `: ${reason}` : '.'}`;
  el.backendNotice.dataset.kind = backend === 'gpu' ? 'ok' : 'warn';
}

/** Shows run `run`'s stored curves (the Curves button). @param {RunRecord} run */
export function showCurves(run) {
  curves.reset(run.config.epochs, run.history);
  el.chartsNote.textContent = `Showing the stored epochs of ${run.label}.`;
  $('loss-chart', HTMLElement).scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

/** Everything the page does when a run (or a study's next run) is about to start. */
export function prepareRun(run, waiting) {
  store.set({ run: 'starting', currentRun: run.id });
  curves.reset(run.config.epochs, run.history);
  el.chartsNote.textContent = run.study
    ? `Study run ${run.study.runId}: running training values per chunk; validation at each epoch end.`
    : 'Running training values per chunk; validation at each epoch end.';
  resetProgress(waiting);
}

/**
 * Takes the run lock for this tab (see tabs.js), or says that another tab is training.
 * @returns {Promise<boolean>}
 */
export async function mayTrain() {
  if (await claimRun()) {
    askToPersist();
    return true;
  }
  store.set({ elsewhere: true });
  setStatus('Another tab of this page is training a run: start this one when it has finished there.', 'warn');
  return false;
}

/**
 * Starts a new run of a checked config from the setup form.
 * @param {{config: import('./protocol.js').TrainingConfig, description: string, label: string}} run
 */
export async function startRun({ config, description, label }) {
  if (!(await mayTrain())) return;
  /** @type {RunRecord} */
  const run = { id: newId(), label, description, config, history: [], bestEpoch: 0, weights: null, status: 'running', createdAt: Date.now(), limit: LIMIT };
  store.set({ controls: 'setup' });
  saveRun(run);
  prepareRun(run, 'Preparing the model…');
  setStatus(`Starting ${label}…`);
  keepFocus(el.cancel);
  send('start', { label, config, backend: chosenBackend(), gpuBatches: chosenGpuBatches(), limit: LIMIT || null });
}

/**
 * Continues a run a reload, a closed tab, a crash or a lost GPU cut off, from its last finished
 * epoch (from the start when it had none), on `backend`.
 * @param {RunRecord} run
 * @param {import('./protocol.js').BackendChoice} [backend]
 */
export async function resumeRun(run, backend = chosenBackend()) {
  if (!(await mayTrain())) return;
  store.set({ controls: 'setup' });
  const saved = run.history.length > 0 && !!run.resumeWeights;
  Object.assign(run, { status: 'running', error: undefined }, saved ? {} : { history: [], bestEpoch: 0, weights: null });
  saveRun(run);
  const from = `${saved ? 'Resuming' : 'Restarting'} ${run.label} from epoch ${run.history.length + 1}…`;
  prepareRun(run, from);
  setStatus(from);
  keepFocus(el.cancel);
  const { label, config } = run;
  const limit = run.limit || null;
  if (!saved) {
    send('start', { label, config, backend, limit });
    return;
  }
  send('resume-run', {
    label,
    config,
    backend,
    limit,
    resume: { history: run.history, best_epoch: run.bestEpoch, latest: run.resumeWeights, best: run.weights ?? undefined },
  });
}

function pauseRun() {
  if (store.get().run !== 'running') return;
  store.set({ run: 'pausing' });
  setStatus('Pausing after the current chunk…'); // focus moves to Resume once the worker confirms
  send('pause', {});
}

function resumeTraining() {
  if (store.get().run !== 'paused') return;
  store.set({ run: 'running' });
  setStatus(`Training ${currentRun()?.label ?? ''}…`);
  keepFocus(runControls().pause);
  send('resume', {});
}

/**
 * Cancels the run in progress; a study stops too and keeps its finished runs. A study's run that
 * is already being tested is let finish and recorded; the study stops after it.
 */
export async function cancelRun() {
  const run = currentRun();
  // A plain run is marked at once, before this tab lets go of the run lock (tabs.js).
  const plain = run?.status === 'running' && !run.study;
  if (plain) saveRun({ ...run, status: 'cancelled' });
  store.set({ studyActive: false, run: 'idle' });
  setStatus('Run cancelled.');
  keepFocus(runControls().start); // Cancel is disabled now
  const { finishing } = await request('cancel', {}).catch(() => ({ finishing: false }));
  if (finishing) {
    setStatus(`Stopping the study once ${run?.study?.runId ?? 'the finished run'} is recorded…`);
  } else if (!plain && run && run.status === 'running') {
    saveRun({ ...run, status: 'cancelled' });
  }
}

// The setup card's and the study's pause/resume/cancel drive the same run; which set was used
// decides where keyboard focus goes next.
for (const [controls, pause, resume, cancel] of /** @type {const} */ ([
  ['setup', el.pause, el.resume, el.cancel],
  ['study', el.studyPause, el.studyResume, el.studyCancel],
])) {
  for (const [b, action] of /** @type {const} */ ([[pause, pauseRun], [resume, resumeTraining], [cancel, cancelRun]])) {
    b.addEventListener('click', () => {
      store.set({ controls });
      action();
    });
  }
}

/** The run record of study run `runId` in the stored study, if one was started. */
export function studyRunRecord(runId) {
  const key = store.get().studyKey;
  return [...store.get().runs.values()].find((r) => r.study?.key === key && r.study.runId === runId) ?? null;
}

on('started', (msg) => {
  const state = store.get();
  // A study starts its next run by itself once the one before is recorded.
  if (state.run !== 'starting' && !(msg.studyRun && state.studyActive)) return;
  let run = currentRun();
  if (msg.studyRun) {
    // A study's run: its record is found again (when the run resumes) or made now.
    run = studyRunRecord(msg.studyRun) ?? { id: newId(), label: `study · ${msg.studyRun}`, createdAt: Date.now(), history: [], bestEpoch: 0, weights: null, status: 'running', config: msg.config };
    if (!msg.resumed) Object.assign(run, { history: [], bestEpoch: 0, weights: null, resumeWeights: null, testAccuracy: undefined });
    run.study = { key: state.studyKey, runId: msg.studyRun, spec: msg.spec };
    run.limit = msg.spec?.limit_train ?? 0;
    prepareRun(run, `Starting ${msg.studyRun}…`);
  }
  if (!run) return;
  saveRun({ ...run, description: msg.description, config: msg.config, status: 'running', error: undefined });
  store.set({ run: 'running', currentRun: run.id });
  showSummary(msg.summaryText);
  setBackendNotice(msg.backend, msg.backendReason);
  setStatus(`Training ${msg.label} on the ${msg.backend === 'gpu' ? 'GPU' : 'CPU'}…`);
  keepFocus(runControls().pause);
});

on('progress', (msg) => {
  if (!currentRun() || store.get().run === 'idle') return;
  const p = msg.progress;
  el.progress.value = Math.min(1, Math.max(0, p.fraction_done ?? 0));
  el.progress.setAttribute('aria-valuetext', `${Math.round(el.progress.value * 100)} % done. ${msg.line}`);
  el.progressText.textContent = msg.line;
  el.progressMetrics.textContent = msg.metrics;
  if (msg.notice) {
    el.backendNotice.textContent = msg.notice;
    el.backendNotice.dataset.kind = 'warn';
  }
  // Screen readers hear a short summary every 20 s rather than every chunk.
  const now = performance.now();
  if (now - lastAnnouncement > 20000) {
    lastAnnouncement = now;
    el.progressLive.textContent = `${Math.round(el.progress.value * 100)} percent done, ETA ${msg.eta}.`;
  }
  curves.addChunk(p);
});

on('epoch', ({ record, bestEpoch, latest, best, summary, memory, gpuCalls }) => {
  const run = currentRun();
  if (!run) return;
  curves.addEpoch(record);
  // Memory and WebGPU calls at each epoch's end, for the tests and the bench (nothing is shown):
  // a user-timing mark.
  const pageHeap = /** @type {any} */ (performance).memory?.usedJSHeapSize ?? null;
  performance.mark('fashion-trainer:epoch', { detail: { run: run.id, label: run.label, epoch: record.epoch, ...memory, pageHeapBytes: pageHeap, gpuCalls } });
  // The weights after this epoch (to resume after a reload) and the best ones so far.
  saveRun({
    ...run,
    history: [...run.history.filter((r) => r.epoch !== record.epoch), record],
    bestEpoch,
    resumeWeights: latest,
    weights: best ?? run.weights,
  }, `the weights and results of epoch ${record.epoch}`);
  setStatus(`Epoch ${record.epoch}/${run.config.epochs} of ${run.label} done: ${summary}.`);
});

on('done', ({ history, bestEpoch, studyRun, testTop1 }) => {
  const run = currentRun();
  // A cancelled plain run never ends; a study's run cancelled while being tested is recorded.
  if (!run || (store.get().run === 'idle' && !studyRun)) return;
  const test = testTop1 != null ? `; test top-1 ${pct(testTop1)}` : '';
  saveRun({ ...run, history, bestEpoch, status: 'done', resumeWeights: null, testAccuracy: testTop1 ?? run.testAccuracy },
    `its end (marked done${testTop1 != null ? ', with its test top-1' : ''})`);
  el.progress.value = 1;
  el.progressText.textContent = `Finished ${run.config.epochs} epochs; best epoch ${bestEpoch}${test}.`;
  store.set({ run: 'done' });
  if (!studyRun) {
    setStatus(`Run ${run.label} finished. Best epoch ${bestEpoch}. You can evaluate it on the test set.`);
    keepFocus($('evaluate', HTMLButtonElement));
  }
});

on('paused', () => {
  if (store.get().run !== 'pausing') return;
  store.set({ run: 'paused' });
  setStatus('Paused. Resume continues where training stopped.');
  keepFocus(runControls().resume);
});

// A model from the run in progress belongs to that run (the worker knows no run records).
on('model', ({ model }) => {
  const runId = model?.runId ?? (model ? store.get().currentRun : null);
  store.set({ model: model && { ...model, runId } });
});

on('error', (msg) => {
  const text = msg.message || 'Something went wrong.';
  if (['start', 'train', 'resume-run', 'study-run', 'study-start', 'study-continue'].includes(msg.where)) {
    const run = currentRun();
    if (run && run.status === 'running') saveRun({ ...run, status: 'error', error: text });
    store.set({ run: 'idle', studyActive: false });
    resetProgress('The run stopped.');
    keepFocus(runControls().start);
  }
  if (msg.where === 'pause' || msg.where === 'resume') store.set({ run: store.get().model ? 'paused' : 'idle' });
  if (msg.where !== 'init' && msg.where !== 'data') setStatus(text, 'error');
});
