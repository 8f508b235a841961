// @ts-check
// The page's entry point: starts the Web Worker (worker.js, which owns the wasm core and all the
// work), wires the features together and renders them from the one store (js/state.js). Each
// feature lives in its own module under js/; js/protocol.js lists every message.

import { $, setStatus } from './js/dom.js';
import { fillLabelMap, renderCatalogueControls } from './js/catalogue.js';
import { clearEvaluation, renderEvaluation, useRunWeights } from './js/evaluation.js';
import './js/camera.js';
import './js/inside.js';
import { initPhotos } from './js/photos.js';
import { describeOldRuns, initRuns, renderRuns } from './js/runs.js';
import { workerCrashed } from './js/recovery.js';
import { fillSetup, initSetup, renderSetup } from './js/setup.js';
import { FAULTS, LIMIT, isBusyRunning, isTraining, store } from './js/state.js';
import { loadRuns } from './js/storage.js';
import { fillStudyForm, openSavedStudy, renderStudy } from './js/study.js';
import { heldElsewhere, watchRunLock } from './js/tabs.js';
import { resumeRun, showCurves, startRun } from './js/training.js';
import { on, send, startWorker } from './js/worker-client.js';

const el = {
  backendNotice: $('backend-notice', HTMLElement),
  limitNotice: $('limit-notice', HTMLElement),
  tabNotice: $('tab-notice', HTMLElement),
  retry: $('retry', HTMLButtonElement),
  dataBox: $('data-box', HTMLElement),
  dataProgress: $('data-progress', HTMLProgressElement),
  dataProgressText: $('data-progress-text', HTMLElement),
  start: $('start', HTMLButtonElement),
  pause: $('pause', HTMLButtonElement),
  resume: $('resume', HTMLButtonElement),
  cancel: $('cancel', HTMLButtonElement),
};

const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Every part of the page follows the store. */
function render() {
  const state = store.get();
  const training = isTraining(state);
  const paused = state.run === 'paused';
  el.start.disabled = state.data !== 'ready' || training || paused || state.busy || state.elsewhere;
  el.tabNotice.hidden = !state.elsewhere;
  el.pause.disabled = state.run !== 'running';
  el.resume.disabled = !paused || state.busy;
  el.cancel.disabled = !(training || paused) || state.busy;
  renderSetup();
  renderRuns();
  renderEvaluation();
  renderCatalogueControls();
  renderStudy();
}

initSetup((run) => {
  clearEvaluation();
  startRun(run);
});
initRuns({
  resume: (run) => {
    clearEvaluation();
    resumeRun(run);
  },
  curves: showCurves,
  use: useRunWeights,
});

on('wasm-ready', ({ info }) => {
  const first = !store.get().info;
  store.set({ info });
  if (!first) return; // a retry: keep what the user has typed
  fillSetup(info);
  fillStudyForm(info);
  fillLabelMap(info.default_label_map);
  describeOldRuns().catch(() => {});
  openSavedStudy();
});

on('data-progress', (msg) => {
  el.dataBox.hidden = false;
  if (msg.totalKnown && msg.total > 0) {
    el.dataProgress.max = msg.total;
    el.dataProgress.value = msg.loaded;
  } else {
    el.dataProgress.removeAttribute('value'); // indeterminate until every size is known
  }
  const where = msg.fromCache ? ' (from the offline copy)' : '';
  el.dataProgressText.textContent =
    `${megabytes(msg.loaded)}${msg.totalKnown ? ` of ${megabytes(msg.total)}` : ''} · ${msg.shardsDone}/${msg.shardCount} shards${where}`;
});

on('measuring', () => {
  el.dataProgressText.textContent = 'Measuring how fast this browser trains on its GPU and on its CPU (a second or two)…';
});

on('ready', ({ trainCount, testCount, adapter, speeds }) => {
  el.retry.hidden = true;
  el.dataProgressText.textContent = `Ready: ${trainCount.toLocaleString('en-US')} training and ${testCount.toLocaleString('en-US')} test images.`;
  el.dataProgress.max = 1;
  el.dataProgress.value = 1;
  if (!isBusyRunning()) {
    const [text, kind] =
      speeds?.summary ? [`Auto ${speeds.remembered ? '(as measured on an earlier visit)' : ''}: ${speeds.summary}.`.replace(' :', ':'), 'ok']
        : adapter === true ? [`A WebGPU adapter is available: auto trains on the GPU${speeds?.failed ? ` (its speed could not be measured: ${speeds.failed})` : ''}.`, 'ok']
        : adapter === false ? ['No WebGPU adapter in this browser: training runs on the CPU, which is slower.', 'warn']
          : ['The backend is chosen when a run starts.', 'info'];
    el.backendNotice.textContent = text;
    el.backendNotice.dataset.kind = kind;
  }
  store.set({ data: 'ready' });
  setStatus(store.get().elsewhere ? 'Ready; another tab of this page is training a run.' : 'Ready. Choose a preset or your own settings, then Start.');
});

on('error', (msg) => {
  if (msg.where !== 'init' && msg.where !== 'data') return;
  store.set({ data: 'failed' });
  el.retry.hidden = false;
  el.dataProgressText.textContent = msg.shard ? `Failed: ${msg.shard}` : 'Failed.';
  setStatus(msg.message, 'error');
});

el.retry.addEventListener('click', () => {
  store.set({ data: 'loading' });
  el.retry.hidden = true;
  setStatus('Retrying…');
  el.dataProgress.removeAttribute('value');
  el.dataProgressText.textContent = 'Retrying the download…';
  send('init', {});
});

if (LIMIT) {
  el.limitNotice.hidden = false;
  el.limitNotice.textContent = `Quick run: ?limit=${LIMIT} trains and evaluates on at most ${LIMIT.toLocaleString('en-US')} images.`;
}
el.tabNotice.textContent = 'Another tab of this page is training a run. One run trains at a time, so Start, Resume and ' +
  'the study wait here until it stops there; its runs show as running, and this page catches up when it stops.';
store.subscribe(render);
store.set({ elsewhere: await heldElsewhere() });
await loadRuns({ elsewhere: store.get().elsewhere });
render();
// The other tab's run stopped: read what it stored (a run still marked running was cut off).
watchRunLock(async () => {
  if (isBusyRunning()) return;
  await loadRuns();
  openSavedStudy('This study stopped in another tab of this page.');
});
startWorker({
  onFailure: (message) => {
    store.set({ data: 'failed', run: 'idle' });
    el.retry.hidden = true; // a broken worker script needs a reload, not a retry
    setStatus(`The trainer could not run in a worker: ${message}.`, 'error');
  },
  onCrash: workerCrashed,
  faults: FAULTS,
});
initPhotos();
send('init', {});
// After one visit the page starts offline (sw.js); no service worker (a file: page, a private
// window) only means it needs the network next time.
navigator.serviceWorker?.register('sw.js', { updateViaCache: 'none' }).catch(() => {});
