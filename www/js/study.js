// @ts-check
// "Study": the whole study in the page. The worker holds it and trains its runs one after the
// other (each also a run in the runs table); after every finished run it sends the study, which
// is stored here (IndexedDB), so a reload continues where it stopped. This module keeps the form,
// the buttons, the status and the report downloads; study-view.js draws the queue and charts.

import { $, cell, downloadBlob, int, keepFocus, pct, setStatus, showError } from './dom.js';
import { markFields, numberField } from './fields.js';
import { LIMIT, isBusyRunning, store } from './state.js';
import { deleteStudy, loadStudy, newId, saveStudy } from './storage.js';
import { live, liveRunId, renderCharts, renderProgress, renderQueue, showRunProgress } from './study-view.js';
import { mayTrain, resetProgress } from './training.js';
import { on, request } from './worker-client.js';

/** @typedef {import('./protocol.js').StudyState} StudyState */
/** @typedef {import('./storage.js').StoredStudy} StoredStudy */

const FILES = {
  html: ['fashion-mnist-study-report.html', 'text/html'],
  markdown: ['fashion-mnist-study-report.md', 'text/markdown'],
  csv: ['fashion-mnist-study-results.csv', 'text/csv'],
  json: ['fashion-mnist-study-report.json', 'application/json'],
};

const el = {
  section: $('study', HTMLElement),
  limit: $('study-limit', HTMLElement),
  form: $('study-form', HTMLFormElement),
  fields: $('study-fields', HTMLFieldSetElement),
  variants: $('study-variants', HTMLFieldSetElement),
  variantList: $('study-variant-list', HTMLElement),
  refit: $('study-refit', HTMLSelectElement),
  backend: $('study-backend', HTMLSelectElement),
  error: $('study-error', HTMLElement),
  start: $('study-start', HTMLButtonElement),
  continue: $('study-continue', HTMLButtonElement),
  pause: $('study-pause', HTMLButtonElement),
  resume: $('study-resume', HTMLButtonElement),
  cancel: $('study-cancel', HTMLButtonElement),
  status: $('study-status', HTMLElement),
  catalogue: $('study-catalogue', HTMLInputElement),
  catalogueNote: $('study-catalogue-note', HTMLElement),
  downloads: [...document.querySelectorAll('#study button[data-format]')].map((b) => /** @type {HTMLButtonElement} */ (b)),
  discard: $('study-discard', HTMLButtonElement),
};

/** The stored study and the worker's last word on it. */
const study = { /** @type {StoredStudy | null} */ saved: null, /** @type {StudyState | null} */ shown: null, planning: false, reporting: false };

const chosenBackend = () => /** @type {import('./protocol.js').BackendChoice} */ (el.backend.value);
const checkedVariants = () => [...el.variantList.querySelectorAll('input:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value);

function setStudyStatus(text, kind = 'info') {
  el.status.textContent = text;
  el.status.dataset.kind = kind;
}

/** Where the study stands, in words. */
function describe() {
  const shown = study.shown;
  if (!shown) return '';
  const { finished, total, is_finished: done, next, time } = shown.view;
  if (done) return `Study finished: ${total} runs in ${time}. Download the report below.`;
  const from = shown.resumeFrom ? ` from epoch ${shown.resumeFrom}` : '';
  return `${finished} of ${total} runs finished. Continue study picks up at ${next?.id ?? 'the next run'}${from}.`;
}

/** The form's fields from the core: epochs and seed with their limits, a box per variant. */
export function fillStudyForm(info) {
  if (el.variantList.childElementCount) return; // a retry: keep what was chosen
  for (const [field, label] of [['epochs', 'Epochs per run'], ['seed', 'Seed']]) {
    const limit = info.training_fields.find((f) => f.field === field);
    el.fields.insertBefore(numberField(limit, { id: `study-${field}`, label }), el.variants);
  }
  el.fields.querySelector('.fields-loading')?.remove();
  el.variantList.replaceChildren(
    ...info.presets.map((p) => {
      const label = document.createElement('label');
      const input = Object.assign(document.createElement('input'), { type: 'checkbox', name: 'variants', value: p.name, id: `study-variant-${p.name}` });
      label.append(input, cell('span', p.name, 'variant-name'), cell('span', ` — ${p.description}`, 'muted'));
      return label;
    }),
  );
  el.refit.replaceChildren(
    new Option('the best on validation', 'best'),
    ...info.presets.filter((p) => p.in_study).map((p) => new Option(p.name, p.name)),
  );
  writeSettings(study.shown?.view.config ?? info.study_defaults);
}

function writeSettings(config) {
  $('study-epochs', HTMLInputElement).value = String(config.epochs);
  $('study-seed', HTMLInputElement).value = String(config.seed);
  const chosen = new Set(config.variants);
  for (const input of el.variantList.querySelectorAll('input')) input.checked = chosen.has(input.value);
  syncRefit();
  el.refit.value = config.refit;
}

// A refit variant must be one of the study's: the others are not offered.
function syncRefit() {
  const chosen = new Set(checkedVariants());
  for (const option of el.refit.options) option.disabled = option.value !== 'best' && !chosen.has(option.value);
  if (el.refit.selectedOptions[0]?.disabled) el.refit.value = 'best';
}

el.variantList.addEventListener('change', () => {
  syncRefit();
  showError(el.error, '');
});

/** The saved states of this study's runs cut off, for the worker to resume the next one from. */
function savedRuns() {
  const { runs, studyKey } = store.get();
  // Pages before the worker owned the study stored a run's plan as a JSON string.
  const plan = (spec) => (typeof spec === 'string' ? JSON.parse(spec) : spec);
  return [...runs.values()]
    .filter((r) => r.study?.key === studyKey && r.study.spec && r.resumeWeights && r.history.length)
    .map((r) => ({ history: r.history, best_epoch: r.bestEpoch, latest: r.resumeWeights, best: r.weights ?? undefined, spec: plan(r.study.spec) }));
}

/** Takes the worker's word on the study, shows it and stores it. @param {StudyState} state */
function apply(state) {
  study.shown = state;
  if (study.saved) {
    study.saved.study = state.study;
    saveStudy(study.saved).catch((error) => setStudyStatus(`Could not store the study in this browser: ${error?.message ?? error}`, 'warn'));
  }
  writeSettings(state.view.config);
  store.set({ studyActive: state.active }); // renders the study too
}

el.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (el.start.disabled || study.planning) return;
  store.set({ controls: 'study' });
  const form = {
    epochs: $('study-epochs', HTMLInputElement).value,
    seed: $('study-seed', HTMLInputElement).value,
    variants: checkedVariants(),
    refit: el.refit.value,
    limit: LIMIT || undefined,
  };
  study.planning = true;
  renderStudy();
  try {
    const check = await request('check-study', { form });
    markFields(el.form, check.errors, el.error, true);
    if (!check.config) return;
    if (study.shown?.view.finished > 0) {
      const what = study.shown.view.is_finished ? 'the finished study' : `the study (${study.shown.view.finished} of ${study.shown.view.total} runs finished)`;
      if (!confirm(`Replace ${what} with a new one? Download its report first to keep it; its runs stay in the runs table.`)) return;
    }
    if (!(await mayTrain())) return;
    study.saved = { id: 'current', key: newId(), study: null, backend: chosenBackend(), createdAt: Date.now() };
    store.set({ studyKey: study.saved.key, studyActive: true, run: 'starting' });
    begin(`Starting ${check.config.variants[0]}`);
    apply(await request('study-start', { config: check.config, backend: chosenBackend() }));
  } catch (error) {
    showError(el.error, `These settings cannot make a study: ${error.message}`);
    store.set({ studyActive: false, run: 'idle' });
  } finally {
    study.planning = false;
    renderStudy();
  }
});

// The page's part of a study run starting: the progress waits for the worker's first report.
function begin(what) {
  live.progress = null;
  live.testing = false;
  resetProgress(`${what}…`);
  setStudyStatus(`${what}…`);
  keepFocus(el.cancel);
}

el.continue.addEventListener('click', () => {
  if (!isBusyRunning()) continueStudy();
});

/**
 * Continues the stored study from its next run (resuming it from its last stored epoch), on
 * `backend`; also after a lost GPU, on the CPU.
 * @param {import('./protocol.js').BackendChoice} [backend]
 */
export async function continueStudy(backend = chosenBackend()) {
  if (!study.shown || study.shown.view.is_finished || !(await mayTrain())) return;
  store.set({ controls: 'study', studyActive: true, run: 'starting' });
  el.backend.value = backend;
  study.saved.backend = backend;
  const next = study.shown.view.next;
  const saved = savedRuns().find((p) => p.spec?.id === next.id);
  const from = saved ? saved.history.length + 1 : 1;
  begin(from > 1 ? `Resuming ${next.id} from epoch ${from}` : `Starting ${next.id}`);
  try {
    apply(await request('study-continue', { backend, saved: savedRuns() }));
  } catch (error) {
    store.set({ studyActive: false, run: 'idle' });
    setStudyStatus(`The study could not continue: ${error.message}`, 'error');
  }
}

on('study-state', (state) => {
  apply(state);
  if (!state.active && state.view.is_finished) finish();
});

on('started', (msg) => {
  if (!msg.studyRun) return;
  const { finished, total } = study.shown?.view ?? { finished: 0, total: 0 };
  setStudyStatus(`${msg.resumed ? 'Resuming' : 'Training'} ${msg.studyRun}: run ${finished + 1} of ${total}…`);
  renderStudy();
});

on('progress', (msg) => {
  if (!msg.studyRun || !liveRunId()) return;
  // Past its last epoch a study run is tested, then recorded: the queue says so.
  const testing = msg.progress.phase === 'done';
  if (testing !== live.testing) {
    live.testing = testing;
    renderQueue(study.shown);
  }
  showRunProgress(study.shown, msg);
});

on('epoch', () => renderCharts(study.shown));

on('done', ({ studyRun }) => {
  if (!studyRun) return;
  const q = study.shown?.view.queue.find((r) => r.id === studyRun);
  const val = q?.val_top1 != null ? `validation top-1 ${pct(q.val_top1)}, ` : '';
  const { finished, total } = study.shown.view;
  const text = `Run ${studyRun} finished (${finished} of ${total}): ${val}test top-1 ${pct(q?.test_top1)}.`;
  if (!store.get().studyActive && !study.shown.view.is_finished) {
    setStudyStatus(`${text} Study stopped. ${describe()}`);
    setStatus(`Study stopped after ${studyRun}.`);
    keepFocus(el.start);
  } else if (!study.shown.view.is_finished) {
    setStudyStatus(text);
  } else {
    finish(text);
  }
  renderStudy();
});

// The study stops when its run is cancelled (or fails): say so at once.
let wasActive = false;
store.subscribe((state) => {
  const stopped = wasActive && !state.studyActive;
  wasActive = state.studyActive;
  if (stopped && study.shown && !study.shown.view.is_finished) setStudyStatus(`Study stopped. ${describe()}`);
});

on('error', (msg) => {
  if (!study.shown || !['study-run', 'train', 'study-start', 'study-continue'].includes(msg.where)) return;
  const run = store.get().currentRun ? store.get().runs.get(store.get().currentRun) : null;
  if (msg.where === 'train' && !run?.study) return; // a plain run's failure is not the study's
  setStudyStatus(`The study stopped: ${msg.message} ${describe()}`, 'error');
  renderStudy();
});

function finish(lastRun = '') {
  store.set({ studyActive: false });
  setStudyStatus(`${lastRun} ${describe()}`.trim(), 'ok');
  setStatus(store.get().model
    ? `Study finished. The refitted model ${store.get().model.name} is loaded: evaluate it on the test set, try your photos or a catalogue.`
    : 'Study finished.');
  renderStudy();
  keepFocus(el.downloads[0]);
}

/** The study's whole section. */
export function renderStudy() {
  const state = store.get();
  const shown = study.shown;
  el.section.dataset.state = !shown ? 'none' : state.studyActive ? (state.run === 'paused' ? 'paused' : 'running') : shown.view.is_finished ? 'finished' : 'stopped';
  renderLimit(shown);
  renderQueue(shown);
  renderProgress(shown);
  renderCharts(shown);
  const busy = isBusyRunning(state);
  const unfinished = !!shown && !shown.view.is_finished;
  el.fields.disabled = busy || study.planning;
  el.start.disabled = state.data !== 'ready' || busy || state.busy || study.planning || !state.info || state.elsewhere;
  el.start.textContent = shown ? 'Run a new study' : 'Run the study';
  el.start.classList.toggle('primary', !unfinished);
  el.continue.hidden = !unfinished || state.studyActive;
  el.continue.disabled = state.data !== 'ready' || busy || state.busy || state.elsewhere;
  el.pause.disabled = !(state.studyActive && state.run === 'running' && !live.testing);
  el.resume.disabled = !(state.studyActive && state.run === 'paused') || state.busy;
  el.cancel.disabled = !state.studyActive || state.busy;
  for (const b of el.downloads) b.disabled = !(shown?.view.finished > 0);
  el.discard.disabled = !shown || state.studyActive;
  const section = state.catalogue;
  el.catalogue.disabled = !section;
  if (!section) el.catalogue.checked = false;
  el.catalogueNote.textContent = section
    ? `Adds a cross-domain section: model ${section.model}, ${int(section.images)} photos of ${section.source}, ` +
      `${section.preprocess} crop, top-1 ${pct(section.accuracy)}.`
    : 'Evaluate a product catalogue below to add a cross-domain section.';
}

function renderLimit(shown) {
  const config = shown?.view.config;
  const limit = config ? config.limit_train : LIMIT || null;
  const evalLimit = config ? config.limit_eval : LIMIT || null;
  el.limit.hidden = limit == null && evalLimit == null;
  if (!el.limit.hidden) {
    el.limit.textContent = config
      ? `This study trains on at most ${int(limit ?? NaN)} images and validates and tests on at most ${int(evalLimit ?? NaN)} per run (it was planned with ?limit).`
      : `Quick study: ?limit=${LIMIT} trains each run on at most ${int(LIMIT)} images and validates and tests on at most ${int(LIMIT)}.`;
  }
}

for (const b of el.downloads) {
  b.addEventListener('click', async () => {
    if (!study.shown || study.reporting) return;
    const format = /** @type {import('./protocol.js').ReportFormat} */ (b.dataset.format);
    study.reporting = true;
    el.section.setAttribute('aria-busy', 'true');
    try {
      const { text } = await request('study-report', { format, catalogue: el.catalogue.checked });
      const [name, type] = FILES[format];
      downloadBlob(new Blob([text], { type: `${type};charset=utf-8` }), name);
      setStatus(`Saved ${name}${study.shown.view.is_finished ? '' : ' (the study is unfinished: the report lists the missing runs)'}.`);
    } catch (error) {
      setStudyStatus(`Could not make the report: ${error.message}`, 'error');
    } finally {
      study.reporting = false;
      el.section.removeAttribute('aria-busy');
    }
  });
}

el.discard.addEventListener('click', async () => {
  if (!study.shown || store.get().studyActive) return;
  if (!confirm('Discard the saved study? Its runs stay in the runs table, but its report can no longer be made.')) return;
  try {
    await request('study-discard', {});
  } catch (error) {
    setStudyStatus(`Could not discard the study: ${error.message}`, 'error');
    return;
  }
  study.saved = null;
  study.shown = null;
  store.set({ studyKey: null });
  await deleteStudy();
  setStudyStatus('Study discarded. Choose the settings of a new one and run it.');
  renderStudy();
  keepFocus(el.start);
});

/**
 * The saved study, shown again after a reload (or in a fresh worker after a crash: `stopped`
 * says why it stopped); it continues when the user says so.
 */
export async function openSavedStudy(stopped = 'This study stopped when the page closed.') {
  const saved = await loadStudy();
  if (!saved) {
    renderStudy();
    return;
  }
  study.saved = saved;
  store.set({ studyKey: saved.key });
  if (saved.backend) el.backend.value = saved.backend;
  try {
    // Studies stored before the worker owned them kept the study as a JSON string.
    const legacy = /** @type {any} */ (saved);
    if (!saved.study && typeof legacy.json === 'string') saved.study = JSON.parse(legacy.json);
    const state = await request('study-open', { study: saved.study, saved: savedRuns() });
    apply(state);
    const where = store.get().elsewhere ? 'This study may be running in another tab of this page.' : stopped;
    setStudyStatus(study.shown.view.is_finished ? describe() : `${where} ${describe()}`);
  } catch (error) {
    study.saved = null;
    study.shown = null;
    setStudyStatus(`The saved study cannot be read (${error.message}); run a new one.`, 'warn');
  }
  renderStudy();
}

