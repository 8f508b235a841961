// @ts-check
// "Your photos": photos by file input, drag and drop or paste. The worker reads, decodes and
// preprocesses each one in the core; every card shows each step and the top three classes of the
// current model, and follows the model as it changes.

import { $, button, cell, classNames, drawImage, probabilityItems } from './dom.js';
import { lookInside } from './inside.js';
import { store } from './state.js';
import { on, request } from './worker-client.js';

/**
 * @typedef {object} Photo
 * @property {number} key
 * @property {string} name
 * @property {File} file
 * @property {string} url
 * @property {number} run Bumped by every new preprocessing; a stale answer is dropped.
 * @property {boolean} pending
 * @property {import('./protocol.js').PhotoReply | null} result
 * @property {string} mode
 * @property {Float32Array | null} probs
 * @property {import('./protocol.js').NoPrediction} noPrediction
 * @property {string} model
 * @property {string | null} error
 * @property {boolean} removed
 * @property {HTMLLIElement} card
 */

const el = {
  photos: $('photos', HTMLElement),
  drop: $('photo-drop', HTMLElement),
  files: $('photo-files', HTMLInputElement),
  mode: $('photo-mode', HTMLSelectElement),
  clear: $('photo-clear', HTMLButtonElement),
  status: $('photo-status', HTMLElement),
  cards: $('photo-cards', HTMLElement),
};

const photoState = { /** @type {Photo[]} */ list: [], seq: 0, pasted: 0 };
const NO_PREDICTION = {
  none: 'Train a model or load weights to see a prediction.',
  training: 'The run has no finished epoch yet: the prediction appears when the first epoch ends.',
};
/**
 * Why a photo (or a camera frame) has no prediction: the core's reason for a blank one, or the
 * model's state.
 * @param {string | null | undefined} unclassifiable
 * @param {import('./protocol.js').NoPrediction} noPrediction
 */
export function noPredictionReason(unclassifiable, noPrediction) {
  if (unclassifiable) return `${unclassifiable[0].toUpperCase()}${unclassifiable.slice(1)}.`;
  return NO_PREDICTION[noPrediction ?? 'none'] ?? NO_PREDICTION.none;
}
const noPredictionText = (/** @type {Photo} */ p) => noPredictionReason(p.result?.unclassifiable, p.noPrediction);
const modelName = () => store.get().model?.name ?? '';
const chosenMode = () => /** @type {import('./protocol.js').Preprocess} */ (el.mode.value);

/** Adds photos as cards and preprocesses them. @param {File[]} files */
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
    el.cards.append(photo.card);
    renderPhotoCard(photo);
    return photo;
  });
  el.status.textContent = `Processing ${added.length === 1 ? added[0].name : `${added.length} photos`}…`;
  el.clear.disabled = false;
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
    const mode = chosenMode();
    const msg = await request('photo', { file: photo.file, mode });
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
    el.status.textContent = `${list.length} photos processed${failed ? `, ${failed} could not be used` : ''}.`;
    return;
  }
  const parts = list.map((p) => {
    if (p.error) return `${p.name}: ${p.error}`;
    if (!p.probs) return `${p.name}: ready. ${noPredictionText(p)}`;
    const best = [...p.probs.keys()].reduce((a, b) => (p.probs[b] > p.probs[a] ? b : a), 0);
    return `${p.name}: ${classNames()[best]} (${(p.probs[best] * 100).toFixed(1)} %)`;
  });
  if (parts.length) el.status.textContent = parts.join('; ').replace(/\.?$/, '.');
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
      : r.object_found ? 'the object found is outlined' : 'no object stood out: the whole photo is used';
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
    const input = r.input;
    prediction.append(button('look-inside', 'Look inside', `Look inside the network for ${photo.name}`,
      () => lookInside(input, photo.name)));
  } else {
    prediction.append(cell('p', noPredictionText(photo), 'no-prediction'));
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
  el.status.textContent = `Removed ${photo.name}.`;
  el.clear.disabled = photoState.list.length === 0;
  // Keep keyboard users in the list: the next card's Remove button, else the file input.
  const next = photoState.list[Math.min(index, photoState.list.length - 1)];
  (next?.card.querySelector('button[data-action="remove-photo"]') ?? el.files).focus();
}

el.clear.addEventListener('click', () => {
  for (const photo of photoState.list) {
    photo.removed = true;
    URL.revokeObjectURL(photo.url);
  }
  photoState.list = [];
  el.cards.replaceChildren();
  el.clear.disabled = true;
  el.status.textContent = 'Removed every photo.';
  el.files.focus();
});

el.files.addEventListener('change', () => {
  addPhotos([...(el.files.files ?? [])]);
  el.files.value = ''; // choosing the same file again fires change again
});

el.mode.addEventListener('change', () => {
  const list = photoState.list.filter((p) => !p.removed);
  if (!list.length) return;
  el.status.textContent = `Running ${list.length === 1 ? list[0].name : `${list.length} photos`} again with the ${el.mode.value} crop…`;
  Promise.all(list.map(runPhoto)).then(() => announcePhotos(list));
});

// Drag and drop onto the zone; a file dropped elsewhere must not navigate away from a run.
const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
for (const type of /** @type {const} */ (['dragenter', 'dragover'])) {
  el.drop.addEventListener(type, (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    el.drop.classList.add('dragging');
  });
}
el.drop.addEventListener('dragleave', (event) => {
  if (!el.drop.contains(/** @type {Node | null} */ (event.relatedTarget))) el.drop.classList.remove('dragging');
});
el.drop.addEventListener('drop', (event) => {
  event.preventDefault();
  el.drop.classList.remove('dragging');
  if (!el.files.disabled) addPhotos([...(event.dataTransfer?.files ?? [])]);
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
  if (!files.length || el.files.disabled) return;
  event.preventDefault();
  addPhotos(files, { pasted: true });
  el.photos?.scrollIntoView?.({ behavior: 'smooth', block: 'start' });
});


// The model changed (a run's new best epoch, a finished run, loaded weights, a cancel): every
// card gets the new prediction. Preprocessed inputs are kept, so only the model runs again.
let refreshSeq = 0;
async function refreshPredictions() {
  const list = photoState.list.filter((p) => p.result && !p.result.unclassifiable && !p.pending && !p.removed);
  if (!list.length) return;
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
    el.status.textContent = probs
      ? `Predictions of ${list.length === 1 ? list[0].name : `${list.length} photos`} updated: model ${model}.`
      : NO_PREDICTION[noPrediction] ?? NO_PREDICTION.none;
  } catch (error) {
    if (seq === refreshSeq) el.status.textContent = `Could not update the predictions: ${error.message}`;
  }
}

/** Lets photos in once the worker runs, and follows the model. */
export function initPhotos() {
  el.files.disabled = false;
  // A run that starts or stops changes what the photos can be told, even without a new model.
  on('started', refreshPredictions);
  on('cancelled', refreshPredictions);
  let model = store.get().model;
  store.subscribe((state) => {
    if (state.model === model) return;
    model = state.model;
    refreshPredictions();
  });
}
