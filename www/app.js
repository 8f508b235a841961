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

const isTraining = () => ['starting', 'running', 'pausing'].includes(ui.run);

function render() {
  const training = isTraining();
  const paused = ui.run === 'paused';
  el.start.disabled = ui.data !== 'ready' || training || paused || ui.busy;
  el.pause.disabled = ui.run !== 'running';
  el.resume.disabled = !paused || ui.busy;
  el.cancel.disabled = !(training || paused) || ui.busy;
  el.fields.disabled = training || paused;
  el.evaluate.disabled = !ui.model || ui.run !== 'done' || ui.busy;
  const hasEpoch = (currentRun?.history.length ?? 0) > 0;
  el.saveWeights.disabled = !ui.model || ui.busy || !(ui.run === 'done' || (paused && hasEpoch));
  el.loadWeights.disabled = ui.data !== 'ready' || training || paused || ui.busy;
  el.form.setAttribute('aria-busy', String(ui.run === 'starting'));
  renderRuns();
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
  const plot = new uPlot(opts, [[], [], []], box);
  new ResizeObserver(() => {
    const width = Math.max(240, box.clientWidth);
    if (width !== plot.width) plot.setSize({ width, height: 260 });
  }).observe(box);
  return plot;
}

if (uPlot) {
  lossPlot = makeChart(el.lossChart, 'loss', (v) => v.toFixed(2));
  accPlot = makeChart(el.accChart, 'top-1 %', (v) => `${v.toFixed(1)}`);
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
    const open = indexedDB.open('fashion-trainer', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('runs', { keyPath: 'id' });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => resolve(null);
    open.onblocked = () => resolve(null);
  } catch {
    resolve(null);
  }
});

function dbRequest(mode, fn) {
  if (!db) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const tx = db.transaction('runs', mode);
    const req = fn(tx.objectStore('runs'));
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
      const status = live && ui.run === 'paused' ? 'paused' : run.status;

      const actions = cell('td', '', 'actions');
      actions.append(
        button('curves', 'Curves', `Show the learning curves of ${run.label}`, () => showRunCurves(run),
          !run.history.length || isTraining() || ui.run === 'paused'),
        button('weights', 'Weights', `Download the weights of ${run.label}`, () => downloadWeights(run.weights, run), !run.weights),
        button('delete', 'Delete', `Delete the run ${run.label}`, () => confirmDelete(run), live),
      );
      if (run.status === 'interrupted' && run.resumeWeights && run.history.length < run.config.epochs) {
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

el.pause.addEventListener('click', () => {
  ui.run = 'pausing';
  setStatus('Pausing after the current chunk…');
  render(); // focus moves to Resume once the worker confirms the pause
  send('pause');
});

el.resume.addEventListener('click', () => {
  ui.run = 'running';
  setStatus(`Training ${currentRun?.label ?? ''}…`);
  render();
  keepFocus(el.pause);
  send('resume');
});

el.cancel.addEventListener('click', () => {
  send('cancel');
  if (currentRun) {
    currentRun.status = 'cancelled';
    saveRun(currentRun);
  }
  ui.run = 'idle';
  ui.model = null;
  setStatus('Run cancelled.');
  render();
  keepFocus(el.start);
});

// ---------------------------------------------------------------------------------------------
// Worker events

const on = {
  'wasm-ready'(msg) {
    classNames = msg.classNames;
    if (presets.length) return; // a retry: keep what the user has typed
    fillPresets(msg.presets);
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
    keepFocus(el.pause);
  },

  progress(msg) {
    if (!currentRun || ui.run === 'idle') return;
    showProgress(msg);
    addChunkPoint(msg);
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
    const val = record.val_accuracy != null ? `, validation top-1 ${pct(record.val_accuracy)}` : '';
    setStatus(
      `Epoch ${record.epoch}/${currentRun.config.epochs} of ${currentRun.label} done: ` +
      `train top-1 ${pct(record.train_accuracy)}${val} (${record.seconds.toFixed(1)} s).`,
    );
  },

  async done({ history, bestEpoch }) {
    if (!currentRun) return;
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
    keepFocus(el.resume);
  },

  resumed() {},
  cancelled() {},

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
    if (msg.where === 'start' || msg.where === 'train') {
      if (currentRun) {
        currentRun.status = 'error';
        currentRun.error = text;
        saveRun(currentRun);
      }
      ui.run = 'idle';
      ui.model = null;
      resetProgress('The run stopped.');
      render();
      keepFocus(el.start);
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
  renderConfusion(result.report.confusion.counts);
  el.gallery.hidden = true;
}

function renderConfusion(counts) {
  const names = classNames.length ? classNames : counts.map((_, i) => `class ${i}`);
  const table = el.confusion;
  const caption = cell('caption', 'Confusion matrix of the test set: rows true class, columns predicted class', 'visually-hidden');
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
      b.setAttribute('aria-label', `${count} test images of ${names[t]} predicted as ${names[p]} (${(share * 100).toFixed(1)} % of the row)`);
      b.className = t === p ? 'hit' : 'miss';
      b.style.setProperty('--share', share.toFixed(3));
      if (share > 0.45) b.classList.add('strong');
      td.append(b);
      tr.append(td);
    });
    body.append(tr);
  });
  table.replaceChildren(caption, head, body);
}

el.confusion.addEventListener('click', (event) => {
  const b = event.target.closest('button');
  if (b) showCellImages(Number(b.dataset.t), Number(b.dataset.p));
});

el.confusion.addEventListener('keydown', (event) => {
  const b = event.target.closest('button');
  if (!b) return;
  const size = el.confusion.tBodies[0].rows.length;
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
  const next = el.confusion.querySelector(`button[data-t="${t}"][data-p="${p}"]`);
  b.tabIndex = -1;
  next.tabIndex = 0;
  next.focus();
});

function drawImage(canvas, pixels) {
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
    const order = [...probs.keys()].sort((a, b) => probs[b] - probs[a]);
    el.prediction.setAttribute('aria-label', `Probabilities for test image ${index} (true class ${classNames[trueClass]})`);
    el.prediction.replaceChildren(
      ...order.map((k) => {
        const li = document.createElement('li');
        li.style.setProperty('--p', probs[k].toFixed(4));
        if (k === trueClass) li.classList.add('true-class');
        li.append(
          cell('span', classNames[k] + (k === trueClass ? ' (true)' : ''), 'name'),
          cell('span', `${(probs[k] * 100).toFixed(1)} %`, 'value'),
        );
        return li;
      }),
    );
  } catch (error) {
    el.prediction.replaceChildren(cell('li', `Prediction failed: ${error.message}`, 'error'));
  }
}

// ---------------------------------------------------------------------------------------------
// Weights: save (download) and load

function downloadWeights(bytes, run) {
  if (!bytes) return;
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `${fileSafe(run?.label ?? 'model')}${run?.bestEpoch ? `-epoch${run.bestEpoch}` : ''}.ftw`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
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
    } catch (error) {
      const text = `Could not load ${file.name}: ${error.message}`;
      showWeightsMessage(text, 'error');
      setStatus(text, 'error');
    } finally {
      el.loadWeights.value = ''; // choosing the same file again fires change again
    }
  });
});

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
send('init');
