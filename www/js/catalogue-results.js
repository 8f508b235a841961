// @ts-check
// A catalogue evaluation shown: accuracy, the classification report, the confusion matrix, the
// unmapped article types, the skipped photos, and the mistakes with their photos and inputs.

import { confusionGrid, renderConfusion, renderReportTable } from './confusion.js';
import { $, cell, classNames, drawImage, int, pct } from './dom.js';
import { request } from './worker-client.js';

/** @typedef {import('./protocol.js').CatalogueReply} CatalogueReply */

const MAX_LISTED = 100;
const SLICE = 24;

const el = {
  results: $('catalogue-results', HTMLElement),
  summary: $('catalogue-summary', HTMLElement),
  report: $('catalogue-report', HTMLTableElement),
  text: $('catalogue-text', HTMLElement),
  confusion: $('catalogue-confusion', HTMLTableElement),
  unmapped: $('catalogue-unmapped', HTMLElement),
  skipped: $('catalogue-skipped', HTMLElement),
  mistakesNote: $('mistakes-note', HTMLElement),
  mistakesAll: $('mistakes-all', HTMLButtonElement),
  mistakes: $('mistakes', HTMLElement),
};

/** The result shown, the cell whose mistakes are listed, and the object URLs to release. */
const shown = { /** @type {CatalogueReply | null} */ reply: null, /** @type {[number, number] | null} */ filter: null, /** @type {string[]} */ urls: [], seq: 0 };

function renderCountList(list, lines, empty) {
  if (!lines.length) {
    list.replaceChildren(cell('li', empty, 'muted'));
    return;
  }
  const items = lines.slice(0, MAX_LISTED).map((line) => cell('li', line));
  if (lines.length > MAX_LISTED) items.push(cell('li', `… and ${int(lines.length - MAX_LISTED)} more (see the plain-text report).`, 'muted'));
  list.replaceChildren(...items);
}

/** Shows a catalogue evaluation. @param {CatalogueReply} reply */
export function renderCatalogueResult(reply) {
  for (const url of shown.urls) URL.revokeObjectURL(url);
  Object.assign(shown, { reply, filter: null, urls: [] });
  const { result } = reply;
  el.results.hidden = false;
  const left = result.unmapped.reduce((a, [, n]) => a + n, 0);
  el.summary.replaceChildren(
    cell('strong', `Top-1 accuracy ${pct(result.accuracy)}`),
    document.createTextNode(
      ` on ${int(result.evaluated)} photos of ${reply.source} (${result.preprocess} crop, model ${reply.modelName}). ` +
        `${int(result.rows)} rows in styles.csv; ${int(left)} left out by the label map; ` +
        `${int(result.skipped.length)} photo${result.skipped.length === 1 ? '' : 's'} skipped.`,
    ),
  );
  renderReportTable(el.report, result.report);
  el.text.textContent = reply.text;
  renderConfusion(el.confusion, result.report.confusion.counts, {
    noun: 'photos',
    caption: `Confusion matrix of the catalogue ${reply.source}: rows true class, columns predicted class`,
  });
  renderCountList(el.unmapped, result.unmapped.map(([type, n]) => `${type}: ${int(n)} row${n === 1 ? '' : 's'}`), 'Every article type has a class.');
  renderCountList(el.skipped, result.skipped.map((s) => `${s.id}: ${s.reason}`), 'No photo was skipped.');
  renderMistakes();
}

confusionGrid(el.confusion, (t, p) => {
  if (!shown.reply) return;
  shown.filter = [t, p];
  renderMistakes();
  el.mistakes.closest('section').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
});

el.mistakesAll.addEventListener('click', () => {
  shown.filter = null;
  renderMistakes();
  el.mistakesNote.focus();
});

function renderMistakes() {
  const { result, inputs } = shown.reply;
  const names = classNames();
  const counts = result.report.confusion.counts;
  const wrong = counts.reduce((a, row, t) => a + row.reduce((b, n, p) => b + (t === p ? 0 : n), 0), 0);
  const all = result.mistakes.map((m, i) => ({ ...m, input: inputs[i] }));
  let list = all;
  const [t, p] = shown.filter ?? [];
  if (shown.filter) {
    list = all.filter((m) => m.label === t && m.predicted === p);
    el.mistakesNote.textContent = t === p
      ? `Correct predictions of ${names[t]} are not listed; choose a cell off the diagonal.`
      : `${int(list.length)} listed mistake${list.length === 1 ? '' : 's'} of ${names[t]} predicted as ${names[p]}` +
        ` (${int(counts[t][p])} in all).`;
  } else {
    el.mistakesNote.textContent = wrong === 0
      ? 'No mistakes.'
      : `${all.length < wrong ? `The ${int(all.length)} most confident of ${int(wrong)}` : `All ${int(wrong)}`} ` +
        `mistake${wrong === 1 ? '' : 's'}, most confident first: true class → predicted class.`;
  }
  el.mistakesAll.hidden = !shown.filter;
  // In slices of a frame each, so a long list never freezes the page.
  const seq = ++shown.seq;
  const reply = shown.reply;
  el.mistakes.replaceChildren();
  const addSlice = (start) => {
    if (seq !== shown.seq) return;
    const slice = list.slice(start, start + SLICE);
    const items = slice.map((m) => mistakeItem(m, reply));
    el.mistakes.append(...items.map((i) => i.li));
    loadPhotos(slice.map((m) => String(m.id)), items, reply);
    if (start + SLICE < list.length) requestAnimationFrame(() => addSlice(start + SLICE));
  };
  addSlice(0);
}

// The original photos of a slice of mistakes, read by the worker from the catalogue.
async function loadPhotos(ids, items, reply) {
  try {
    const { photos } = await request('catalogue-photos', { ids });
    const byId = new Map(photos.map((p) => [p.id, p.bytes]));
    items.forEach((item, i) => {
      const bytes = byId.get(ids[i]);
      if (!bytes) {
        item.photo.alt = `The photo of product ${ids[i]} could not be read`;
        return;
      }
      if (shown.reply !== reply) return;
      const url = URL.createObjectURL(new Blob([/** @type {BlobPart} */ (bytes)], { type: 'image/jpeg' }));
      shown.urls.push(url);
      item.photo.src = url;
    });
  } catch {
    for (const item of items) item.photo.alt = 'The photo could not be read';
  }
}

// A PNG object URL of an RGBA image. One shared canvas, and the PNG is encoded off the main
// thread (toBlob copies the pixels at once): 200 live canvases or data URLs would block the page.
let scratchCanvas = /** @type {HTMLCanvasElement | null} */ (null);
function imageUrl(image) {
  const canvas = (scratchCanvas ??= document.createElement('canvas'));
  drawImage(canvas, image);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(URL.createObjectURL(blob)) : reject(new Error('no image'))), 'image/png'));
}

function mistakeItem(m, reply) {
  const names = classNames();
  const li = document.createElement('li');
  li.className = 'mistake';
  li.dataset.id = m.id;
  const figure = document.createElement('figure');
  const images = document.createElement('div');
  images.className = 'mistake-images';
  const photo = document.createElement('img');
  photo.alt = `Photo of product ${m.id} (${m.article_type})`;
  photo.decoding = 'async';
  images.append(photo);
  if (m.input) {
    const input = document.createElement('img');
    input.className = 'model-input';
    input.alt = `Model input of product ${m.id}`;
    imageUrl(m.input).then((url) => {
      if (shown.reply !== reply) return URL.revokeObjectURL(url);
      shown.urls.push(url);
      input.src = url;
    });
    images.append(input);
  }
  const caption = document.createElement('figcaption');
  const classes = document.createElement('span');
  classes.className = 'mistake-classes';
  classes.append(cell('span', names[m.label], 'true-name'), document.createTextNode(' → '), cell('strong', names[m.predicted]));
  caption.append(
    classes,
    cell('span', `${(m.confidence * 100).toFixed(1)} % sure`, 'confidence'),
    cell('span', `#${m.id} · ${m.article_type}`, 'muted'),
  );
  figure.append(images, caption);
  li.append(figure);
  return { li, photo };
}
