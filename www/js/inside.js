// @ts-check
// "Inside the network": the first layer's kernels (refreshed with every epoch), and for one image
// the feature maps of both convolutions and a saliency map over the input. The core computes
// every tile (src/insight.rs); this module draws them.

import { $, classNames, drawImage, pct, setStatus } from './dom.js';
import { store } from './state.js';
import { on, request } from './worker-client.js';

/** @typedef {import('./protocol.js').Tiles} Tiles */

const el = {
  kernels: $('kernel-tiles', HTMLElement),
  kernelsNote: $('kernels-note', HTMLElement),
  view: $('inside-view', HTMLElement),
  title: $('inside-title', HTMLElement),
  image: $('inside-image', HTMLCanvasElement),
  saliency: $('inside-saliency', HTMLCanvasElement),
  explain: $('inside-class', HTMLSelectElement),
  summary: $('inside-summary', HTMLElement),
  conv1: $('conv1-maps', HTMLElement),
  conv2: $('conv2-maps', HTMLElement),
};

/** The image looked inside, to explain another class with. */
let shown = /** @type {{pixels: Uint8Array, name: string} | null} */ (null);

/** One canvas per tile, drawn at its own size (CSS scales them up, pixelated). @param {Tiles} tiles */
function drawTiles(container, tiles, describe) {
  const { count, side, pixels } = tiles;
  const canvases = [];
  for (let t = 0; t < count; t++) {
    const canvas = document.createElement('canvas');
    canvas.setAttribute('aria-hidden', 'true');
    canvas.title = describe(t);
    drawImage(canvas, pixels.subarray(t * side * side, (t + 1) * side * side), side);
    canvases.push(canvas);
  }
  container.replaceChildren(...canvases);
}

/** @param {Tiles} kernels @param {string} from */
function showKernels(kernels, from) {
  drawTiles(el.kernels, kernels, (t) => `Kernel ${t + 1}`);
  el.kernelsNote.textContent = `${kernels.count} kernels of 5 x 5 ${from}; the largest weight is ${kernels.scale.toFixed(3)}.`;
}

/** The input in grey with the saliency in red over it. */
function drawSaliency(pixels, saliency) {
  el.saliency.width = 28;
  el.saliency.height = 28;
  const ctx = /** @type {CanvasRenderingContext2D} */ (el.saliency.getContext('2d'));
  const image = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const grey = pixels[i] * 0.6;
    const a = saliency[i] / 255;
    image.data[i * 4] = grey + (255 - grey) * a;
    image.data[i * 4 + 1] = grey * (1 - a) + 40 * a;
    image.data[i * 4 + 2] = grey * (1 - a);
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

async function explain(klass) {
  if (!shown) return;
  const { pixels, name } = shown;
  try {
    const view = await request('inside', { pixels: pixels.slice(), explain: klass });
    const names = classNames();
    el.view.hidden = false;
    el.title.textContent = `${name}, layer by layer`;
    drawImage(el.image, pixels);
    el.image.setAttribute('aria-label', `${name} as the model sees it`);
    drawSaliency(pixels, view.saliency.pixels);
    el.saliency.setAttribute('aria-label', `Saliency of ${names[view.class]} over ${name}`);
    showKernels(view.kernels, 'of the model in use');
    drawTiles(el.conv1, view.conv1, (t) => `conv1 map ${t + 1}`);
    drawTiles(el.conv2, view.conv2, (t) => `conv2 map ${t + 1}`);
    if (el.explain.options.length !== names.length) {
      el.explain.replaceChildren(...names.map((n, i) => new Option(n, String(i))));
    }
    el.explain.value = String(view.class);
    el.summary.textContent = `Predicted ${names[view.predicted]} (${pct(view.probabilities[view.predicted], 1)}). ` +
      `The saliency explains ${names[view.class]} (${pct(view.probabilities[view.class], 1)}): the pixels whose change ` +
      `moves its score most are red. ${view.conv1.count} conv1 and ${view.conv2.count} conv2 maps; ` +
      `computed in ${view.millis.toFixed(1)} ms.`;
    el.view.dataset.millis = String(view.millis);
  } catch (error) {
    setStatus(`Could not look inside: ${error.message}`, 'error');
  }
}

/** Shows the current model's view of one 28x28 image (784 pixels, light object on black). */
export function lookInside(pixels, name) {
  shown = { pixels: pixels.slice(), name };
  explain(null).then(() => el.view.scrollIntoView({ behavior: 'smooth', block: 'nearest' }));
}

el.explain.addEventListener('change', () => explain(Number(el.explain.value)));

on('epoch', ({ kernels, record }) => showKernels(kernels, `after epoch ${record.epoch}`));

// A model loaded from a file or a stored run shows its kernels too.
let kernelsOf = /** @type {unknown} */ (null);
store.subscribe((state) => {
  if (!state.model || state.model === kernelsOf || state.run === 'running') return;
  kernelsOf = state.model;
  request('kernels', {})
    .then(({ kernels }) => showKernels(kernels, `of ${state.model?.name ?? 'the model'}`))
    .catch(() => {});
});
