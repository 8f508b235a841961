// The page: DOM, charts and storage. All ML runs in worker.js (see its header for the protocol).

// Charts are optional: without the vendored uPlot the page still trains and reports.
const uPlot = await import('./vendor/uPlot.esm.js').then(
  (m) => m.default,
  () => null,
);

const $ = (id) => document.getElementById(id);
const el = {
  backendNotice: $('backend-notice'),
  limitNotice: $('limit-notice'),
  status: $('status'),
  retry: $('retry'),
  dataBox: $('data-box'),
  dataProgress: $('data-progress'),
  dataProgressText: $('data-progress-text'),
  form: $('setup'),
  fields: $('setup-fields'),
  preset: $('preset'),
  presetDescription: $('preset-description'),
  label: $('label'),
  conv1: $('conv1-kernels'),
  conv2: $('conv2-kernels'),
  dropout: $('dropout'),
  weightDecay: $('weight-decay'),
  learningRate: $('learning-rate'),
  batchSize: $('batch-size'),
  epochs: $('epochs'),
  seed: $('seed'),
  backend: $('backend'),
  formError: $('form-error'),
  start: $('start'),
  pause: $('pause'),
  resume: $('resume'),
  cancel: $('cancel'),
  progress: $('progress'),
  progressText: $('progress-text'),
  progressMetrics: $('progress-metrics'),
  progressLive: $('progress-live'),
  summary: $('summary'),
  paramCount: $('param-count'),
  chartsNote: $('charts-note'),
  lossChart: $('loss-chart'),
  accChart: $('acc-chart'),
  lossLatest: $('loss-latest'),
  accLatest: $('acc-latest'),
  results: $('results'),
  evaluate: $('evaluate'),
  saveWeights: $('save-weights'),
  loadWeights: $('load-weights'),
  weightsMessage: $('weights-message'),
  report: $('report'),
  confusion: $('confusion'),
  gallery: $('gallery'),
  galleryHeading: $('gallery-heading'),
  galleryNote: $('gallery-note'),
  galleryImages: $('gallery-images'),
  predictionBox: $('prediction-box'),
  prediction: $('prediction'),
  photos: $('photos'),
  photoDrop: $('photo-drop'),
  photoFiles: $('photo-files'),
  photoMode: $('photo-mode'),
  photoClear: $('photo-clear'),
  photoStatus: $('photo-status'),
  photoCards: $('photo-cards'),
  catalogueFolder: $('catalogue-folder'),
  catalogueZip: $('catalogue-zip'),
  catalogueSource: $('catalogue-source'),
  catalogueMode: $('catalogue-mode'),
  cataloguePlan: $('catalogue-plan'),
  labelMap: $('label-map'),
  labelMapError: $('label-map-error'),
  labelMapReset: $('label-map-reset'),
  catalogueError: $('catalogue-error'),
  catalogueEvaluate: $('catalogue-evaluate'),
  catalogueCancel: $('catalogue-cancel'),
  catalogueWhy: $('catalogue-why'),
  catalogueProgressBlock: $('catalogue-progress-block'),
  catalogueProgress: $('catalogue-progress'),
  catalogueProgressText: $('catalogue-progress-text'),
  catalogueLive: $('catalogue-live'),
  catalogueResults: $('catalogue-results'),
  catalogueSummary: $('catalogue-summary'),
  catalogueReport: $('catalogue-report'),
  catalogueText: $('catalogue-text'),
  catalogueConfusion: $('catalogue-confusion'),
  catalogueUnmapped: $('catalogue-unmapped'),
  catalogueSkipped: $('catalogue-skipped'),
  mistakesNote: $('mistakes-note'),
  mistakesAll: $('mistakes-all'),
  mistakes: $('mistakes'),
  study: $('study'),
  studyLimit: $('study-limit'),
  studyForm: $('study-form'),
  studyFields: $('study-fields'),
  studyEpochs: $('study-epochs'),
  studySeed: $('study-seed'),
  studyVariantList: $('study-variant-list'),
  studyRefit: $('study-refit'),
  studyBackend: $('study-backend'),
  studyError: $('study-error'),
  studyStart: $('study-start'),
  studyContinue: $('study-continue'),
  studyPause: $('study-pause'),
  studyResume: $('study-resume'),
  studyCancel: $('study-cancel'),
  studyStatus: $('study-status'),
  studyProgress: $('study-progress'),
  studyProgressText: $('study-progress-text'),
  studyQueue: $('study-queue'),
  studyChartsNote: $('study-charts-note'),
  studyCharts: $('study-charts'),
  studyAccChart: $('study-acc-chart'),
  studyLossChart: $('study-loss-chart'),
  studyAccLatest: $('study-acc-latest'),
  studyLossLatest: $('study-loss-latest'),
  studyCatalogue: $('study-catalogue'),
  studyCatalogueNote: $('study-catalogue-note'),
  studyDownloads: [$('study-report-html'), $('study-report-md'), $('study-report-csv'), $('study-report-json')],
  studyDiscard: $('study-discard'),
};

// ?limit=N trains and evaluates on N images: quick runs and tests.
const LIMIT = (() => {
  const n = Number.parseInt(new URLSearchParams(location.search).get('limit') ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
})();

// ---------------------------------------------------------------------------------------------
// Formatting

const pct = (x, digits = 2) => (x == null || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(digits)} %`);
const num = (x, digits = 4) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

// mm:ss; minutes keep counting past 59 so long runs stay readable in one format.
function mmss(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function fileSafe(text) {
  return text.replace(/[^A-Za-z0-9._+-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}

// ---------------------------------------------------------------------------------------------
// Worker and request/reply plumbing

let worker = null; // created at start-up, once every handler below exists
const pending = new Map();
let nextId = 1;

// Sends a message whose reply (or error) carries the same id.
function request(type, data = {}, transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ type, id, ...data }, transfer);
  });
}

const send = (type, data = {}, transfer = []) => worker.postMessage({ type, ...data }, transfer);

function onWorkerMessage({ data: msg }) {
  const waiter = msg.id != null ? pending.get(msg.id) : undefined;
  if (waiter) {
    pending.delete(msg.id);
    if (msg.type === 'error') waiter.reject(new Error(msg.message));
    else waiter.resolve(msg);
    return;
  }
  on[msg.type]?.(msg);
}

function onWorkerError(event) {
  event.preventDefault();
  ui.data = 'failed';
  ui.run = 'idle';
  for (const { reject } of pending.values()) reject(new Error('the worker stopped'));
  pending.clear();
  el.retry.hidden = true; // a broken worker script needs a reload, not a retry
  setStatus(`The trainer could not run in a worker: ${event.message || 'the worker script failed to load'}.`, 'error');
  render();
}

// ---------------------------------------------------------------------------------------------
// State

const ui = {
  data: 'loading', // 'loading' | 'ready' | 'failed'
  run: 'idle', // 'idle' | 'starting' | 'running' | 'pausing' | 'paused' | 'done'
  busy: false, // evaluating, exporting or importing
  model: null, // {runId, label} of the model the worker holds, or null
};
let presets = [];
let classNames = [];
let currentRun = null; // the run record being trained
const runs = new Map(); // id → run record, as stored in IndexedDB

// The study (see "Study" below). Its runs are run records too, with `study: {key, runId, spec}`.
const study = {
  saved: null, // {id: 'current', key, json, backend, createdAt, updatedAt} as stored, or null
  state: null, // the worker's last answer: {queue, finished, total, isFinished, next}
  data: null, // the parsed study JSON: {config, results: [RunResult]}
  active: false, // the page is running the study's runs (also while one is paused)
  recording: false, // a finished run is being tested and recorded
  planning: false, // a new study is being planned
  reporting: false, // a report is being made
  progress: null, // the last progress of the run in progress
};
// Which buttons act next after a pause, resume or cancel: the study's or the setup form's.
let studyControlsInUse = false;
const runControls = () =>
  studyControlsInUse
    ? { start: el.studyContinue.hidden ? el.studyStart : el.studyContinue, pause: el.studyPause, resume: el.studyResume }
    : { start: el.start, pause: el.pause, resume: el.resume };

// A study between two runs counts as training: nothing else may take the worker's model.
const isTraining = () => ['starting', 'running', 'pausing'].includes(ui.run) || study.active;

function render() {
  const training = isTraining();
  const paused = ui.run === 'paused';
  el.start.disabled = ui.data !== 'ready' || training || paused || ui.busy;
  el.pause.disabled = ui.run !== 'running';
  el.resume.disabled = !paused || ui.busy;
  el.cancel.disabled = !(training || paused) || ui.busy;
  el.fields.disabled = training || paused;
  el.evaluate.disabled = !ui.model || ui.run !== 'done' || ui.busy || study.active;
  const hasEpoch = (currentRun?.history.length ?? 0) > 0;
  el.saveWeights.disabled = !ui.model || ui.busy || study.recording || !(ui.run === 'done' || (paused && hasEpoch));
  el.loadWeights.disabled = ui.data !== 'ready' || training || paused || ui.busy;
  el.form.setAttribute('aria-busy', String(ui.run === 'starting'));
  renderRuns();
  renderCatalogueControls();
  renderStudyControls();
}

// A button that just got disabled drops keyboard focus; hand it to the control that acts next.
function keepFocus(next) {
  const active = document.activeElement;
  if (!active || active === document.body || active.disabled) next.focus();
}

function setStatus(text, kind = 'info') {
  el.status.textContent = text;
  el.status.dataset.kind = kind;
}

function setBackendNotice(backend, reason) {
  const text =
    backend === 'gpu'
      ? 'Training on the GPU (WebGPU).'
      : `Training on the CPU${reason ? `: ${reason}` : '.'}`;
  el.backendNotice.textContent = text;
  el.backendNotice.dataset.kind = backend === 'gpu' ? 'ok' : 'warn';
}

// ---------------------------------------------------------------------------------------------
// Setup form

const numberFields = () => [
  el.conv1, el.conv2, el.dropout, el.weightDecay, el.learningRate, el.batchSize, el.epochs, el.seed,
];

function readConfig() {
  return {
    model: {
      conv1_kernels: el.conv1.valueAsNumber,
      conv2_kernels: el.conv2.valueAsNumber,
      dropout: el.dropout.valueAsNumber,
    },
    learning_rate: el.learningRate.valueAsNumber,
    weight_decay: el.weightDecay.valueAsNumber,
    batch_size: el.batchSize.valueAsNumber,
    epochs: el.epochs.valueAsNumber,
    seed: el.seed.valueAsNumber,
    fit: el.form.elements.fit.value,
  };
}

function writeConfig(config) {
  el.conv1.value = config.model.conv1_kernels;
  el.conv2.value = config.model.conv2_kernels;
  el.dropout.value = config.model.dropout;
  el.learningRate.value = config.learning_rate;
  el.weightDecay.value = config.weight_decay;
  el.batchSize.value = config.batch_size;
  el.epochs.value = config.epochs;
  el.seed.value = config.seed;
  el.form.elements.fit.value = config.fit;
}

const configKey = (c) =>
  JSON.stringify([
    c.model.conv1_kernels, c.model.conv2_kernels, Number(c.model.dropout), Number(c.learning_rate),
    Number(c.weight_decay), c.batch_size, c.epochs, c.seed, c.fit,
  ]);

// The label follows the preset until the user types one of their own.
let labelEdited = false;

function syncPreset() {
  const key = configKey(readConfig());
  const match = presets.find((p) => configKey(p.config) === key);
  el.preset.value = match ? match.name : 'custom';
  el.presetDescription.textContent = match ? match.description : 'Custom settings.';
  if (!labelEdited) el.label.value = match ? match.name : 'custom';
}

function fillPresets(list) {
  presets = list;
  el.preset.replaceChildren(
    ...list.map((p) => new Option(`${p.name} — ${p.description}`, p.name)),
    new Option('custom', 'custom'),
  );
  const first = list.find((p) => p.name === 'base') ?? list[0];
  if (first) writeConfig(first.config);
  syncPreset();
}

el.preset.addEventListener('change', () => {
  const preset = presets.find((p) => p.name === el.preset.value);
  if (preset) writeConfig(preset.config);
  syncPreset();
  scheduleSummary();
});

el.form.addEventListener('input', (event) => {
  if (event.target === el.label) {
    labelEdited = el.label.value.trim() !== '';
    return;
  }
  if (event.target === el.preset) return;
  event.target.removeAttribute?.('aria-invalid');
  syncPreset();
  scheduleSummary();
});

// Native constraint checks mirror the Rust validation, so most mistakes are caught here first.
function validateForm() {
  let firstBad = null;
  for (const input of numberFields()) {
    const ok = input.checkValidity() && input.value !== '';
    if (ok) input.removeAttribute('aria-invalid');
    else input.setAttribute('aria-invalid', 'true');
    firstBad ??= ok ? null : input;
  }
  const dropout = el.dropout.valueAsNumber;
  if (!(dropout >= 0 && dropout < 1)) {
    el.dropout.setAttribute('aria-invalid', 'true');
    firstBad ??= el.dropout;
  }
  if (firstBad) {
    const name = document.querySelector(`label[for="${firstBad.id}"]`)?.textContent ?? firstBad.name;
    showFormError(`${name}: ${firstBad.validationMessage || 'enter a number in the allowed range'}`);
    firstBad.focus();
    return false;
  }
  showFormError('');
  return true;
}

function showFormError(text) {
  el.formError.textContent = text;
  el.formError.hidden = !text;
}

// Model summary, refreshed (debounced) whenever the architecture may have changed.
let summaryTimer = 0;
let summarySeq = 0;
function scheduleSummary() {
  clearTimeout(summaryTimer);
  summaryTimer = setTimeout(refreshSummary, 200);
}

async function refreshSummary() {
  const seq = ++summarySeq;
  try {
    const { text, totalParams } = await request('summary', { config: readConfig() });
    if (seq !== summarySeq) return;
    el.summary.textContent = text;
    el.summary.classList.remove('error');
    el.paramCount.textContent = totalParams != null ? `(${int(totalParams)} parameters)` : '';
  } catch (error) {
    if (seq !== summarySeq) return;
    el.summary.textContent = `Cannot build this model: ${error.message}`;
    el.summary.classList.add('error');
    el.paramCount.textContent = '';
  }
}

// ---------------------------------------------------------------------------------------------
// Charts: running training points per chunk at fractional epochs, validation at epoch ends.

const MAX_TRAIN_POINTS = 300;
const curves = { train: [], stride: 1, seen: 0, epochs: new Map(), xMax: 1 };
let lossPlot = null;
let accPlot = null;
let chartsQueued = false;

function resetCurves(epochs, history = []) {
  curves.train = [];
  curves.stride = 1;
  curves.seen = 0;
  curves.epochs = new Map(history.map((r) => [r.epoch, r]));
  curves.xMax = Math.max(1, epochs);
  el.lossLatest.textContent = '';
  el.accLatest.textContent = '';
  scheduleCharts();
}

function addChunkPoint(p) {
  if (p.phase !== 'train' || !p.batches || !p.batch) return;
  // Keep every stride-th point; when too many pile up, halve them and double the stride.
  if (curves.seen++ % curves.stride !== 0) return;
  curves.train.push([p.epoch - 1 + p.batch / p.batches, p.train_loss, p.train_accuracy]);
  if (curves.train.length > MAX_TRAIN_POINTS) {
    curves.train = curves.train.filter((_, i) => i % 2 === 0);
    curves.stride *= 2;
  }
  scheduleCharts();
}

function addEpochPoint(record) {
  curves.epochs.set(record.epoch, record);
  el.lossLatest.textContent =
    `Epoch ${record.epoch}: train loss ${num(record.train_loss)}, validation loss ${num(record.val_loss)}.`;
  el.accLatest.textContent =
    `Epoch ${record.epoch}: train ${pct(record.train_accuracy)}, validation ${pct(record.val_accuracy)}.`;
  scheduleCharts();
}

function chartData() {
  const byX = new Map();
  for (const [x, loss, acc] of curves.train) {
    byX.set(x, { x, tl: loss, ta: acc * 100, vl: null, va: null });
  }
  for (const r of curves.epochs.values()) {
    byX.set(r.epoch, {
      x: r.epoch,
      tl: r.train_loss,
      ta: r.train_accuracy * 100,
      vl: r.val_loss ?? null,
      va: r.val_accuracy != null ? r.val_accuracy * 100 : null,
    });
  }
  const rows = [...byX.values()].sort((a, b) => a.x - b.x);
  const col = (k) => rows.map((r) => r[k]);
  return { x: col('x'), tl: col('tl'), ta: col('ta'), vl: col('vl'), va: col('va') };
}

function scheduleCharts() {
  if (chartsQueued || !lossPlot) return;
  chartsQueued = true;
  requestAnimationFrame(() => {
    chartsQueued = false;
    const d = chartData();
    lossPlot.setData([d.x, d.tl, d.vl]);
    accPlot.setData([d.x, d.ta, d.va]);
  });
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function makeChart(box, yLabel, format) {
  const fg = cssVar('--fg') || '#222';
  const grid = cssVar('--grid') || '#0002';
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const opts = {
    width: Math.max(240, box.clientWidth),
    height: 260,
    scales: {
      x: { time: false, range: (u, min, max) => [0, Math.max(curves.xMax, max ?? 0)] },
    },
    axes: [
      { ...axis, label: 'epoch' },
      { ...axis, label: yLabel, size: 56, values: (u, ticks) => ticks.map(format) },
    ],
    series: [
      { label: 'epoch', value: (u, v) => (v == null ? '—' : v.toFixed(2)) },
      {
        label: 'train',
        stroke: cssVar('--train') || '#1f6fb4',
        width: 2,
        spanGaps: true,
        points: { show: false },
        value: (u, v) => (v == null ? '—' : format(v)),
      },
      {
        label: 'validation',
        stroke: cssVar('--val') || '#d55e00',
        width: 2,
        dash: [6, 4], // not only colour tells the two lines apart
        spanGaps: true,
        points: { show: true, size: 6 },
        value: (u, v) => (v == null ? '—' : format(v)),
      },
    ],
  };
  return new uPlot(opts, [[], [], []], box);
}

// Colours are read when a chart is made: a switch to or from dark mode makes them again.
const darkMode = matchMedia('(prefers-color-scheme: dark)');

if (uPlot) {
  const makeCharts = () => {
    lossPlot?.destroy();
    accPlot?.destroy();
    lossPlot = makeChart(el.lossChart, 'loss', (v) => v.toFixed(2));
    accPlot = makeChart(el.accChart, 'top-1 %', (v) => `${v.toFixed(1)}`);
    scheduleCharts();
  };
  makeCharts();
  const resize = new ResizeObserver(() => {
    for (const [plot, box] of [[lossPlot, el.lossChart], [accPlot, el.accChart]]) {
      const width = Math.max(240, box.clientWidth);
      if (width !== plot.width) plot.setSize({ width, height: 260 });
    }
  });
  resize.observe(el.lossChart);
  resize.observe(el.accChart);
  darkMode.addEventListener('change', makeCharts);
} else {
  el.chartsNote.textContent = 'Charts are unavailable (vendor/uPlot.esm.js did not load); the runs table has the numbers.';
}

// ---------------------------------------------------------------------------------------------
// Progress

let lastLiveUpdate = 0;

function showProgress(p) {
  const phase = { train: 'training', validate: 'validating', done: 'done' }[p.phase] ?? p.phase;
  const text =
    `Epoch ${p.epoch}/${p.epochs} · ${phase} · batch ${int(p.batch)}/${int(p.batches)} · ` +
    `${int(p.images_per_second)} img/s · ETA ${mmss(p.eta_seconds)}`;
  el.progress.value = Math.min(1, Math.max(0, p.fraction_done ?? 0));
  el.progress.setAttribute('aria-valuetext', `${Math.round(el.progress.value * 100)} % done. ${text}`);
  el.progressText.textContent = text;
  el.progressMetrics.textContent = p.phase === 'done'
    ? `Last epoch: train loss ${num(p.train_loss)}, train top-1 ${pct(p.train_accuracy)}`
    : `Running train loss ${num(p.train_loss)}, train top-1 ${pct(p.train_accuracy)} (this epoch so far)`;
  // Screen readers hear a short summary every 20 s rather than every chunk.
  const now = performance.now();
  if (now - lastLiveUpdate > 20000) {
    lastLiveUpdate = now;
    el.progressLive.textContent = `${Math.round(el.progress.value * 100)} percent done, ETA ${mmss(p.eta_seconds)}.`;
  }
}

function resetProgress(text = 'No run yet.') {
  el.progress.value = 0;
  el.progress.removeAttribute('aria-valuetext');
  el.progressText.textContent = text;
  el.progressMetrics.textContent = '';
}

// ---------------------------------------------------------------------------------------------
// Runs: IndexedDB ('fashion-trainer' / 'runs'), degrading to memory when storage is unavailable.

const db = await new Promise((resolve) => {
  setTimeout(() => resolve(null), 5000); // a stuck open must not hold the page hostage
  try {
    // Version 2 adds 'studies' (the study, key 'current') next to 'runs'.
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

function dbRequest(mode, fn, store = 'runs') {
  if (!db) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const req = fn(tx.objectStore(store));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

async function saveRun(run) {
  runs.set(run.id, run);
  renderRuns();
  try {
    await dbRequest('readwrite', (s) => s.put(run));
  } catch (error) {
    setStatus(`Could not store the run in this browser: ${error?.message ?? error}`, 'warn');
  }
}

async function deleteRun(id) {
  runs.delete(id);
  renderRuns();
  await dbRequest('readwrite', (s) => s.delete(id)).catch(() => {});
}

async function loadRuns() {
  const stored = (await dbRequest('readonly', (s) => s.getAll()).catch(() => null)) ?? [];
  for (const run of stored) {
    // A run still marked running lost its worker when the page went away.
    if (run.status === 'running') {
      run.status = 'interrupted';
      await dbRequest('readwrite', (s) => s.put(run)).catch(() => {});
    }
    run.history ??= [];
    runs.set(run.id, run);
  }
  if (!db) setStatus('This browser does not allow storage here: runs last until the page closes.', 'warn');
  renderRuns();
}

// The best epoch is the highest validation top-1 (the first on ties); without validation, the last.
function bestEpochOf(history) {
  if (!history.length) return 0;
  if (history.every((r) => r.val_accuracy == null)) return history[history.length - 1].epoch;
  return history.reduce((best, r) => ((r.val_accuracy ?? -1) > (best.val_accuracy ?? -1) ? r : best)).epoch;
}

function describeConfig(c) {
  return (
    `conv ${c.model.conv1_kernels}/${c.model.conv2_kernels}, dropout ${c.model.dropout}, ` +
    `wd ${c.weight_decay}, lr ${c.learning_rate}, batch ${c.batch_size}, seed ${c.seed}, fit ${c.fit}`
  );
}

function button(action, text, label, onClick, disabled = false) {
  const b = document.createElement('button');
  b.type = 'button';
  b.dataset.action = action;
  b.className = 'small';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.disabled = disabled;
  b.addEventListener('click', onClick);
  return b;
}

function cell(tag, text, className) {
  const c = document.createElement(tag);
  c.textContent = text;
  if (className) c.className = className;
  return c;
}

function renderRuns() {
  const tbody = el.results.tBodies[0];
  // Rebuilding the rows would drop keyboard focus; remember which button had it.
  const active = document.activeElement;
  const focusKey = tbody.contains(active) ? [active.closest('tr')?.dataset.runId, active.dataset.action] : null;
  const list = [...runs.values()].sort((a, b) => a.createdAt - b.createdAt);
  if (!list.length) {
    const td = cell('td', 'No runs yet. Start one above.', 'muted');
    td.colSpan = 8;
    const tr = document.createElement('tr');
    tr.append(td);
    tbody.replaceChildren(tr);
    return;
  }
  tbody.replaceChildren(
    ...list.map((run) => {
      const tr = document.createElement('tr');
      tr.dataset.runId = run.id;
      const live = run.id === currentRun?.id && (isTraining() || ui.run === 'paused');
      if (run.id === currentRun?.id) tr.classList.add('current');
      const best = run.history.find((r) => r.epoch === run.bestEpoch) ?? run.history.at(-1);

      const name = cell('th', '');
      name.scope = 'row';
      name.append(cell('span', run.label, 'run-label'));
      name.append(cell('span', describeConfig(run.config) + (run.limit ? `, limit ${run.limit}` : ''), 'run-config'));
      if (run.study && run.study.key === study.saved?.key && run.status !== 'done' && !live && !study.state?.isFinished) {
        name.append(cell('span', 'A study run: Continue study in the Study section trains it.', 'run-config'));
      }
      const status = live && ui.run === 'paused' ? 'paused' : run.status;

      const actions = cell('td', '', 'actions');
      actions.append(
        button('curves', 'Curves', `Show the learning curves of ${run.label}`, () => showRunCurves(run),
          !run.history.length || isTraining() || ui.run === 'paused'),
        button('use', 'Use', `Use the weights of ${run.label} for the test set, your photos and catalogues`,
          () => useRunWeights(run),
          !run.weights || isTraining() || ui.run === 'paused' || ui.busy || ui.data !== 'ready' || ui.model?.runId === run.id),
        button('weights', 'Weights', `Download the weights of ${run.label}`, () => downloadWeights(run.weights, run), !run.weights),
        button('delete', 'Delete', `Delete the run ${run.label}`, () => confirmDelete(run), live),
      );
      if (run.status === 'interrupted' && run.resumeWeights && run.history.length < run.config.epochs && !run.study) {
        actions.prepend(
          button('resume-run', 'Resume', `Resume ${run.label} from epoch ${run.history.length + 1}`,
            () => resumeRun(run), isTraining() || ui.run === 'paused' || ui.data !== 'ready'),
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
        actions,
      );
      return tr;
    }),
  );
  if (focusKey) {
    tbody.querySelector(`tr[data-run-id="${CSS.escape(focusKey[0] ?? '')}"] button[data-action="${focusKey[1]}"]`)?.focus();
  }
}

function statusCell(status, error) {
  const td = cell('td', '');
  td.append(cell('span', status, `status-badge status-${status}`));
  if (error) td.append(cell('span', error, 'run-error'));
  return td;
}

function showRunCurves(run) {
  resetCurves(run.config.epochs, run.history);
  el.chartsNote.textContent = `Showing the stored epochs of ${run.label}.`;
  const last = run.history.at(-1);
  if (last) addEpochPoint(last);
  el.lossChart.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

function confirmDelete(run) {
  if (!confirm(`Delete the run “${run.label}” and its weights from this browser?`)) return;
  if (currentRun?.id === run.id) currentRun = null;
  if (ui.model?.runId === run.id) ui.model.runId = null;
  deleteRun(run.id);
  setStatus(`Deleted the run ${run.label}.`);
}

// ---------------------------------------------------------------------------------------------
// Run controls

el.form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (el.start.disabled || !validateForm()) return;
  const config = readConfig();
  const label = el.label.value.trim() || el.preset.value;
  studyControlsInUse = false;
  currentRun = {
    id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    label,
    config,
    history: [],
    bestEpoch: 0,
    weights: null,
    status: 'running',
    createdAt: Date.now(),
    limit: LIMIT,
  };
  saveRun(currentRun);
  ui.run = 'starting';
  ui.model = null;
  resetCurves(config.epochs);
  el.chartsNote.textContent = 'Running training values per chunk; validation at each epoch end.';
  resetProgress('Preparing the model…');
  clearEvaluation();
  setStatus(`Starting ${label}…`);
  render();
  keepFocus(el.cancel);
  send('start', { config, label, backend: el.backend.value, limitTrain: LIMIT, limitEval: LIMIT });
});

// Continues a run that a reload or a closed tab cut off, from its last finished epoch.
function resumeRun(run) {
  studyControlsInUse = false;
  currentRun = run;
  run.status = 'running';
  saveRun(run);
  ui.run = 'starting';
  ui.model = null;
  resetCurves(run.config.epochs, run.history);
  resetProgress(`Resuming ${run.label} from epoch ${run.history.length + 1}…`);
  clearEvaluation();
  setStatus(`Resuming ${run.label} from epoch ${run.history.length + 1}…`);
  render();
  keepFocus(el.cancel);
  send('resume-run', {
    config: run.config,
    label: run.label,
    backend: el.backend.value,
    limitTrain: run.limit ?? 0,
    limitEval: run.limit ?? 0,
    history: run.history,
    latest: run.resumeWeights,
    best: run.weights,
    bestEpoch: run.bestEpoch,
  });
}

function pauseRun() {
  if (ui.run !== 'running') return;
  ui.run = 'pausing';
  setStatus('Pausing after the current chunk…');
  render(); // focus moves to Resume once the worker confirms the pause
  send('pause');
}

function resumeTraining() {
  if (ui.run !== 'paused') return;
  ui.run = 'running';
  setStatus(`Training ${currentRun?.label ?? ''}…`);
  render();
  if (currentRun?.study) renderStudy();
  keepFocus(runControls().pause);
  send('resume');
}

// Cancels the run in progress; in a study, the study stops too and keeps its finished runs.
function cancelRun() {
  if (study.active) {
    study.active = false;
    if (study.recording) {
      // The run has finished: let it be tested and recorded, then stop.
      setStudyStatus(`Stopping the study once ${currentRun?.study?.runId ?? 'the finished run'} is recorded…`);
      render();
      return;
    }
  }
  send('cancel');
  if (currentRun) {
    currentRun.status = 'cancelled';
    saveRun(currentRun);
  }
  ui.run = 'idle';
  ui.model = null;
  setStatus('Run cancelled.');
  if (currentRun?.study) {
    setStudyStatus(`Study stopped. ${describeStudy()}`);
    renderStudy();
  }
  render();
  keepFocus(runControls().start);
}

// The Setup card's and the Study section's pause/resume/cancel drive the same run; which set
// was used decides where keyboard focus goes next.
for (const [studySet, pause, resume, cancel] of [
  [false, el.pause, el.resume, el.cancel],
  [true, el.studyPause, el.studyResume, el.studyCancel],
]) {
  for (const [button, action] of [[pause, () => pauseRun()], [resume, () => resumeTraining()], [cancel, () => cancelRun()]]) {
    button.addEventListener('click', () => {
      studyControlsInUse = studySet;
      action();
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Worker events

const on = {
  'wasm-ready'(msg) {
    classNames = msg.classNames;
    if (msg.labelMap && !cat.defaultMap) {
      cat.defaultMap = msg.labelMap;
      if (!el.labelMap.value) el.labelMap.value = msg.labelMap;
      refreshPlan();
    }
    render();
    if (presets.length) return; // a retry: keep what the user has typed
    fillPresets(msg.presets);
    fillStudyVariants(msg.presets);
    refreshSummary();
  },

  'data-progress'(msg) {
    el.dataBox.hidden = false;
    if (msg.totalKnown && msg.total > 0) {
      el.dataProgress.max = msg.total;
      el.dataProgress.value = msg.loaded;
    } else {
      el.dataProgress.removeAttribute('value'); // indeterminate until every size is known
    }
    const where = msg.fromCache ? ' (from the offline copy)' : '';
    el.dataProgressText.textContent =
      `${megabytes(msg.loaded)}${msg.totalKnown ? ` of ${megabytes(msg.total)}` : ''} · ` +
      `${msg.shardsDone}/${msg.shardCount} shards${where}`;
  },

  ready(msg) {
    ui.data = 'ready';
    el.retry.hidden = true;
    el.dataProgressText.textContent =
      `Ready: ${int(msg.trainCount)} training and ${int(msg.testCount)} test images.`;
    el.dataProgress.max = 1;
    el.dataProgress.value = 1;
    if (!isTraining()) {
      const notices = {
        gpu: ['A WebGPU adapter is available: auto trains on the GPU.', 'ok'],
        cpu: ['No WebGPU adapter in this browser: training runs on the CPU, which is slower.', 'warn'],
      };
      const [text, kind] = notices[msg.backend] ?? ['The backend is chosen when a run starts.', 'info'];
      el.backendNotice.textContent = text;
      el.backendNotice.dataset.kind = kind;
    }
    setStatus('Ready. Choose a preset or your own settings, then Start.');
    render();
  },

  started(msg) {
    if (ui.run !== 'starting') return;
    ui.run = 'running';
    ui.model = { runId: currentRun?.id ?? null, label: msg.label };
    setBackendNotice(msg.backend, msg.backendReason);
    if (msg.summaryText) el.summary.textContent = msg.summaryText;
    setStatus(`Training ${msg.label} on the ${msg.backend === 'gpu' ? 'GPU' : 'CPU'}…`);
    render();
    if (currentRun?.study) renderStudy();
    keepFocus(runControls().pause);
    refreshPhotoPredictions();
  },

  progress(msg) {
    if (!currentRun || ui.run === 'idle') return;
    showProgress(msg);
    addChunkPoint(msg);
    if (currentRun.study && study.active) showStudyProgress(msg);
  },

  epoch({ record, latest, best }) {
    if (!currentRun) return;
    addEpochPoint(record);
    currentRun.history = [...currentRun.history.filter((r) => r.epoch !== record.epoch), record];
    currentRun.bestEpoch = bestEpochOf(currentRun.history);
    // Weights after this epoch (to resume after a reload) and the best ones so far.
    if (latest) currentRun.resumeWeights = latest;
    if (best) currentRun.weights = best;
    saveRun(currentRun);
    if (best) refreshPhotoPredictions(); // a new best epoch: the photos get its predictions
    if (currentRun.study) renderStudyCharts();
    const val = record.val_accuracy != null ? `, validation top-1 ${pct(record.val_accuracy)}` : '';
    setStatus(
      `Epoch ${record.epoch}/${currentRun.config.epochs} of ${currentRun.label} done: ` +
      `train top-1 ${pct(record.train_accuracy)}${val} (${record.seconds.toFixed(1)} s).`,
    );
  },

  async done({ history, bestEpoch }) {
    if (!currentRun) return;
    if (currentRun.study) {
      if (!study.active || ui.run === 'idle') return; // cancelled as it finished
      await studyRunDone(currentRun, history, bestEpoch);
      return;
    }
    const run = currentRun;
    ui.run = 'done';
    run.history = history;
    run.bestEpoch = bestEpoch || bestEpochOf(history);
    run.status = 'done';
    el.progress.value = 1;
    el.progressText.textContent = `Finished ${run.config.epochs} epochs; best epoch ${run.bestEpoch}.`;
    setStatus(`Run ${run.label} finished. Best epoch ${run.bestEpoch}. You can evaluate it on the test set.`);
    render();
    keepFocus(el.evaluate);
    refreshPhotoPredictions();
    // Keep the best weights with the run, so they survive a reload.
    try {
      const { bytes } = await request('export');
      run.weights = bytes;
    } catch (error) {
      setStatus(`Run finished, but its weights could not be kept: ${error.message}`, 'warn');
    }
    await saveRun(run);
  },

  paused() {
    if (ui.run !== 'pausing') return;
    ui.run = 'paused';
    setStatus('Paused. Resume continues where training stopped.');
    render();
    if (currentRun?.study) renderStudy();
    keepFocus(runControls().resume);
  },

  resumed() {},
  cancelled() {
    refreshPhotoPredictions();
  },

  error(msg) {
    const text = msg.message || 'Something went wrong.';
    if (msg.where === 'init' || msg.where === 'data') {
      ui.data = 'failed';
      el.retry.hidden = false;
      el.dataProgressText.textContent = msg.shard ? `Failed: ${msg.shard}` : 'Failed.';
      setStatus(text, 'error');
      render();
      return;
    }
    if (['start', 'train', 'resume-run', 'study-run'].includes(msg.where)) {
      if (currentRun) {
        currentRun.status = 'error';
        currentRun.error = text;
        saveRun(currentRun);
      }
      ui.run = 'idle';
      ui.model = null;
      resetProgress('The run stopped.');
      if (currentRun?.study && study.active) {
        study.active = false;
        setStudyStatus(`The study stopped: ${text} ${describeStudy()}`, 'error');
        renderStudy();
      }
      render();
      keepFocus(runControls().start);
      refreshPhotoPredictions();
    }
    if (msg.where === 'pause' || msg.where === 'resume') {
      ui.run = ui.model ? 'paused' : 'idle';
      render();
    }
    setStatus(text, 'error');
  },
};

el.retry.addEventListener('click', () => {
  ui.data = 'loading';
  el.retry.hidden = true;
  setStatus('Retrying…');
  el.dataProgress.removeAttribute('value');
  el.dataProgressText.textContent = 'Retrying the download…';
  render();
  send('init');
});

// ---------------------------------------------------------------------------------------------
// Evaluation: report, confusion matrix, images of a cell

function clearEvaluation() {
  el.report.textContent = 'Train or load a model, then evaluate it.';
  el.confusion.replaceChildren();
  el.gallery.hidden = true;
}

async function withBusy(message, fn) {
  ui.busy = true;
  setStatus(message);
  render();
  try {
    return await fn();
  } finally {
    ui.busy = false;
    render();
  }
}

el.evaluate.addEventListener('click', () =>
  withBusy('Evaluating on the test set…', async () => {
    try {
      const result = await request('evaluate');
      renderReport(result);
      const runId = ui.model?.runId;
      const run = runId ? runs.get(runId) : null;
      if (run) {
        run.testAccuracy = result.accuracy;
        await saveRun(run);
      }
      setStatus(`Test top-1 of ${ui.model?.label ?? 'the model'}: ${pct(result.accuracy)}.`);
    } catch (error) {
      setStatus(`Evaluation failed: ${error.message}`, 'error');
    }
  }),
);

function renderReport(result) {
  el.report.textContent =
    `${ui.model?.label ?? 'model'}: test top-1 ${pct(result.accuracy)}, loss ${num(result.loss)}\n\n${result.text}`;
  renderConfusion(el.confusion, result.report.confusion.counts, {
    noun: 'test images',
    caption: 'Confusion matrix of the test set: rows true class, columns predicted class',
  });
  el.gallery.hidden = true;
}

// A confusion matrix as a grid of buttons shaded by their share of the row (hits blue, misses
// vermillion); `noun` names what is counted ("test images", "photos").
function renderConfusion(table, counts, { noun, caption }) {
  const names = classNames.length ? classNames : counts.map((_, i) => `class ${i}`);
  const head = document.createElement('thead');
  const headRow = document.createElement('tr');
  headRow.append(cell('td', 'true ↓ predicted →', 'corner'));
  for (const name of names) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.append(cell('span', name, 'vertical'));
    headRow.append(th);
  }
  head.append(headRow);

  const body = document.createElement('tbody');
  counts.forEach((row, t) => {
    const tr = document.createElement('tr');
    const th = cell('th', names[t]);
    th.scope = 'row';
    tr.append(th);
    const rowTotal = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, p) => {
      const td = document.createElement('td');
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = String(count);
      b.dataset.t = t;
      b.dataset.p = p;
      b.tabIndex = t === 0 && p === 0 ? 0 : -1; // roving tab stop: one Tab into the grid, arrows inside
      const share = count / rowTotal;
      b.setAttribute('aria-label', `${count} ${noun} of ${names[t]} predicted as ${names[p]} (${(share * 100).toFixed(1)} % of the row)`);
      b.className = t === p ? 'hit' : 'miss';
      b.style.setProperty('--share', share.toFixed(3));
      if (share > 0.45) b.classList.add('strong');
      td.append(b);
      tr.append(td);
    });
    body.append(tr);
  });
  table.replaceChildren(cell('caption', caption, 'visually-hidden'), head, body);
}

// Clicks and arrow keys on a confusion matrix; `onCell(t, p)` shows what a cell holds.
function confusionGrid(table, onCell) {
  table.addEventListener('click', (event) => {
    const b = event.target.closest('button');
    if (b) onCell(Number(b.dataset.t), Number(b.dataset.p));
  });
  table.addEventListener('keydown', (event) => {
    const b = event.target.closest('button');
    if (!b) return;
    const size = table.tBodies[0].rows.length;
    let t = Number(b.dataset.t);
    let p = Number(b.dataset.p);
    const moves = {
      ArrowUp: () => (t = Math.max(0, t - 1)),
      ArrowDown: () => (t = Math.min(size - 1, t + 1)),
      ArrowLeft: () => (p = Math.max(0, p - 1)),
      ArrowRight: () => (p = Math.min(size - 1, p + 1)),
      Home: () => (p = 0),
      End: () => (p = size - 1),
    };
    if (!moves[event.key]) return;
    event.preventDefault();
    moves[event.key]();
    const next = table.querySelector(`button[data-t="${t}"][data-p="${p}"]`);
    b.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });
}

confusionGrid(el.confusion, (t, p) => showCellImages(t, p));

// Draws 784 grayscale pixels, or an RGBA image `{width, height, rgba}` as the wasm API returns it.
function drawImage(canvas, pixels) {
  if (pixels?.rgba) {
    canvas.width = pixels.width;
    canvas.height = pixels.height;
    const rgba = pixels.rgba instanceof Uint8ClampedArray ? pixels.rgba : new Uint8ClampedArray(pixels.rgba);
    canvas.getContext('2d').putImageData(new ImageData(rgba, pixels.width, pixels.height), 0, 0);
    return;
  }
  canvas.width = 28;
  canvas.height = 28;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = pixels[i];
    image.data[i * 4] = v;
    image.data[i * 4 + 1] = v;
    image.data[i * 4 + 2] = v;
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

async function showCellImages(t, p) {
  const names = classNames;
  el.gallery.hidden = false;
  el.predictionBox.hidden = true;
  el.galleryHeading.textContent = `True ${names[t]}, predicted ${names[p]}`;
  el.galleryNote.textContent = 'Loading images…';
  el.galleryImages.replaceChildren();
  try {
    const { images, indices, total } = await request('test-images', { true: t, pred: p });
    el.galleryNote.textContent = total
      ? `Showing ${images.length} of ${int(total)} test images. Choose one to see the model's probabilities.`
      : 'No test images fall in this cell.';
    el.galleryImages.replaceChildren(
      ...images.map((pixels, i) => {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'thumb';
        b.setAttribute('aria-label', `Test image ${indices[i]}: show predicted probabilities`);
        const canvas = document.createElement('canvas');
        canvas.setAttribute('aria-hidden', 'true');
        drawImage(canvas, pixels);
        b.append(canvas);
        b.addEventListener('click', () => showPrediction(pixels, indices[i], t));
        li.append(b);
        return li;
      }),
    );
  } catch (error) {
    el.galleryNote.textContent = `Could not load the images: ${error.message}`;
  }
  el.gallery.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

async function showPrediction(pixels, index, trueClass) {
  el.predictionBox.hidden = false;
  el.prediction.replaceChildren(cell('li', 'Predicting…'));
  try {
    const { probs } = await request('predict', { pixels: pixels.slice() });
    el.prediction.setAttribute('aria-label', `Probabilities for test image ${index} (true class ${classNames[trueClass]})`);
    el.prediction.replaceChildren(...probabilityItems(probs, { trueClass }));
  } catch (error) {
    el.prediction.replaceChildren(cell('li', `Prediction failed: ${error.message}`, 'error'));
  }
}

// ---------------------------------------------------------------------------------------------
// Weights: save (download) and load

function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

function downloadWeights(bytes, run) {
  if (!bytes) return;
  downloadBlob(
    new Blob([bytes], { type: 'application/octet-stream' }),
    `${fileSafe(run?.label ?? 'model')}${run?.bestEpoch ? `-epoch${run.bestEpoch}` : ''}.ftw`,
  );
}

function showWeightsMessage(text, kind) {
  el.weightsMessage.textContent = text;
  el.weightsMessage.dataset.kind = kind;
  el.weightsMessage.hidden = !text;
}

el.saveWeights.addEventListener('click', () =>
  withBusy('Exporting the best weights…', async () => {
    try {
      const { bytes } = await request('export');
      const run = ui.model?.runId ? runs.get(ui.model.runId) : null;
      downloadWeights(bytes, run ?? { label: ui.model?.label ?? 'model' });
      setStatus('Weights saved.');
    } catch (error) {
      setStatus(`Could not export the weights: ${error.message}`, 'error');
    }
  }),
);

el.loadWeights.addEventListener('change', () => {
  const file = el.loadWeights.files?.[0];
  if (!file) return;
  showWeightsMessage('', 'info');
  withBusy(`Loading weights from ${file.name}…`, async () => {
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (!validateForm()) throw new Error('fix the settings first: the model is built from them');
      const label = file.name.replace(/\.ftw$/i, '');
      const msg = await request(
        'import',
        { bytes, config: readConfig(), label, backend: el.backend.value, limitTrain: LIMIT, limitEval: LIMIT },
        [bytes.buffer],
      );
      ui.model = { runId: null, label };
      ui.run = 'done';
      currentRun = null;
      clearEvaluation();
      resetProgress(`Loaded weights from ${file.name}.`);
      setBackendNotice(msg.backend, msg.backendReason);
      const text = `Loaded weights from ${file.name}. Evaluate them on the test set or save them again.`;
      showWeightsMessage(text, 'ok');
      setStatus(text);
      refreshPhotoPredictions();
    } catch (error) {
      const text = `Could not load ${file.name}: ${error.message}`;
      showWeightsMessage(text, 'error');
      setStatus(text, 'error');
    } finally {
      el.loadWeights.value = ''; // choosing the same file again fires change again
    }
  });
});

// A stored run's best weights become the model again, e.g. after a reload.
function useRunWeights(run) {
  if (!run.weights) return;
  withBusy(`Loading the weights of ${run.label}…`, async () => {
    try {
      const bytes = new Uint8Array(run.weights); // a copy: the run keeps its own
      const msg = await request(
        'import',
        { bytes, config: run.config, label: run.label, backend: el.backend.value, limitTrain: run.limit ?? LIMIT, limitEval: run.limit ?? LIMIT },
        [bytes.buffer],
      );
      ui.model = { runId: run.id, label: run.label };
      ui.run = 'done';
      currentRun = null;
      clearEvaluation();
      resetProgress(`Using the weights of ${run.label}.`);
      setBackendNotice(msg.backend, msg.backendReason);
      setStatus(`Using ${run.label} (best epoch ${run.bestEpoch || '—'}): evaluate it on the test set, or try your photos.`);
      refreshPhotoPredictions();
    } catch (error) {
      setStatus(`Could not use the weights of ${run.label}: ${error.message}`, 'error');
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Class probabilities as labelled bars (the bar length is the probability; the text says it too)

function probabilityItems(probs, { top = probs.length, trueClass = null } = {}) {
  const order = [...probs.keys()].sort((a, b) => probs[b] - probs[a]).slice(0, top);
  return order.map((k) => {
    const li = document.createElement('li');
    li.style.setProperty('--p', Math.min(1, Math.max(0, probs[k])).toFixed(4));
    if (k === trueClass) li.classList.add('true-class');
    li.append(
      cell('span', (classNames[k] ?? `class ${k}`) + (k === trueClass ? ' (true)' : ''), 'name'),
      cell('span', `${(probs[k] * 100).toFixed(1)} %`, 'value'),
    );
    return li;
  });
}

// ---------------------------------------------------------------------------------------------
// Your photos. Decoding and preprocessing run in the worker (a 40-megapixel photo never blocks
// the page); each card shows every step and the top three classes of the current model.

const photoState = { list: [], seq: 0, pasted: 0 };
const NO_PREDICTION = {
  none: 'Train a model or load weights to see a prediction.',
  training: 'The run has no finished epoch yet: the prediction appears when the first epoch ends.',
};

function modelName() {
  if (!ui.model) return '';
  if (!ui.model.runId) return `${ui.model.label} (loaded weights)`;
  const epoch = runs.get(ui.model.runId)?.bestEpoch;
  return epoch ? `${ui.model.label}, best epoch ${epoch}` : ui.model.label;
}

function addPhotos(files, { pasted = false } = {}) {
  if (!files.length) return;
  const added = files.map((file) => {
    // A pasted image is usually called image.png, whatever it is: number them instead.
    const name = file.name && !pasted ? file.name : `pasted image ${++photoState.pasted}${extensionOf(file)}`;
    const photo = {
      key: ++photoState.seq,
      name,
      file,
      url: URL.createObjectURL(file),
      run: 0,
      pending: true,
      result: null,
      probs: null,
      noPrediction: null,
      model: '',
      error: null,
      removed: false,
    };
    photo.card = document.createElement('li');
    photo.card.className = 'photo-card';
    photo.card.dataset.name = name;
    photoState.list.push(photo);
    el.photoCards.append(photo.card);
    renderPhotoCard(photo);
    return photo;
  });
  el.photoStatus.textContent = `Processing ${added.length === 1 ? added[0].name : `${added.length} photos`}…`;
  el.photoClear.disabled = false;
  Promise.all(added.map(runPhoto)).then(() => announcePhotos(added));
}

function extensionOf(file) {
  return { 'image/png': '.png', 'image/jpeg': '.jpg', 'image/webp': '.webp', 'image/gif': '.gif', 'image/bmp': '.bmp' }[file.type] ?? '';
}

async function runPhoto(photo) {
  const run = ++photo.run;
  photo.pending = true;
  renderPhotoCard(photo);
  try {
    const bytes = new Uint8Array(await photo.file.arrayBuffer());
    const mode = el.photoMode.value;
    const msg = await request('photo', { bytes, mode }, [bytes.buffer]);
    if (run !== photo.run || photo.removed) return;
    Object.assign(photo, { result: msg, mode, probs: msg.probs, noPrediction: msg.noPrediction, model: modelName(), error: null });
  } catch (error) {
    if (run !== photo.run || photo.removed) return;
    Object.assign(photo, { result: null, probs: null, error: error.message || 'the file could not be read' });
  }
  photo.pending = false;
  renderPhotoCard(photo);
}

function announcePhotos(all) {
  const list = all.filter((p) => !p.removed);
  if (list.length > 4) {
    const failed = list.filter((p) => p.error).length;
    el.photoStatus.textContent = `${list.length} photos processed${failed ? `, ${failed} could not be used` : ''}.`;
    return;
  }
  const parts = list.map((p) => {
    if (p.error) return `${p.name}: ${p.error}`;
    if (!p.probs) return `${p.name}: ready. ${NO_PREDICTION[p.noPrediction] ?? NO_PREDICTION.none}`;
    const best = [...p.probs.keys()].reduce((a, b) => (p.probs[b] > p.probs[a] ? b : a), 0);
    return `${p.name}: ${classNames[best]} (${(p.probs[best] * 100).toFixed(1)} %)`;
  });
  if (parts.length) el.photoStatus.textContent = parts.join('; ').replace(/\.?$/, '.');
}

function stepFigure(caption, content, className = '') {
  const figure = document.createElement('figure');
  figure.className = `step ${className}`.trim();
  figure.append(content, cell('figcaption', caption));
  return figure;
}

function stepCanvas(image, label) {
  const canvas = document.createElement('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  drawImage(canvas, image);
  return canvas;
}

function renderPhotoCard(photo) {
  const li = photo.card;
  // The card is rebuilt (a new model, another crop): keep keyboard focus on its Remove button.
  const hadFocus = li.contains(document.activeElement);
  renderPhotoCardContent(photo);
  if (hadFocus) li.querySelector('button[data-action="remove-photo"]')?.focus();
}

function renderPhotoCardContent(photo) {
  const li = photo.card;
  li.dataset.state = photo.error ? 'error' : photo.pending && !photo.result ? 'pending' : 'done';
  li.setAttribute('aria-busy', String(photo.pending));
  if (photo.probs) li.dataset.probabilities = JSON.stringify(Array.from(photo.probs));
  else delete li.dataset.probabilities;

  const article = document.createElement('article');
  const headingId = `photo-${photo.key}-name`;
  article.setAttribute('aria-labelledby', headingId);
  const head = document.createElement('div');
  head.className = 'photo-head';
  const heading = cell('h3', photo.name, 'photo-name');
  heading.id = headingId;
  const r = photo.result;
  const meta = cell('span', r ? `${r.width} x ${r.height} px · ${photo.mode} crop` : '', 'muted');
  head.append(heading, meta, button('remove-photo', 'Remove', `Remove ${photo.name}`, () => removePhoto(photo)));
  article.append(head);

  if (photo.error) {
    article.append(cell('p', `Could not use ${photo.name}: ${photo.error}`, 'photo-error'));
    li.replaceChildren(article);
    return;
  }
  if (!r) {
    article.append(cell('p', 'Processing…', 'muted'));
    li.replaceChildren(article);
    return;
  }

  const steps = document.createElement('div');
  steps.className = 'steps';
  const frame = document.createElement('div');
  frame.className = 'original-frame';
  const img = document.createElement('img');
  img.src = photo.url;
  img.alt = `Original photo ${photo.name}`;
  img.decoding = 'async';
  const box = document.createElement('span');
  box.className = 'crop-box';
  box.setAttribute('aria-hidden', 'true');
  const c = r.crop;
  box.style.left = `${(100 * c.x) / r.width}%`;
  box.style.top = `${(100 * c.y) / r.height}%`;
  box.style.width = `${(100 * c.width) / r.width}%`;
  box.style.height = `${(100 * c.height) / r.height}%`;
  frame.append(img, box);
  const cropNote = photo.mode === 'center'
    ? 'the centred square is outlined'
    : r.worn ? 'a person: the garment they wear is outlined'
      : r.objectFound ? 'the object found is outlined' : 'no object stood out: the whole photo is used';
  steps.append(
    stepFigure(`Original; ${cropNote}`, frame, 'step-original'),
    r.mirrored
      ? stepFigure('Crop, padded and mirrored (Fashion-MNIST shoes face left)',
        stepCanvas(r.square, `Square crop of ${photo.name}, mirrored`))
      : r.worn
        ? stepFigure('The garment alone: skin and what is below it removed, padded to a square',
          stepCanvas(r.square, `The garment in ${photo.name}, without the person`))
        : stepFigure('Crop, padded to a square', stepCanvas(r.square, `Square crop of ${photo.name}`)),
    stepFigure('28 x 28', stepCanvas(r.resized, `${photo.name} resized to 28 by 28 pixels`), 'pixelated'),
    stepFigure('Grayscale', stepCanvas(r.grayscale, `${photo.name} in grayscale`), 'pixelated'),
    stepFigure('Inverted: the model input', stepCanvas(r.inverted, `${photo.name} inverted, as the model sees it`), 'pixelated'),
  );

  const prediction = document.createElement('div');
  prediction.className = 'photo-prediction';
  const predHeadingId = `photo-${photo.key}-prediction`;
  const predHeading = cell('h4', 'Top three classes');
  predHeading.id = predHeadingId;
  prediction.append(predHeading);
  if (photo.probs) {
    const list = document.createElement('ol');
    list.className = 'prediction top3';
    list.setAttribute('aria-labelledby', predHeadingId);
    list.append(...probabilityItems(photo.probs, { top: 3 }));
    prediction.append(list);
    if (photo.model) prediction.append(cell('p', `Model: ${photo.model}`, 'hint'));
  } else {
    prediction.append(cell('p', NO_PREDICTION[photo.noPrediction] ?? NO_PREDICTION.none, 'no-prediction'));
  }
  const body = document.createElement('div');
  body.className = 'photo-body';
  body.append(steps, prediction);
  article.append(body);
  li.replaceChildren(article);
}

function removePhoto(photo) {
  const index = photoState.list.indexOf(photo);
  photo.removed = true;
  URL.revokeObjectURL(photo.url);
  photo.card.remove();
  photoState.list.splice(index, 1);
  el.photoStatus.textContent = `Removed ${photo.name}.`;
  el.photoClear.disabled = photoState.list.length === 0;
  // Keep keyboard users in the list: the next card's Remove button, else the file input.
  const next = photoState.list[Math.min(index, photoState.list.length - 1)];
  (next?.card.querySelector('button[data-action="remove-photo"]') ?? el.photoFiles).focus();
}

el.photoClear.addEventListener('click', () => {
  for (const photo of photoState.list) {
    photo.removed = true;
    URL.revokeObjectURL(photo.url);
  }
  photoState.list = [];
  el.photoCards.replaceChildren();
  el.photoClear.disabled = true;
  el.photoStatus.textContent = 'Removed every photo.';
  el.photoFiles.focus();
});

el.photoFiles.addEventListener('change', () => {
  addPhotos([...(el.photoFiles.files ?? [])]);
  el.photoFiles.value = ''; // choosing the same file again fires change again
});

el.photoMode.addEventListener('change', () => {
  const list = photoState.list.filter((p) => !p.removed);
  if (!list.length) return;
  el.photoStatus.textContent = `Running ${list.length === 1 ? list[0].name : `${list.length} photos`} again with the ${el.photoMode.value} crop…`;
  Promise.all(list.map(runPhoto)).then(() => announcePhotos(list));
});

// Drag and drop onto the zone; a file dropped elsewhere must not navigate away from a run.
const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
for (const type of ['dragenter', 'dragover']) {
  el.photoDrop.addEventListener(type, (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    el.photoDrop.classList.add('dragging');
  });
}
el.photoDrop.addEventListener('dragleave', (event) => {
  if (!el.photoDrop.contains(event.relatedTarget)) el.photoDrop.classList.remove('dragging');
});
el.photoDrop.addEventListener('drop', (event) => {
  event.preventDefault();
  el.photoDrop.classList.remove('dragging');
  if (!el.photoFiles.disabled) addPhotos([...(event.dataTransfer?.files ?? [])]);
});
window.addEventListener('dragover', (event) => {
  if (hasFiles(event) && !event.defaultPrevented) {
    event.preventDefault();
    event.dataTransfer.dropEffect = 'none';
  }
});
window.addEventListener('drop', (event) => {
  if (hasFiles(event)) event.preventDefault();
});

// Paste anywhere on the page (text pastes into fields are left alone).
document.addEventListener('paste', (event) => {
  const files = [...(event.clipboardData?.files ?? [])];
  if (!files.length || el.photoFiles.disabled) return;
  event.preventDefault();
  addPhotos(files, { pasted: true });
  el.photos?.scrollIntoView?.({ behavior: 'smooth', block: 'start' });
});

// The model changed (a run's new best epoch, a finished run, loaded weights, a cancel): every
// card gets the new prediction. Preprocessed inputs are kept, so only the model runs again.
let refreshSeq = 0;
async function refreshPhotoPredictions() {
  const list = photoState.list.filter((p) => p.result && !p.pending && !p.removed);
  if (!list.length || !worker) return;
  const seq = ++refreshSeq;
  try {
    const inputs = list.map((p) => p.result.input.slice());
    const { probs, noPrediction } = await request('predict-inputs', { inputs }, inputs.map((i) => i.buffer));
    if (seq !== refreshSeq) return;
    const model = modelName();
    list.forEach((p, i) => {
      if (p.removed || p.pending) return;
      Object.assign(p, { probs: probs?.[i] ?? null, noPrediction, model });
      renderPhotoCard(p);
    });
    el.photoStatus.textContent = probs
      ? `Predictions of ${list.length === 1 ? list[0].name : `${list.length} photos`} updated: model ${model}.`
      : NO_PREDICTION[noPrediction] ?? NO_PREDICTION.none;
  } catch (error) {
    if (seq === refreshSeq) el.photoStatus.textContent = `Could not update the predictions: ${error.message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Product catalogue: styles.csv + images/<id>.jpg from a folder or a .zip. Files are read here
// (a .zip lazily, entry by entry); preprocessing and prediction run in the worker.

const cat = {
  source: null, // {name, kind, styles: entry, stylesBytes, images: Map<'<id>.jpg', entry>, imageCount}
  sourceSeq: 0,
  token: 0, // bumped by every evaluation and cancel; a stale reply is ignored
  running: false,
  collected: null, // {key, token}: the worker's catalogue, reusable when nothing changed
  defaultMap: '',
  mapError: '',
  stylesError: '',
  planSeq: 0,
  result: null,
  urls: [],
  filter: null, // [true, predicted] of the confusion cell whose mistakes are shown
};

function hasModelWeights() {
  if (!ui.model) return false;
  return ui.run === 'done' || (ui.run === 'paused' && (currentRun?.history.length ?? 0) > 0);
}

function renderCatalogueControls() {
  const ready = !!worker && classNames.length > 0;
  el.catalogueFolder.disabled = !ready || cat.running;
  el.catalogueZip.disabled = !ready || cat.running;
  el.labelMap.disabled = !ready || cat.running;
  el.labelMapReset.disabled = !ready || cat.running || !cat.defaultMap;
  el.catalogueMode.disabled = cat.running;
  el.catalogueCancel.disabled = !cat.running;
  let why = '';
  if (cat.running) why = '';
  else if (!cat.source) why = 'Choose a catalogue folder or .zip file first.';
  else if (cat.mapError) why = 'Fix the label map first.';
  else if (cat.stylesError) why = 'This styles.csv cannot be read: choose another catalogue.';
  else if (isTraining()) why = 'Pause the run or let it finish first.';
  else if (!hasModelWeights()) why = 'Train a model or load weights first.';
  else if (ui.busy) why = 'Wait for the current task to finish.';
  el.catalogueEvaluate.disabled = cat.running || !!why;
  el.catalogueWhy.textContent = why;
}

function showCatalogueError(text) {
  el.catalogueError.textContent = text;
  el.catalogueError.hidden = !text;
}

// "invalid configuration: styles.csv: …" reads better without its first part here.
const plainMessage = (message) => String(message ?? '').replace(/^invalid configuration: /, '');

// Finds styles.csv (the shallowest one) and the photos next to it in images/.
async function useCatalogueSource(name, kind, entries) {
  const seq = ++cat.sourceSeq;
  showCatalogueError('');
  const styles = [...entries.values()]
    .filter((e) => /(^|\/)styles\.csv$/i.test(e.path))
    .sort((a, b) => a.path.split('/').length - b.path.split('/').length)[0];
  if (!styles) {
    throw new Error(`no styles.csv in ${name}: a catalogue has styles.csv and images/<id>.jpg`);
  }
  const prefix = styles.path.slice(0, styles.path.length - 'styles.csv'.length);
  const images = new Map();
  for (const e of entries.values()) {
    const m = /(?:^|\/)images\/([^/]+)$/i.exec(e.path);
    if (!m) continue;
    // Photos next to styles.csv win over same-named ones elsewhere.
    const own = e.path.toLowerCase().startsWith(`${prefix}images/`.toLowerCase());
    const key = m[1].toLowerCase(); // 123.JPG is 123.jpg too
    if (own || !images.has(key)) images.set(key, e);
  }
  const stylesBytes = await styles.read();
  if (seq !== cat.sourceSeq) return;
  await closeWorkerCatalogue();
  cat.source = { name, kind, styles, stylesBytes, images };
  el.catalogueProgressBlock.hidden = true;
  cat.collected = null;
  el.catalogueSource.textContent =
    `${name} (${kind}): ${styles.path} and ${int(images.size)} photo${images.size === 1 ? '' : 's'} in images/.`;
  el.catalogueSource.dataset.kind = 'ok';
  await refreshPlan();
}

async function closeWorkerCatalogue() {
  if (!cat.collected) return;
  cat.collected = null;
  await request('catalogue-close', {}).catch(() => {});
}

async function chooseCatalogue(load, label) {
  el.catalogueSource.textContent = `Reading ${label}…`;
  delete el.catalogueSource.dataset.kind;
  try {
    await load();
  } catch (error) {
    cat.source = null;
    showCatalogueError('');
    el.catalogueSource.textContent = `Could not use ${label}: ${error.message}`;
    el.catalogueSource.dataset.kind = 'error';
    el.cataloguePlan.textContent = '';
  }
  renderCatalogueControls();
}

el.catalogueFolder.addEventListener('change', () => {
  const files = [...(el.catalogueFolder.files ?? [])];
  el.catalogueFolder.value = '';
  if (!files.length) return;
  const name = (files[0].webkitRelativePath || files[0].name).split('/')[0] || 'the folder';
  chooseCatalogue(async () => {
    const entries = new Map();
    for (const file of files) {
      const path = file.webkitRelativePath || file.name;
      entries.set(path, { path, size: file.size, read: async () => new Uint8Array(await file.arrayBuffer()) });
    }
    await useCatalogueSource(name, 'folder', entries);
  }, `the folder ${name}`);
});

el.catalogueZip.addEventListener('change', () => {
  const file = el.catalogueZip.files?.[0];
  el.catalogueZip.value = '';
  if (!file) return;
  chooseCatalogue(async () => {
    const { openZip } = await import('./zip.js');
    await useCatalogueSource(file.name, '.zip', await openZip(file));
  }, file.name);
});

// Checks the label map (and counts the rows of styles.csv it maps) while it is edited.
let planTimer = 0;
function schedulePlan() {
  clearTimeout(planTimer);
  planTimer = setTimeout(refreshPlan, 300);
}

async function refreshPlan() {
  const seq = ++cat.planSeq;
  try {
    const styles = cat.source?.stylesBytes?.slice();
    const { plan } = await request(
      'catalogue-plan',
      { styles, labelMap: el.labelMap.value, mode: el.catalogueMode.value },
      styles ? [styles.buffer] : [],
    );
    if (seq !== cat.planSeq) return;
    setMapError('');
    cat.stylesError = '';
    showCatalogueError('');
    el.cataloguePlan.textContent = cat.source ? describePlan(plan) : '';
  } catch (error) {
    if (seq !== cat.planSeq) return;
    const message = plainMessage(error.message);
    if (/^label map/.test(message)) {
      setMapError(message);
      cat.stylesError = '';
      showCatalogueError('');
    } else {
      setMapError('');
      cat.stylesError = message;
      showCatalogueError(`${cat.source?.styles.path ?? 'styles.csv'}: ${message.replace(/^styles\.csv: /, '')}`);
    }
    el.cataloguePlan.textContent = '';
  }
  renderCatalogueControls();
}

function setMapError(text) {
  cat.mapError = text;
  el.labelMapError.textContent = text;
  el.labelMapError.hidden = !text;
  if (text) el.labelMap.setAttribute('aria-invalid', 'true');
  else el.labelMap.removeAttribute('aria-invalid');
}

function describePlan(plan) {
  const left = plan.unmapped.reduce((a, [, n]) => a + n, 0);
  const classes = plan.classCounts
    .map((n, k) => [classNames[k], n])
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${int(n)}`)
    .join(', ');
  return (
    `${int(plan.rows)} rows in styles.csv: ${int(plan.mapped)} map to a class${classes ? ` (${classes})` : ''}; ` +
    `${int(left)} left out (${int(plan.unmapped.length)} article type${plan.unmapped.length === 1 ? '' : 's'} without a class).`
  );
}

el.labelMap.addEventListener('input', () => {
  cat.collected = null; // labels may have changed: collect again
  schedulePlan();
});
el.labelMapReset.addEventListener('click', () => {
  el.labelMap.value = cat.defaultMap;
  cat.collected = null;
  refreshPlan();
  el.labelMap.focus();
  el.labelMap.setSelectionRange(0, 0);
  el.labelMap.scrollTop = 0;
});
el.catalogueMode.addEventListener('change', () => {
  cat.collected = null;
});

class Cancelled extends Error {}

function catalogueProgress(done, total, started) {
  const seconds = (performance.now() - started) / 1000;
  const rate = seconds > 0.2 ? done / seconds : 0;
  const eta = rate > 0 ? (total - done) / rate : NaN;
  el.catalogueProgress.max = Math.max(1, total);
  el.catalogueProgress.value = done;
  const text = `${int(done)}/${int(total)} photos · ${rate ? rate.toFixed(1) : '—'} photos/s · ETA ${mmss(eta)}`;
  el.catalogueProgressText.textContent = text;
  el.catalogueProgress.setAttribute('aria-valuetext', text);
  // Screen readers hear a short summary every 15 s rather than every batch.
  const now = performance.now();
  if (now - lastCatalogueAnnouncement > 15000) {
    lastCatalogueAnnouncement = now;
    el.catalogueLive.textContent = `${int(done)} of ${int(total)} catalogue photos read.`;
  }
}
let lastCatalogueAnnouncement = 0;

function catalogueKey() {
  return JSON.stringify([cat.sourceSeq, el.catalogueMode.value, el.labelMap.value]);
}

async function evaluateCatalogue() {
  if (!cat.source || cat.running) return;
  const token = ++cat.token;
  const source = cat.source;
  cat.running = true;
  ui.busy = true;
  showCatalogueError('');
  el.catalogueProgressBlock.hidden = false;
  el.catalogueProgress.value = 0;
  el.catalogueProgressText.textContent = 'Reading styles.csv…';
  render();
  keepFocus(el.catalogueCancel);
  const check = () => {
    if (token !== cat.token) throw new Cancelled();
  };
  lastCatalogueAnnouncement = performance.now();
  const readFailures = [];
  try {
    const key = catalogueKey();
    if (cat.collected?.key !== key) {
      cat.collected = null;
      const styles = source.stylesBytes.slice();
      const { ids } = await request(
        'catalogue-open',
        { token, styles, labelMap: el.labelMap.value, mode: el.catalogueMode.value },
        [styles.buffer],
      );
      check();
      if (!ids.length) throw new Error('no row of styles.csv maps to a Fashion-MNIST class: check the label map');
      const count = await collectPhotos(token, source, ids, readFailures, check);
      cat.collected = { key, token, readFailures, count };
    } else {
      readFailures.push(...cat.collected.readFailures);
    }
    el.catalogueProgressText.textContent = `Evaluating ${int(cat.collected.count)} photos…`;
    const { result, inputs } = await request('catalogue-evaluate', { token: cat.collected.token });
    check();
    result.skipped = [...(result.skipped ?? []), ...readFailures];
    renderCatalogueResult(result, inputs, source);
    el.catalogueProgress.value = el.catalogueProgress.max;
    el.catalogueProgressText.textContent =
      `Done: ${int(result.evaluated)} photos evaluated, ${int(result.skipped.length)} skipped.`;
    el.catalogueLive.textContent = `Catalogue evaluated: top-1 accuracy ${pct(result.accuracy)} on ${int(result.evaluated)} photos.`;
    setStatus(`Catalogue ${source.name}: top-1 ${pct(result.accuracy)} on ${int(result.evaluated)} photos.`);
  } catch (error) {
    if (error instanceof Cancelled || token !== cat.token) return;
    cat.collected = null;
    showCatalogueError(`The catalogue evaluation stopped: ${plainMessage(error.message)}`);
    el.catalogueProgressText.textContent = 'Stopped.';
  } finally {
    if (token === cat.token) {
      cat.running = false;
      ui.busy = false;
      render();
      keepFocus(el.catalogueEvaluate);
    }
  }
}

// Reads the photos of `ids` and sends them to the worker in batches; one batch is being read
// while the worker preprocesses the one before.
async function collectPhotos(token, source, ids, readFailures, check) {
  const started = performance.now();
  let done = 0;
  let collected = 0;
  let inFlight = Promise.resolve();
  let photos = [];
  let missing = [];
  let bytesInBatch = 0;
  const flush = async () => {
    const batch = { photos, missing };
    photos = [];
    missing = [];
    bytesInBatch = 0;
    await inFlight;
    check();
    inFlight = request('catalogue-add', { token, ...batch }, batch.photos.map((p) => p.bytes.buffer)).then((reply) => {
      collected = reply.collected;
      done += batch.photos.length + batch.missing.length;
      if (token === cat.token) catalogueProgress(done, ids.length, started);
    });
    inFlight.catch(() => {}); // awaited below; this only silences an early rejection
  };
  catalogueProgress(0, ids.length, started);
  for (const id of ids) {
    check();
    const entry = source.images.get(`${id}.jpg`.toLowerCase());
    if (!entry) {
      missing.push(id);
    } else {
      try {
        const bytes = await entry.read();
        photos.push({ id, bytes });
        bytesInBatch += bytes.length;
      } catch (error) {
        readFailures.push({ id, reason: `could not read ${entry.path}: ${error.message}` });
        done++;
      }
    }
    if (photos.length >= 32 || bytesInBatch > 8e6 || missing.length >= 512) await flush();
  }
  await flush();
  await inFlight;
  check();
  return collected;
}

el.catalogueEvaluate.addEventListener('click', evaluateCatalogue);

el.catalogueCancel.addEventListener('click', () => {
  if (!cat.running) return;
  cat.token++;
  cat.running = false;
  ui.busy = false;
  cat.collected = null;
  request('catalogue-close', {}).catch(() => {});
  el.catalogueProgressText.textContent = 'Cancelled.';
  setStatus('Catalogue evaluation cancelled.');
  render();
  keepFocus(el.catalogueEvaluate);
});

function renderCatalogueResult(result, inputs, source) {
  for (const url of cat.urls) URL.revokeObjectURL(url);
  cat.urls = [];
  // The model's name goes with the result: a study report may include it.
  const modelRun = ui.model?.runId ? runs.get(ui.model.runId) : null;
  const model = modelRun?.study?.runId ?? (ui.model?.runId ? ui.model.label : modelName()) ?? 'model';
  cat.result = { result, inputs, source, model };
  cat.filter = null;
  el.catalogueResults.hidden = false;

  const left = result.unmapped.reduce((a, [, n]) => a + n, 0);
  el.catalogueSummary.replaceChildren(
    cell('strong', `Top-1 accuracy ${pct(result.accuracy)}`),
    document.createTextNode(
      ` on ${int(result.evaluated)} photos of ${source.name} (${result.preprocess} crop, model ${modelName() || '—'}). ` +
      `${int(result.rows)} rows in styles.csv; ${int(left)} left out by the label map; ` +
      `${int(result.skipped.length)} photo${result.skipped.length === 1 ? '' : 's'} skipped.`,
    ),
  );
  renderReportTable(el.catalogueReport, result.report);
  el.catalogueText.textContent = result.text ?? '';
  renderConfusion(el.catalogueConfusion, result.report.confusion.counts, {
    noun: 'photos',
    caption: `Confusion matrix of the catalogue ${source.name}: rows true class, columns predicted class`,
  });
  renderCountList(
    el.catalogueUnmapped,
    result.unmapped.map(([type, n]) => `${type}: ${int(n)} row${n === 1 ? '' : 's'}`),
    'Every article type has a class.',
  );
  renderCountList(
    el.catalogueSkipped,
    result.skipped.map((s) => `${s.id}: ${s.reason}`),
    'No photo was skipped.',
  );
  renderMistakes();
}

function renderReportTable(table, report) {
  const counts = report.confusion.counts;
  const predicted = counts[0].map((_, p) => counts.reduce((a, row) => a + row[p], 0));
  const score = (x) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(3));
  const head = document.createElement('thead');
  const hr = document.createElement('tr');
  for (const name of ['Class', 'Precision', 'Recall', 'F1', 'Support']) {
    const th = cell('th', name, name === 'Class' ? '' : 'num');
    th.scope = 'col';
    hr.append(th);
  }
  head.append(hr);
  const body = document.createElement('tbody');
  const row = (name, s, { support = int(s.support), noSupport = false, predictedNone = false } = {}) => {
    const tr = document.createElement('tr');
    const th = cell('th', name);
    th.scope = 'row';
    if (noSupport) tr.classList.add('no-support');
    tr.append(
      th,
      cell('td', predictedNone ? '—' : score(s.precision), 'num'),
      cell('td', noSupport ? '—' : score(s.recall), 'num'),
      cell('td', noSupport ? '—' : score(s.f1), 'num'),
      cell('td', support, 'num'),
    );
    return tr;
  };
  report.classes.forEach((c, k) => {
    const noSupport = c.support === 0;
    body.append(row(c.name, c, {
      noSupport,
      predictedNone: predicted[k] === 0,
      support: noSupport ? 'no photos' : int(c.support),
    }));
  });
  const total = report.classes.reduce((a, c) => a + c.support, 0);
  const acc = document.createElement('tr');
  acc.className = 'summary-row';
  const accName = cell('th', 'Accuracy');
  accName.scope = 'row';
  acc.append(accName, cell('td', '', 'num'), cell('td', '', 'num'), cell('td', score(report.accuracy), 'num'), cell('td', int(total), 'num'));
  const macro = row('Macro average', report.macro_avg);
  const weighted = row('Weighted average', report.weighted_avg);
  macro.classList.add('summary-row');
  body.append(acc, macro, weighted);
  table.replaceChildren(
    cell('caption', 'Precision, recall and F1 per class; support is the number of photos of the class', 'visually-hidden'),
    head,
    body,
  );
}

const MAX_LISTED = 100;
function renderCountList(list, lines, empty) {
  if (!lines.length) {
    list.replaceChildren(cell('li', empty, 'muted'));
    return;
  }
  const items = lines.slice(0, MAX_LISTED).map((line) => cell('li', line));
  if (lines.length > MAX_LISTED) items.push(cell('li', `… and ${int(lines.length - MAX_LISTED)} more (see the plain-text report).`, 'muted'));
  list.replaceChildren(...items);
}

confusionGrid(el.catalogueConfusion, (t, p) => {
  if (!cat.result) return;
  cat.filter = [t, p];
  renderMistakes();
  el.mistakes.closest('section').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
});

el.mistakesAll.addEventListener('click', () => {
  cat.filter = null;
  renderMistakes();
  el.mistakesNote.focus();
});

function renderMistakes() {
  const { result, inputs, source } = cat.result;
  const counts = result.report.confusion.counts;
  const wrong = counts.reduce((a, row, t) => a + row.reduce((b, n, p) => b + (t === p ? 0 : n), 0), 0);
  const all = result.mistakes.map((m, i) => ({ ...m, input: inputs[i] }));
  let shown = all;
  const [t, p] = cat.filter ?? [];
  if (cat.filter) {
    shown = all.filter((m) => m.label === t && m.predicted === p);
    el.mistakesNote.textContent = t === p
      ? `Correct predictions of ${classNames[t]} are not listed; choose a cell off the diagonal.`
      : `${int(shown.length)} listed mistake${shown.length === 1 ? '' : 's'} of ${classNames[t]} predicted as ${classNames[p]}` +
        ` (${int(counts[t][p])} in all).`;
  } else {
    el.mistakesNote.textContent = wrong === 0
      ? 'No mistakes.'
      : `${all.length < wrong ? `The ${int(all.length)} most confident of ${int(wrong)}` : `All ${int(wrong)}`} ` +
        `mistake${wrong === 1 ? '' : 's'}, most confident first: true class → predicted class.`;
  }
  el.mistakesAll.hidden = !cat.filter;
  // In slices of a frame each, so a long list never freezes the page.
  const seq = ++mistakesSeq;
  el.mistakes.replaceChildren();
  const addSlice = (start) => {
    if (seq !== mistakesSeq) return;
    el.mistakes.append(...shown.slice(start, start + 24).map((m) => mistakeItem(m, source)));
    if (start + 24 < shown.length) requestAnimationFrame(() => addSlice(start + 24));
  };
  addSlice(0);
}
let mistakesSeq = 0;

// A PNG object URL of an RGBA image. One shared canvas, and the PNG is encoded off the main
// thread (toBlob copies the pixels at once): 200 live canvases or data URLs would block the page.
let scratchCanvas = null;
function imageUrl(image) {
  scratchCanvas ??= document.createElement('canvas');
  drawImage(scratchCanvas, image);
  return new Promise((resolve, reject) =>
    scratchCanvas.toBlob((blob) => (blob ? resolve(URL.createObjectURL(blob)) : reject(new Error('no image'))), 'image/png'));
}

function mistakeItem(m, source) {
  const li = document.createElement('li');
  li.className = 'mistake';
  li.dataset.id = m.id;
  const figure = document.createElement('figure');
  const images = document.createElement('div');
  images.className = 'mistake-images';
  const img = document.createElement('img');
  img.alt = `Photo of product ${m.id} (${m.article_type})`;
  img.decoding = 'async';
  const entry = source.images.get(`${m.id}.jpg`.toLowerCase());
  entry?.read().then((bytes) => {
    if (cat.result?.source !== source) return;
    const url = URL.createObjectURL(new Blob([bytes], { type: 'image/jpeg' }));
    cat.urls.push(url);
    img.src = url;
  }, () => {
    img.alt = `The photo of product ${m.id} could not be read`;
  });
  images.append(img);
  if (m.input) {
    // One shared canvas makes a small PNG of each input: 200 live canvases cost far more.
    const input = document.createElement('img');
    input.className = 'model-input';
    input.alt = `Model input of product ${m.id}`;
    imageUrl({ width: 28, height: 28, rgba: m.input }).then((url) => {
      if (cat.result?.source !== source) return URL.revokeObjectURL(url);
      cat.urls.push(url);
      input.src = url;
    });
    images.append(input);
  }
  const caption = document.createElement('figcaption');
  const classes = document.createElement('span');
  classes.className = 'mistake-classes';
  classes.append(cell('span', classNames[m.label], 'true-name'), document.createTextNode(' → '), cell('strong', classNames[m.predicted]));
  caption.append(
    classes,
    cell('span', `${(m.confidence * 100).toFixed(1)} % sure`, 'confidence'),
    cell('span', `#${m.id} · ${m.article_type}`, 'muted'),
  );
  figure.append(images, caption);
  li.append(figure);
  return li;
}

// ---------------------------------------------------------------------------------------------
// Study: its runs one after the other (WebTrainer.forRun in the worker, trained like any other
// run), the queue, the models' validation curves side by side, and the report. The study is JSON
// kept in IndexedDB ('studies', key 'current') and saved after every finished run; its runs are
// run records too, so they appear in the runs table and a cut-off run resumes from its last epoch.

const STUDY_FILES = {
  html: ['fashion-mnist-study-report.html', 'text/html'],
  markdown: ['fashion-mnist-study-report.md', 'text/markdown'],
  csv: ['fashion-mnist-study-results.csv', 'text/csv'],
  json: ['fashion-mnist-study-report.json', 'application/json'],
};
// Okabe–Ito colours and a dash pattern each, so lines differ by more than colour.
const STUDY_COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'];
const STUDY_DASHES = [[], [8, 4], [2, 3], [12, 3, 3, 3], [5, 5], [1, 3]];

// 12.3 s, 4 min 5 s, 1 h 2 min: as the report writes it.
function duration(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const newId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

function setStudyStatus(text, kind = 'info') {
  el.studyStatus.textContent = text;
  el.studyStatus.dataset.kind = kind;
}

function showStudyError(text) {
  el.studyError.textContent = text;
  el.studyError.hidden = !text;
}

// The variants' checkboxes and refit choices, from the presets.
function fillStudyVariants(list) {
  el.studyVariantList.replaceChildren(
    ...list.map((p) => {
      const label = document.createElement('label');
      const input = document.createElement('input');
      input.type = 'checkbox';
      input.name = 'variant';
      input.value = p.name;
      input.id = `study-variant-${p.name}`;
      input.checked = true;
      label.append(input, cell('span', p.name, 'variant-name'), cell('span', ` — ${p.description}`, 'muted'));
      return label;
    }),
  );
  el.studyRefit.replaceChildren(
    new Option('the best on validation', 'best'),
    ...list.map((p) => new Option(p.name, p.name)),
  );
  if (study.data) writeStudySettings(study.data.config);
  syncRefitChoices();
}

const checkedVariants = () => [...el.studyVariantList.querySelectorAll('input:checked')].map((i) => i.value);

// A refit variant must be one of the study's: the others are not offered.
function syncRefitChoices() {
  const chosen = new Set(checkedVariants());
  for (const option of el.studyRefit.options) {
    option.disabled = option.value !== 'best' && !chosen.has(option.value);
  }
  if (el.studyRefit.selectedOptions[0]?.disabled) el.studyRefit.value = 'best';
}

el.studyVariantList.addEventListener('change', () => {
  syncRefitChoices();
  showStudyError('');
});

function readStudySettings() {
  return {
    epochs: el.studyEpochs.valueAsNumber,
    seed: el.studySeed.valueAsNumber,
    variants: checkedVariants(),
    refit: el.studyRefit.value,
    limit_train: LIMIT || null,
    limit_eval: LIMIT || null,
  };
}

function writeStudySettings(config) {
  if (!config) return;
  el.studyEpochs.value = config.epochs;
  el.studySeed.value = config.seed;
  const variants = new Set(config.variants);
  for (const input of el.studyVariantList.querySelectorAll('input')) input.checked = variants.has(input.value);
  syncRefitChoices();
  el.studyRefit.value = config.refit;
}

function validateStudyForm() {
  let firstBad = null;
  for (const input of [el.studyEpochs, el.studySeed]) {
    const ok = input.checkValidity() && input.value !== '';
    if (ok) input.removeAttribute('aria-invalid');
    else input.setAttribute('aria-invalid', 'true');
    firstBad ??= ok ? null : input;
  }
  if (firstBad) {
    const name = document.querySelector(`label[for="${firstBad.id}"]`)?.textContent ?? firstBad.name;
    showStudyError(`${name}: ${firstBad.validationMessage || 'enter a whole number in the allowed range'}`);
    firstBad.focus();
    return false;
  }
  if (!checkedVariants().length) {
    showStudyError('Variants: choose at least one.');
    el.studyVariantList.querySelector('input')?.focus();
    return false;
  }
  showStudyError('');
  return true;
}

for (const input of [el.studyEpochs, el.studySeed]) {
  input.addEventListener('input', () => input.removeAttribute('aria-invalid'));
}

async function saveStudy() {
  if (!study.saved) return;
  study.saved.updatedAt = Date.now();
  try {
    await dbRequest('readwrite', (s) => s.put(study.saved), 'studies');
  } catch (error) {
    setStudyStatus(`Could not store the study in this browser: ${error?.message ?? error}`, 'warn');
  }
}

function applyStudyState(reply) {
  study.state = {
    queue: reply.queue,
    finished: reply.finished,
    total: reply.total,
    isFinished: reply.isFinished,
    next: reply.next ?? null,
  };
  study.saved.json = reply.study;
  study.data = JSON.parse(reply.study);
  writeStudySettings(study.data.config);
}

const studyResult = (id) => study.data?.results?.find((r) => r.id === id) ?? null;
const nextStudySpec = () => (study.state?.next ? JSON.parse(study.state.next) : null);

// The run record of this study's run `runId`, if one was started.
function studyRunRecord(runId) {
  const key = study.saved?.key;
  if (!key) return null;
  return [...runs.values()].find((r) => r.study?.key === key && r.study.runId === runId) ?? null;
}

// A cut-off run continues from its last finished epoch when the trainer resume rebuilds exactly
// the study's images: always for runs fitted on train, for the refit only without image limits.
function canResumeStudyRun(run, specJson, spec) {
  return (
    !!run?.resumeWeights &&
    run.study?.spec === specJson &&
    run.history.length > 0 &&
    run.history.length < spec.config.epochs &&
    (spec.config.fit === 'train' || (spec.limit_train == null && spec.limit_eval == null))
  );
}

// Where the study stands, for the status line.
function describeStudy() {
  if (!study.state) return '';
  const { finished, total, isFinished } = study.state;
  if (isFinished) {
    const seconds = (study.data?.results ?? []).reduce((a, r) => a + (r.seconds || 0), 0);
    return `Study finished: ${total} runs in ${duration(seconds)}. Download the report below.`;
  }
  const spec = nextStudySpec();
  const run = spec ? studyRunRecord(spec.id) : null;
  const from = spec && canResumeStudyRun(run, study.state.next, spec) ? ` from epoch ${run.history.length + 1}` : '';
  return `${finished} of ${total} runs finished. Continue study picks up at ${spec?.id ?? 'the next run'}${from}.`;
}

// ---- running the study

el.studyForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (el.studyStart.disabled || study.planning || !validateStudyForm()) return;
  studyControlsInUse = true;
  if (study.state?.finished > 0) {
    const what = study.state.isFinished ? 'the finished study' : `the study (${study.state.finished} of ${study.state.total} runs finished)`;
    if (!confirm(`Replace ${what} with a new one? Download its report first to keep it; its runs stay in the runs table.`)) return;
  }
  study.planning = true;
  render();
  let reply;
  try {
    reply = await request('study-plan', { settings: readStudySettings() });
  } catch (error) {
    showStudyError(`These settings cannot make a study: ${error.message}`);
    return;
  } finally {
    study.planning = false;
    render();
  }
  showStudyError('');
  study.saved = { id: 'current', key: newId(), json: reply.study, backend: el.studyBackend.value, createdAt: Date.now() };
  applyStudyState(reply);
  await saveStudy();
  study.active = true;
  resetStudyCharts();
  nextStudyRun();
});

el.studyContinue.addEventListener('click', () => {
  if (!study.saved || !study.state || study.state.isFinished || isTraining() || ui.run === 'paused') return;
  studyControlsInUse = true;
  study.saved.backend = el.studyBackend.value;
  saveStudy();
  study.active = true;
  nextStudyRun();
});


// Starts (or resumes) the study's next run, or ends the study when none is left.
function nextStudyRun() {
  const specJson = study.state?.next;
  if (!specJson) {
    finishStudy();
    return;
  }
  const spec = JSON.parse(specJson);
  let run = studyRunRecord(spec.id);
  const resume = canResumeStudyRun(run, specJson, spec);
  if (!run) {
    run = { id: newId(), label: `study · ${spec.id}`, createdAt: Date.now(), study: { key: study.saved.key, runId: spec.id } };
  }
  Object.assign(run, { config: spec.config, limit: spec.limit_train ?? 0, status: 'running', error: undefined });
  if (!resume) {
    Object.assign(run, { history: [], bestEpoch: 0, weights: null, resumeWeights: null, testAccuracy: undefined });
  }
  run.study.spec = specJson;
  currentRun = run;
  saveRun(run);
  study.progress = null;
  ui.run = 'starting';
  ui.model = null;
  resetCurves(spec.config.epochs, run.history);
  el.chartsNote.textContent = `Study run ${spec.id}: running training values per chunk; validation at each epoch end.`;
  const what = resume ? `Resuming ${spec.id} from epoch ${run.history.length + 1}` : `Starting ${spec.id}`;
  resetProgress(`${what}…`);
  clearEvaluation();
  setStatus(`Study: ${what.charAt(0).toLowerCase()}${what.slice(1)}…`);
  setStudyStatus(`${what}: run ${study.state.finished + 1} of ${study.state.total}…`);
  render();
  renderStudy();
  keepFocus(el.studyCancel);
  const backend = study.saved.backend ?? el.studyBackend.value;
  if (resume) {
    send('resume-run', {
      config: run.config,
      label: run.label,
      backend,
      limitTrain: spec.limit_train ?? 0,
      limitEval: spec.limit_eval ?? 0,
      history: run.history,
      latest: run.resumeWeights,
      best: run.weights,
      bestEpoch: run.bestEpoch,
    });
  } else {
    send('study-run', { spec: specJson, label: run.label, backend });
  }
}

// A study run finished its epochs: keep its weights, test and record it, save the study, go on.
async function studyRunDone(run, history, bestEpoch) {
  study.recording = true;
  ui.run = 'done';
  run.history = history;
  run.bestEpoch = bestEpoch || bestEpochOf(history);
  el.progress.value = 1;
  el.progressText.textContent = `Finished ${run.config.epochs} epochs; best epoch ${run.bestEpoch}. Testing…`;
  setStatus(`Study run ${run.study.runId} finished its epochs; evaluating it on the test set…`);
  renderStudy();
  render();
  refreshPhotoPredictions();
  try {
    const { bytes } = await request('export');
    run.weights = bytes;
  } catch {
    // the study records the run all the same; only the runs table's Use and Weights need them
  }
  const seconds = history.reduce((a, r) => a + (Number(r.seconds) || 0), 0);
  let reply;
  try {
    reply = await request('study-record', { study: study.saved.json, spec: run.study.spec, seconds });
  } catch (error) {
    study.recording = false;
    study.active = false;
    run.status = 'error';
    run.error = `could not be recorded: ${error.message}`;
    await saveRun(run);
    setStudyStatus(`The study stopped: run ${run.study.runId} could not be recorded (${error.message}). ${describeStudy()}`, 'error');
    renderStudy();
    render();
    return;
  }
  run.status = 'done';
  run.testAccuracy = reply.recorded?.testTop1 ?? undefined;
  el.progressText.textContent =
    `Finished ${run.config.epochs} epochs; best epoch ${run.bestEpoch}; test top-1 ${pct(run.testAccuracy)}.`;
  run.resumeWeights = null; // finished: nothing to resume
  await saveRun(run);
  applyStudyState(reply);
  await saveStudy();
  study.recording = false;
  const q = reply.queue.find((r) => r.id === run.study.runId);
  const val = q?.valTop1 != null ? `validation top-1 ${pct(q.valTop1)}, ` : '';
  const finished = `Run ${run.study.runId} finished (${reply.finished} of ${reply.total}): ${val}test top-1 ${pct(q?.testTop1)}.`;
  if (reply.isFinished || !study.active) {
    study.active = false;
    if (reply.isFinished) {
      finishStudy(finished);
    } else {
      setStudyStatus(`${finished} Study stopped. ${describeStudy()}`);
      setStatus(`Study stopped after ${run.study.runId}.`);
      renderStudy();
      render();
      keepFocus(runControls().start);
    }
    return;
  }
  setStudyStatus(finished);
  nextStudyRun();
}

function finishStudy(lastRun = '') {
  study.active = false;
  if (currentRun?.study && currentRun.status === 'done') ui.run = 'done';
  const refit = study.state?.queue.find((q) => q.fit === 'train+val' && q.status === 'done');
  setStudyStatus(`${lastRun} ${describeStudy()}`.trim(), 'ok');
  setStatus(
    refit && ui.model
      ? `Study finished. The refitted model ${refit.id} is loaded: evaluate it on the test set, try your photos or a catalogue.`
      : 'Study finished.',
  );
  renderStudy();
  render();
  keepFocus(el.studyDownloads[0]);
}

// ---- queue and progress

function renderStudy() {
  const state = !study.state
    ? 'none'
    : study.active
      ? ui.run === 'paused' ? 'paused' : 'running'
      : study.state.isFinished ? 'finished' : 'stopped';
  el.study.dataset.state = state;
  renderStudyLimit();
  renderStudyQueue();
  renderStudyProgress();
  renderStudyCharts();
  renderStudyControls();
}

function renderStudyLimit() {
  const config = study.data?.config;
  const limit = config ? config.limit_train : LIMIT || null;
  const evalLimit = config ? config.limit_eval : LIMIT || null;
  el.studyLimit.hidden = limit == null && evalLimit == null;
  if (!el.studyLimit.hidden) {
    el.studyLimit.textContent = config
      ? `This study trains on at most ${int(limit ?? NaN)} images and validates and tests on at most ${int(evalLimit ?? NaN)} per run (it was planned with ?limit).`
      : `Quick study: ?limit=${LIMIT} trains each run on at most ${int(LIMIT)} images and validates and tests on at most ${int(LIMIT)}.`;
  }
}

// The run being trained (also while paused or recorded), or null.
const liveStudyRunId = () => (study.active && currentRun?.study?.key === study.saved?.key ? currentRun.study.runId : null);

function renderStudyQueue() {
  const tbody = el.studyQueue.tBodies[0];
  const queue = study.state?.queue ?? [];
  if (!queue.length) {
    const td = cell('td', 'No study yet.', 'muted');
    td.colSpan = 6;
    const tr = document.createElement('tr');
    tr.append(td);
    tbody.replaceChildren(tr);
    return;
  }
  const live = liveStudyRunId();
  const next = nextStudySpec()?.id ?? null;
  tbody.replaceChildren(
    ...queue.map((q) => {
      const tr = document.createElement('tr');
      tr.dataset.runId = q.id;
      const result = studyResult(q.id);
      const record = q.status === 'done' ? null : studyRunRecord(q.id);
      let status = q.status;
      let note = '';
      if (q.status !== 'done' && q.id === live) {
        status = study.recording ? 'testing' : ui.run === 'paused' ? 'paused' : 'running';
        tr.classList.add('current');
      } else if (q.status !== 'done' && q.id === next && record?.history.length && record.status !== 'running') {
        status = 'stopped';
        note = `${record.history.length} of ${record.config.epochs} epochs kept`;
      }
      tr.dataset.status = status;

      const name = cell('th', '');
      name.scope = 'row';
      name.append(cell('span', q.id, 'run-label'));
      name.append(cell('span', q.variant ? `fit ${q.fit}` : `the best variant, fit ${q.fit}`, 'run-config'));

      const statusTd = statusCell(status === 'testing' ? 'running' : status);
      statusTd.querySelector('.status-badge').textContent = status;
      if (note) statusTd.append(cell('span', note, 'run-config'));
      if (status === 'running' || status === 'paused' || status === 'testing') {
        const bar = document.createElement('progress');
        bar.id = 'study-run-progress';
        bar.max = 1;
        bar.value = status === 'testing' ? 1 : Math.min(1, Math.max(0, study.progress?.fraction_done ?? 0));
        bar.setAttribute('aria-label', `Progress of ${q.id}`);
        const text = cell('span', status === 'testing' ? 'Evaluating on the test set…' : runProgressText(study.progress), 'run-progress-text');
        text.id = 'study-run-progress-text';
        bar.setAttribute('aria-describedby', text.id);
        statusTd.append(bar, text);
      }
      const best = result?.best_epoch;
      tr.append(
        name,
        statusTd,
        cell('td', best ? String(best) : '—', 'num'),
        cell('td', q.status === 'done' ? (q.valTop1 != null ? pct(q.valTop1) : 'no val set') : '—', 'num'),
        cell('td', q.testTop1 != null ? pct(q.testTop1) : '—', 'num'),
        cell('td', result ? duration(result.seconds) : '—', 'num'),
      );
      return tr;
    }),
  );
}

function runProgressText(p) {
  if (!p) return 'Starting…';
  return `Epoch ${p.epoch}/${p.epochs} · ${Math.round((p.fraction_done ?? 0) * 100)} % · ETA ${mmss(p.eta_seconds)}`;
}

// About how long the rest of the study takes: this run's ETA plus the runs still waiting, each
// as long as the runs so far took on average.
function studyEta(p) {
  if (!p || !study.state) return null;
  const f = p.fraction_done ?? 0;
  const times = (study.data?.results ?? []).map((r) => r.seconds).filter(Number.isFinite);
  if (f > 0.02 && f < 1 && Number.isFinite(p.eta_seconds)) times.push(p.eta_seconds / (1 - f));
  if (!times.length || !Number.isFinite(p.eta_seconds)) return null;
  const perRun = times.reduce((a, b) => a + b, 0) / times.length;
  const waiting = Math.max(0, study.state.total - study.state.finished - 1);
  return p.eta_seconds + waiting * perRun;
}

function showStudyProgress(p) {
  study.progress = p;
  const bar = document.getElementById('study-run-progress');
  const text = document.getElementById('study-run-progress-text');
  if (bar) bar.value = Math.min(1, Math.max(0, p.fraction_done ?? 0));
  if (text) text.textContent = runProgressText(p);
  renderStudyProgress();
}

function renderStudyProgress() {
  if (!study.state) {
    el.studyProgress.value = 0;
    el.studyProgress.removeAttribute('aria-valuetext');
    el.studyProgressText.textContent = 'No study yet.';
    return;
  }
  const { finished, total } = study.state;
  const live = liveStudyRunId();
  const p = live && !study.recording ? study.progress : null;
  const fraction = (finished + (live ? (study.recording ? 1 : Math.min(1, p?.fraction_done ?? 0)) : 0)) / total;
  let text = `${finished} of ${total} runs finished`;
  if (live) {
    const eta = studyEta(p);
    text += ` · now ${live}${eta != null ? ` · study ETA about ${mmss(eta)}` : ''}`;
  }
  el.studyProgress.value = Math.min(1, fraction);
  el.studyProgress.setAttribute('aria-valuetext', `${Math.round(fraction * 100)} % of the study. ${text}.`);
  el.studyProgressText.textContent = text;
}

// ---- the models' validation curves

let studyCharts = null; // {key, acc, loss, observers}

function resetStudyCharts() {
  for (const o of studyCharts?.observers ?? []) o.disconnect();
  studyCharts?.acc.destroy();
  studyCharts?.loss.destroy();
  studyCharts = null;
}

function makeStudyChart(box, names, epochs, yLabel, format) {
  const fg = cssVar('--fg') || '#222';
  const grid = cssVar('--grid') || '#0002';
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const opts = {
    width: Math.max(240, box.clientWidth),
    height: 260,
    scales: { x: { time: false, range: () => [0.5, epochs + 0.5] } },
    axes: [
      { ...axis, label: 'epoch', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500], values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? t : '')) },
      { ...axis, label: yLabel, size: 56, values: (u, ticks) => ticks.map(format) },
    ],
    series: [
      { label: 'epoch', value: (u, v) => (v == null ? '—' : String(v)) },
      ...names.map((name, i) => ({
        label: name,
        stroke: STUDY_COLOURS[i % STUDY_COLOURS.length],
        dash: STUDY_DASHES[i % STUDY_DASHES.length],
        width: 2,
        spanGaps: true,
        points: { show: true, size: 7 },
        value: (u, v) => (v == null ? '—' : format(v)),
      })),
    ],
  };
  const plot = new uPlot(opts, [[], ...names.map(() => [])], box);
  const observer = new ResizeObserver(() => {
    const width = Math.max(240, box.clientWidth);
    if (width !== plot.width) plot.setSize({ width, height: 260 });
  });
  observer.observe(box);
  return { plot, observer };
}

// The histories of the models fitted on train: finished runs from the study, the others from
// their run records (the run in progress, or one cut off).
function studyHistories() {
  const names = study.data?.config?.variants ?? [];
  return names.map((name) => {
    const result = studyResult(name);
    if (result) return { name, history: result.history, done: true };
    const record = studyRunRecord(name);
    return { name, history: record?.history ?? [], done: false };
  });
}

function renderStudyCharts() {
  el.studyCharts.hidden = !study.data;
  if (!study.data) {
    resetStudyCharts();
    el.studyAccLatest.textContent = '';
    el.studyLossLatest.textContent = '';
    return;
  }
  const epochs = study.data.config.epochs;
  const models = studyHistories();
  const names = models.map((m) => m.name);
  const key = JSON.stringify([names, epochs, study.saved?.key]);
  if (uPlot && studyCharts?.key !== key) {
    resetStudyCharts();
    const acc = makeStudyChart(el.studyAccChart, names, epochs, 'val top-1 %', (v) => v.toFixed(1));
    const loss = makeStudyChart(el.studyLossChart, names, epochs, 'val loss', (v) => v.toFixed(2));
    studyCharts = { key, acc: acc.plot, loss: loss.plot, observers: [acc.observer, loss.observer] };
  }
  const x = Array.from({ length: epochs }, (_, i) => i + 1);
  const series = (pick) => models.map((m) => x.map((e) => {
    const v = m.history.find((r) => r.epoch === e)?.[pick];
    return v == null ? null : v;
  }));
  if (studyCharts) {
    studyCharts.acc.setData([x, ...series('val_accuracy').map((s) => s.map((v) => (v == null ? null : v * 100)))]);
    studyCharts.loss.setData([x, ...series('val_loss')]);
  }
  // The same in words, for screen readers and without charts.
  const withEpochs = models.filter((m) => m.history.some((r) => r.val_accuracy != null));
  const best = (m, pick, better) => m.history.filter((r) => r[pick] != null).reduce((a, r) => (better(r[pick], a[pick]) ? r : a));
  el.studyAccLatest.textContent = withEpochs.length
    ? `Best validation top-1: ${withEpochs.map((m) => {
      const r = best(m, 'val_accuracy', (a, b) => a > b);
      return `${m.name} ${pct(r.val_accuracy)} (epoch ${r.epoch}${m.done ? '' : ', so far'})`;
    }).join('; ')}.`
    : 'No epoch has finished yet.';
  el.studyLossLatest.textContent = withEpochs.length
    ? `Lowest validation loss: ${withEpochs.map((m) => {
      const r = best(m, 'val_loss', (a, b) => a < b);
      return `${m.name} ${num(r.val_loss)} (epoch ${r.epoch}${m.done ? '' : ', so far'})`;
    }).join('; ')}.`
    : '';
}

if (!uPlot) el.studyChartsNote.textContent = 'Charts are unavailable (vendor/uPlot.esm.js did not load); the queue and the report have the numbers.';
darkMode.addEventListener('change', () => {
  resetStudyCharts();
  renderStudyCharts();
});

// ---- controls and report

function renderStudyControls() {
  const busy = isTraining() || ui.run === 'paused';
  const saved = !!study.saved && !!study.state;
  const unfinished = saved && !study.state.isFinished;
  el.studyFields.disabled = busy || study.planning;
  el.studyStart.disabled = ui.data !== 'ready' || busy || ui.busy || study.planning || !presets.length;
  el.studyStart.textContent = saved ? 'Run a new study' : 'Run the study';
  el.studyStart.classList.toggle('primary', !unfinished);
  el.studyContinue.hidden = !unfinished || study.active;
  el.studyContinue.disabled = ui.data !== 'ready' || busy || ui.busy;
  el.studyPause.disabled = !(study.active && ui.run === 'running' && !study.recording);
  el.studyResume.disabled = !(study.active && ui.run === 'paused') || ui.busy;
  el.studyCancel.disabled = !study.active || ui.busy;
  const finished = saved && study.state.finished > 0;
  for (const b of el.studyDownloads) b.disabled = !finished;
  el.studyDiscard.disabled = !saved || study.active;
  const section = cat.result;
  el.studyCatalogue.disabled = !section;
  if (!section) el.studyCatalogue.checked = false;
  el.studyCatalogueNote.textContent = section
    ? `Adds a cross-domain section: model ${section.model}, ${int(section.result.evaluated)} photos of ${section.source.name}, ` +
      `${section.result.preprocess} crop, top-1 ${pct(section.result.accuracy)}.`
    : 'Evaluate a product catalogue below to add a cross-domain section.';
}

function catalogueSection() {
  const r = cat.result;
  if (!r) return null;
  return {
    model: r.model,
    preprocess: String(r.result.preprocess),
    images: r.result.evaluated,
    accuracy: r.result.accuracy,
    report: r.result.report,
  };
}

async function downloadStudyReport(format) {
  if (!study.saved || study.reporting) return;
  study.reporting = true;
  el.study.setAttribute('aria-busy', 'true');
  try {
    const catalogue = el.studyCatalogue.checked ? catalogueSection() : null;
    const { text } = await request('study-report', { study: study.saved.json, format, catalogue });
    const [name, type] = STUDY_FILES[format];
    downloadBlob(new Blob([text], { type: `${type};charset=utf-8` }), name);
    setStatus(`Saved ${name}${study.state?.isFinished ? '' : ' (the study is unfinished: the report lists the missing runs)'}.`);
  } catch (error) {
    setStudyStatus(`Could not make the report: ${error.message}`, 'error');
  } finally {
    study.reporting = false;
    el.study.removeAttribute('aria-busy');
  }
}

for (const b of el.studyDownloads) b.addEventListener('click', () => downloadStudyReport(b.dataset.format));

el.studyDiscard.addEventListener('click', async () => {
  if (!study.saved || study.active) return;
  if (!confirm('Discard the saved study? Its runs stay in the runs table, but its report can no longer be made.')) return;
  study.saved = null;
  study.state = null;
  study.data = null;
  await dbRequest('readwrite', (s) => s.delete('current'), 'studies').catch(() => {});
  setStudyStatus('Study discarded. Choose the settings of a new one and run it.');
  renderStudy();
  render();
  keepFocus(el.studyStart);
});

// The saved study, shown again after a reload; it continues when the user says so.
async function loadStudy() {
  const saved = await dbRequest('readonly', (s) => s.get('current'), 'studies').catch(() => null);
  if (!saved?.json) {
    renderStudy();
    return;
  }
  study.saved = saved;
  if (saved.backend) el.studyBackend.value = saved.backend;
  try {
    applyStudyState(await request('study-open', { study: saved.json }));
    setStudyStatus(study.state.isFinished ? describeStudy() : `This study stopped when the page closed. ${describeStudy()}`);
  } catch (error) {
    study.saved = null;
    setStudyStatus(`The saved study cannot be read (${error.message}); run a new one.`, 'warn');
  }
  renderStudy();
  render();
}

// ---------------------------------------------------------------------------------------------
// Start up

if (LIMIT) {
  el.limitNotice.hidden = false;
  el.limitNotice.textContent = `Quick run: ?limit=${LIMIT} trains and evaluates on at most ${int(LIMIT)} images.`;
}
await loadRuns();
render();
worker = new Worker('./worker.js', { type: 'module' });
worker.addEventListener('message', onWorkerMessage);
worker.addEventListener('error', onWorkerError);
el.photoFiles.disabled = false;
render();
send('init');
loadStudy();
