// @ts-check
// "Product catalogue": a folder or a .zip chosen here and handed to the worker as File objects;
// the worker finds styles.csv and the photos, reads and preprocesses them and evaluates the
// model. This module keeps the controls, the label map and the progress.

import { renderCatalogueResult } from './catalogue-results.js';
import { $, int, keepFocus, pct, setStatus, showError } from './dom.js';
import { isTraining, store } from './state.js';
import { on, request } from './worker-client.js';

const el = {
  folder: $('catalogue-folder', HTMLInputElement),
  zip: $('catalogue-zip', HTMLInputElement),
  source: $('catalogue-source', HTMLElement),
  mode: $('catalogue-mode', HTMLSelectElement),
  plan: $('catalogue-plan', HTMLElement),
  labelMap: $('label-map', HTMLTextAreaElement),
  labelMapError: $('label-map-error', HTMLElement),
  labelMapReset: $('label-map-reset', HTMLButtonElement),
  error: $('catalogue-error', HTMLElement),
  evaluate: $('catalogue-evaluate', HTMLButtonElement),
  cancel: $('catalogue-cancel', HTMLButtonElement),
  why: $('catalogue-why', HTMLElement),
  progressBlock: $('catalogue-progress-block', HTMLElement),
  progress: $('catalogue-progress', HTMLProgressElement),
  progressText: $('catalogue-progress-text', HTMLElement),
  live: $('catalogue-live', HTMLElement),
};

const cat = {
  chosen: false, // the worker holds a catalogue
  running: false,
  token: 0, // bumped by every evaluation and cancel; a stale reply is ignored
  mapError: '',
  stylesError: '',
  planSeq: 0,
  defaultMap: '',
  lastAnnouncement: 0,
};

const chosenMode = () => /** @type {import('./protocol.js').Preprocess} */ (el.mode.value);

/** The model can be evaluated: a finished run or loaded weights, or a paused run with an epoch. */
function hasModelWeights() {
  const state = store.get();
  if (!state.model) return false;
  const run = state.currentRun ? state.runs.get(state.currentRun) : null;
  return state.run === 'done' || (state.run === 'paused' && (run?.history.length ?? 0) > 0);
}

/** Enables what can be done now, and says why Evaluate waits. */
export function renderCatalogueControls() {
  const state = store.get();
  const ready = !!state.info;
  el.folder.disabled = !ready || cat.running;
  el.zip.disabled = !ready || cat.running;
  el.labelMap.disabled = !ready || cat.running;
  el.labelMapReset.disabled = !ready || cat.running || !cat.defaultMap;
  el.mode.disabled = cat.running;
  el.cancel.disabled = !cat.running;
  let why = '';
  if (cat.running) why = '';
  else if (!cat.chosen) why = 'Choose a catalogue folder or .zip file first.';
  else if (cat.mapError) why = 'Fix the label map first.';
  else if (cat.stylesError) why = 'This styles.csv cannot be read: choose another catalogue.';
  else if (isTraining(state)) why = 'Pause the run or let it finish first.';
  else if (!hasModelWeights()) why = 'Train a model or load weights first.';
  else if (state.busy) why = 'Wait for the current task to finish.';
  el.evaluate.disabled = cat.running || !!why;
  el.why.textContent = why;
}

/** The built-in label map, for editing, once the core has said it. */
export function fillLabelMap(defaultMap) {
  if (cat.defaultMap) return;
  cat.defaultMap = defaultMap;
  if (!el.labelMap.value) el.labelMap.value = defaultMap;
  refreshPlan();
}

/** Hands a folder's files or a zip to the worker. */
async function choose(what, label) {
  el.source.textContent = `Reading ${label}…`;
  delete el.source.dataset.kind;
  try {
    const kind = 'zip' in what ? '.zip' : 'folder';
    const info = await request('catalogue-source', what);
    cat.chosen = true;
    el.progressBlock.hidden = true;
    el.source.textContent =
      `${info.name} (${kind}): ${info.stylesPath} and ${int(info.imageCount)} photo${info.imageCount === 1 ? '' : 's'} in images/.`;
    el.source.dataset.kind = 'ok';
    await refreshPlan();
  } catch (error) {
    cat.chosen = false;
    showError(el.error, '');
    el.source.textContent = `Could not use ${label}: ${error.message}`;
    el.source.dataset.kind = 'error';
    el.plan.textContent = '';
  }
  renderCatalogueControls();
}

el.folder.addEventListener('change', () => {
  const files = [...(el.folder.files ?? [])];
  el.folder.value = '';
  if (!files.length) return;
  const name = (files[0].webkitRelativePath || files[0].name).split('/')[0] || 'the folder';
  // The worker gets the files with their paths: a File sent to a worker loses its folder path.
  choose({ name, files: files.map((file) => ({ path: file.webkitRelativePath || file.name, file })) }, `the folder ${name}`);
});

el.zip.addEventListener('change', () => {
  const file = el.zip.files?.[0];
  el.zip.value = '';
  if (file) choose({ name: file.name, zip: file }, file.name);
});

// Checks the label map (and counts the rows of styles.csv it maps) while it is edited.
let planTimer = 0;
async function refreshPlan() {
  const seq = ++cat.planSeq;
  try {
    // The core says which file is at fault, the label map or styles.csv.
    const check = await request('catalogue-plan', { labelMap: el.labelMap.value });
    if (seq !== cat.planSeq) return;
    setMapError(check.label_map_error ?? '');
    cat.stylesError = check.styles_error ?? '';
    showError(el.error, cat.stylesError);
    el.plan.textContent = cat.chosen && check.plan ? check.plan.description : '';
  } catch (error) {
    if (seq === cat.planSeq) showError(el.error, error.message);
  }
  renderCatalogueControls();
}

function setMapError(text) {
  cat.mapError = text;
  showError(el.labelMapError, text);
  if (text) el.labelMap.setAttribute('aria-invalid', 'true');
  else el.labelMap.removeAttribute('aria-invalid');
}

el.labelMap.addEventListener('input', () => {
  clearTimeout(planTimer);
  planTimer = window.setTimeout(refreshPlan, 300);
});
el.labelMapReset.addEventListener('click', () => {
  el.labelMap.value = cat.defaultMap;
  refreshPlan();
  el.labelMap.focus();
  el.labelMap.setSelectionRange(0, 0);
  el.labelMap.scrollTop = 0;
});

on('catalogue-progress', ({ progress }) => {
  if (!cat.running) return;
  el.progress.max = Math.max(1, progress.total);
  el.progress.value = progress.done;
  el.progressText.textContent = progress.line;
  el.progress.setAttribute('aria-valuetext', progress.line);
  // Screen readers hear a short summary every 15 s rather than every batch.
  const now = performance.now();
  if (now - cat.lastAnnouncement > 15000) {
    cat.lastAnnouncement = now;
    el.live.textContent = `${int(progress.done)} of ${int(progress.total)} catalogue photos read.`;
  }
});

el.evaluate.addEventListener('click', async () => {
  if (!cat.chosen || cat.running) return;
  const token = ++cat.token;
  cat.running = true;
  store.set({ busy: true });
  showError(el.error, '');
  el.progressBlock.hidden = false;
  el.progress.value = 0;
  el.progressText.textContent = 'Reading styles.csv…';
  cat.lastAnnouncement = performance.now();
  renderCatalogueControls();
  keepFocus(el.cancel);
  try {
    const reply = await request('catalogue-evaluate', { labelMap: el.labelMap.value, mode: chosenMode() });
    if (token !== cat.token) return;
    renderCatalogueResult(reply);
    const { result } = reply;
    store.set({ catalogue: { model: reply.model, source: reply.source, images: result.evaluated, preprocess: String(result.preprocess), accuracy: result.accuracy } });
    el.progress.value = el.progress.max;
    el.progressText.textContent = `Done: ${int(result.evaluated)} photos evaluated, ${int(result.skipped.length)} skipped.`;
    el.live.textContent = `Catalogue evaluated: top-1 accuracy ${pct(result.accuracy)} on ${int(result.evaluated)} photos.`;
    setStatus(`Catalogue ${reply.source}: top-1 ${pct(result.accuracy)} on ${int(result.evaluated)} photos.`);
  } catch (error) {
    if (token !== cat.token) return;
    showError(el.error, `The catalogue evaluation stopped: ${error.message}`);
    el.progressText.textContent = 'Stopped.';
  } finally {
    if (token === cat.token) {
      cat.running = false;
      store.set({ busy: false });
      keepFocus(el.evaluate);
    }
  }
});

el.cancel.addEventListener('click', () => {
  if (!cat.running) return;
  cat.token++;
  cat.running = false;
  request('catalogue-cancel', {}).catch(() => {});
  el.progressText.textContent = 'Cancelled.';
  setStatus('Catalogue evaluation cancelled.');
  store.set({ busy: false });
  keepFocus(el.evaluate);
});

/** The worker that held the chosen catalogue is gone (it crashed): the catalogue must be chosen again. */
export function forgetCatalogue() {
  if (!cat.chosen && !cat.running) return;
  cat.token++;
  cat.chosen = false;
  cat.running = false;
  el.source.textContent = 'The trainer restarted: choose the catalogue again.';
  el.source.dataset.kind = 'warn';
  el.plan.textContent = '';
  renderCatalogueControls();
}
