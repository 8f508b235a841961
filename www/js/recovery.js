// @ts-check
// When the trainer fails under the page: its worker crashed (a wasm trap, out of memory) or the
// GPU device it trained on was lost. The page says what happened and what is kept; a crashed
// worker is replaced by a fresh one (the data comes from the offline copy) and the run it was
// training can be resumed from its last stored epoch; a run on a lost GPU continues on the CPU
// from its last finished epoch at once.

import { forgetCatalogue } from './catalogue.js';
import { $, setStatus } from './dom.js';
import { currentRun, store } from './state.js';
import { saveRun } from './storage.js';
import { continueStudy, openSavedStudy } from './study.js';
import { resetProgress, resumeRun } from './training.js';
import { on, restartWorker, send } from './worker-client.js';

const el = {
  notice: $('fault-notice', HTMLElement),
  backend: $('backend', HTMLSelectElement),
  studyBackend: $('study-backend', HTMLSelectElement),
};

let restarting = false;
/** Fresh workers started so far: a trainer that keeps crashing is not restarted for ever. */
let restarts = 0;
const MAX_RESTARTS = 3;

function notify(text, kind) {
  el.notice.textContent = text;
  el.notice.dataset.kind = kind;
  el.notice.hidden = false;
}

/**
 * The worker died (`message`: why): the run it trained is marked interrupted (its weights after
 * the last finished epoch are stored), and a fresh worker starts.
 */
export function workerCrashed(message) {
  const run = currentRun();
  let kept = 'Nothing finished is lost.';
  if (run && run.status === 'running') {
    const done = run.resumeWeights ? run.history.length : 0;
    const next = done + 1;
    if (done > 0) {
      saveRun({ ...run, status: 'interrupted', error: `the trainer crashed in epoch ${next}` });
      kept = run.study
        ? `Nothing finished is lost: Continue study resumes ${run.study.runId} from epoch ${next}.`
        : `Nothing finished is lost: Resume in the runs table continues “${run.label}” from epoch ${next}.`;
    } else {
      saveRun({ ...run, status: 'error', error: 'the trainer crashed before its first epoch ended' });
      kept = `“${run.label}” had not finished an epoch: start it again. Nothing else is lost.`;
    }
  }
  forgetCatalogue();
  resetProgress('The run stopped: the trainer crashed.');
  if (++restarts > MAX_RESTARTS) {
    store.set({ run: 'idle', studyActive: false, busy: false, model: null, currentRun: null, data: 'failed' });
    notify(`The trainer stopped unexpectedly again (${message}). ${kept} Reload the page to start it again.`, 'error');
    setStatus('The trainer keeps stopping: reload the page.', 'error');
    return;
  }
  store.set({ run: 'idle', studyActive: false, busy: false, model: null, currentRun: null, data: 'loading' });
  notify(`The trainer stopped unexpectedly (${message}). ${kept} A fresh trainer is starting…`, 'error');
  setStatus('Starting a fresh trainer…', 'warn');
  restarting = true;
  restartWorker();
  send('init', {});
}

on('ready', () => {
  if (!restarting) return;
  restarting = false;
  el.notice.textContent = el.notice.textContent.replace(/A fresh trainer is starting…$/, 'A fresh trainer is ready.');
  openSavedStudy('This study stopped when the trainer crashed.'); // the new worker holds no study yet
});

// The GPU is gone until a reload: the run on it continues on the CPU from its last finished epoch.
on('gpu-lost', ({ message, run: wasTraining, studyRun }) => {
  el.backend.value = 'cpu';
  el.studyBackend.value = 'cpu';
  const run = currentRun();
  if (!wasTraining || !run) {
    notify(`The GPU device was lost (${message}). Runs now train on the CPU; reload the page to use the GPU again.`, 'warn');
    return;
  }
  const from = run.resumeWeights ? run.history.length + 1 : 1;
  notify(`The GPU device was lost (${message}) in epoch ${from} of ${run.label}: it continues on the CPU from epoch ${from}. ` +
    'Reload the page to use the GPU again.', 'warn');
  if (studyRun) continueStudy('cpu');
  else resumeRun(run, 'cpu');
});
