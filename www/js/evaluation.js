// @ts-check
// The model the page holds, evaluated: the test report, the confusion matrix with each cell's
// images and their probabilities; and the weights saved, loaded from a file or from a stored run.

import { confusionGrid, renderConfusion } from './confusion.js';
import { $, button, cell, classNames, drawImage, int, num, pct, probabilityItems, setStatus, showError } from './dom.js';
import { chosenBackend } from './setup.js';
import { LIMIT, isBusyRunning, store } from './state.js';
import { saveRun } from './storage.js';
import { resetProgress, setBackendNotice } from './training.js';
import { downloadWeights } from './runs.js';
import { lookInside } from './inside.js';
import { request } from './worker-client.js';

/** @typedef {import('./state.js').RunRecord} RunRecord */

const el = {
  evaluate: $('evaluate', HTMLButtonElement),
  saveWeights: $('save-weights', HTMLButtonElement),
  exportFormat: $('export-format', HTMLSelectElement),
  exportSnippets: $('export-snippets', HTMLElement),
  loadWeights: $('load-weights', HTMLInputElement),
  weightsMessage: $('weights-message', HTMLElement),
  report: $('report', HTMLElement),
  confusion: $('confusion', HTMLTableElement),
  gallery: $('gallery', HTMLElement),
  galleryHeading: $('gallery-heading', HTMLElement),
  galleryNote: $('gallery-note', HTMLElement),
  galleryImages: $('gallery-images', HTMLElement),
  predictionBox: $('prediction-box', HTMLElement),
  prediction: $('prediction', HTMLElement),
};

/** Runs `fn` with the page marked busy (buttons that need the worker wait). */
export async function withBusy(message, fn) {
  store.set({ busy: true });
  setStatus(message);
  try {
    return await fn();
  } finally {
    store.set({ busy: false });
  }
}

/** The model whose evaluation is shown, if any. */
let evaluated = /** @type {string | null} */ (null);

/** Forgets the last evaluation (a new model is coming). */
export function clearEvaluation() {
  evaluated = null;
  el.report.textContent = 'Train or load a model, then evaluate it.';
  el.confusion.replaceChildren();
  el.gallery.hidden = true;
}

// An evaluation belongs to its model: another model (a new run's, loaded weights) clears it.
store.subscribe((state) => {
  if (evaluated !== null && state.model?.name !== evaluated) clearEvaluation();
});

/** Enables the buttons for what the page can do now. */
export function renderEvaluation() {
  const state = store.get();
  const hasEpoch = (state.currentRun && state.runs.get(state.currentRun)?.history.length) > 0;
  const idle = state.run === 'done' || (state.run === 'paused' && hasEpoch);
  el.evaluate.disabled = !state.model || state.run !== 'done' || state.busy || state.studyActive;
  el.saveWeights.disabled = !state.model || state.busy || !idle;
  renderExportHelp(state.model);
  el.loadWeights.disabled = state.data !== 'ready' || isBusyRunning(state) || state.busy;
}

el.evaluate.addEventListener('click', () =>
  withBusy('Evaluating on the test set…', async () => {
    try {
      const model = store.get().model;
      // A stored run is tested on the images it was trained with (its ?limit), others on the page's.
      const run = model?.runId ? store.get().runs.get(model.runId) : null;
      const result = await request('evaluate', { limit: (run ? run.limit : LIMIT) || null });
      evaluated = model?.name ?? null;
      el.report.textContent = `${model?.name ?? 'model'}: test top-1 ${pct(result.accuracy)}, loss ${num(result.loss)}\n\n${result.text}`;
      renderConfusion(el.confusion, result.report.confusion.counts, {
        noun: 'test images',
        caption: 'Confusion matrix of the test set: rows true class, columns predicted class',
      });
      el.gallery.hidden = true;
      if (run) await saveRun({ ...run, testAccuracy: result.accuracy });
      setStatus(`Test top-1 of ${model?.name ?? 'the model'}: ${pct(result.accuracy)}.`);
    } catch (error) {
      setStatus(`Evaluation failed: ${error.message}`, 'error');
    }
  }),
);

confusionGrid(el.confusion, (t, p) => showCellImages(t, p));

async function showCellImages(t, p) {
  const names = classNames();
  el.gallery.hidden = false;
  el.predictionBox.hidden = true;
  el.galleryHeading.textContent = `True ${names[t]}, predicted ${names[p]}`;
  el.galleryNote.textContent = 'Loading images…';
  el.galleryImages.replaceChildren();
  try {
    const { indices, pixels, total } = await request('test-images', { label: t, predicted: p });
    el.galleryNote.textContent = total
      ? `Showing ${indices.length} of ${int(total)} test images. Choose one to see the model's probabilities.`
      : 'No test images fall in this cell.';
    el.galleryImages.replaceChildren(
      ...indices.map((index, i) => {
        const image = pixels.slice(i * 784, (i + 1) * 784);
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'thumb';
        b.setAttribute('aria-label', `Test image ${index}: show predicted probabilities`);
        const canvas = document.createElement('canvas');
        canvas.setAttribute('aria-hidden', 'true');
        drawImage(canvas, image);
        b.append(canvas);
        b.addEventListener('click', () => showPrediction(image, index, t));
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
    el.prediction.setAttribute('aria-label', `Probabilities for test image ${index} (true class ${classNames()[trueClass]})`);
    el.prediction.replaceChildren(...probabilityItems(probs, { trueClass }));
    const look = button('look-inside', 'Look inside', `Look inside the network for test image ${index}`,
      () => lookInside(pixels, `Test image ${index} (${classNames()[trueClass]})`));
    el.prediction.append(Object.assign(document.createElement('li'), { className: 'look-inside' }));
    el.prediction.lastElementChild?.append(look);
  } catch (error) {
    el.prediction.replaceChildren(cell('li', `Prediction failed: ${error.message}`, 'error'));
  }
}

function showWeightsMessage(text, kind) {
  showError(el.weightsMessage, text);
  el.weightsMessage.dataset.kind = kind;
}

/** The model whose export snippets are shown. */
let snippetsOf = /** @type {import('./protocol.js').ModelInfo | null | undefined} */ (undefined);

/** Code that loads each export format, for the model's kernel counts. */
function renderExportHelp(model) {
  if (model === snippetsOf) return;
  snippetsOf = model;
  if (!model) return;
  el.exportSnippets.replaceChildren(
    ...model.exports.flatMap((f) => {
      const heading = cell('h3', `${f.extension}: ${f.title}`);
      const pre = document.createElement('pre');
      pre.className = 'snippet';
      pre.tabIndex = 0;
      pre.setAttribute('aria-label', `Code that loads a ${f.extension} file`);
      pre.append(cell('code', f.snippet));
      return [heading, pre];
    }),
  );
}

el.saveWeights.addEventListener('click', () => {
  const format = /** @type {import('./protocol.js').ExportFormat} */ (el.exportFormat.value);
  withBusy('Exporting the best weights…', async () => {
    try {
      const { bytes, extension } = await request('export', { format });
      const model = store.get().model;
      const run = model?.runId ? store.get().runs.get(model.runId) : store.get().runs.get(store.get().currentRun ?? '');
      downloadWeights(bytes, run?.label ?? model?.name ?? 'model', run?.bestEpoch, extension);
      setStatus(`Weights saved as ${extension}.`);
    } catch (error) {
      setStatus(`Could not export the weights: ${error.message}`, 'error');
    }
  });
});

/**
 * Makes `bytes` the model (a file's weights, or a stored run's with `runId`).
 * @returns {Promise<import('./protocol.js').ModelInfo>}
 */
async function useWeights(bytes, runId, bestEpoch = null, fileName = undefined) {
  const model = await request('load-weights', { bytes, backend: chosenBackend(), runId, bestEpoch, fileName }, [bytes.buffer]);
  store.set({ model, run: 'done', currentRun: null });
  clearEvaluation();
  setBackendNotice(model.backend, model.backendReason);
  return model;
}

el.loadWeights.addEventListener('change', () => {
  const file = el.loadWeights.files?.[0];
  if (!file) return;
  showWeightsMessage('', 'info');
  withBusy(`Loading weights from ${file.name}…`, async () => {
    try {
      const model = await useWeights(new Uint8Array(await file.arrayBuffer()), null, null, file.name);
      resetProgress(`Loaded weights from ${file.name}.`);
      const text = `Loaded ${model.name} (${model.description}) from ${file.name}. Evaluate them on the test set or save them again.`;
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

/** A stored run's best weights become the model again, e.g. after a reload. @param {RunRecord} run */
export function useRunWeights(run) {
  if (!run.weights) return;
  withBusy(`Loading the weights of ${run.label}…`, async () => {
    try {
      await useWeights(new Uint8Array(run.weights), run.id, run.bestEpoch || null); // a copy: the run keeps its own
      resetProgress(`Using the weights of ${run.label}.`);
      setStatus(`Using ${run.label} (best epoch ${run.bestEpoch || '—'}): evaluate it on the test set, or try your photos.`);
    } catch (error) {
      setStatus(`Could not use the weights of ${run.label}: ${error.message}`, 'error');
    }
  });
}
