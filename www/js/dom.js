// @ts-check
// Small DOM helpers every feature uses: finding elements, building cells and buttons, drawing
// images, downloads, the status line, keyboard focus, and number display.

import { store } from './state.js';

/**
 * The element with `id`, checked to be a `type` (so a renamed element fails loudly, at once).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new (...args: any[]) => T} type
 * @returns {T}
 */
export function $(id, type) {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return element;
}

/** A fraction as a percentage (the core formats the same way: `91.20 %`). */
export const pct = (x, digits = 2) => (x == null || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(digits)} %`);
/** A number with fixed decimals, or a dash. */
export const num = (x, digits = 4) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(digits));
/** A whole number with thousands separators, or a dash. */
export const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');

/**
 * An element with text and a class.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} text
 * @param {string} [className]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function cell(tag, text, className) {
  const element = document.createElement(tag);
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

/**
 * A small button with a visible text and a fuller accessible name.
 * @param {string} action `data-action`, for tests and for keeping focus across re-renders.
 * @param {string} text
 * @param {string} label
 * @param {() => void} onClick
 */
export function button(action, text, label, onClick, disabled = false) {
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

/** A button that just got disabled drops keyboard focus; hand it to the control that acts next. */
export function keepFocus(next) {
  const active = /** @type {HTMLButtonElement | null} */ (document.activeElement);
  if (!active || active === document.body || active.disabled) next?.focus();
}

const statusLine = () => $('status', HTMLElement);

/** The page's status line (a polite live region). @param {'info' | 'ok' | 'warn' | 'error'} kind */
export function setStatus(text, kind = 'info') {
  statusLine().textContent = text;
  statusLine().dataset.kind = kind;
}

/** Shows a form's error paragraph, or hides it when `text` is empty. */
export function showError(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

/**
 * Draws `side` x `side` grayscale pixels (784 by default), or an RGBA image `{width, height,
 * rgba}` as the core returns it.
 * @param {HTMLCanvasElement} canvas
 * @param {Uint8Array | import('./protocol.js').RgbaImage} pixels
 */
export function drawImage(canvas, pixels, side = 28) {
  if ('rgba' in pixels) {
    canvas.width = pixels.width;
    canvas.height = pixels.height;
    const rgba = new Uint8ClampedArray(pixels.rgba); // a copy ImageData can own
    canvas.getContext('2d').putImageData(new ImageData(rgba, pixels.width, pixels.height), 0, 0);
    return;
  }
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    image.data.fill(pixels[i], i * 4, i * 4 + 3);
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

/** Saves `blob` as a download called `name`. */
export function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

/** A file name made of `text`. */
export function fileSafe(text) {
  return text.replace(/[^A-Za-z0-9._+-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}

/** The class names, once the core has said them. */
export const classNames = () => store.get().info?.class_names ?? [];

/**
 * Class probabilities as labelled bars (the bar length is the probability; the text says it).
 * @param {ArrayLike<number>} probs
 * @param {{top?: number, trueClass?: number | null}} [options]
 */
export function probabilityItems(probs, { top = probs.length, trueClass = null } = {}) {
  const names = classNames();
  const order = [...Array(probs.length).keys()].sort((a, b) => probs[b] - probs[a]).slice(0, top);
  return order.map((k) => {
    const li = document.createElement('li');
    li.style.setProperty('--p', Math.min(1, Math.max(0, probs[k])).toFixed(4));
    if (k === trueClass) li.classList.add('true-class');
    li.append(
      cell('span', (names[k] ?? `class ${k}`) + (k === trueClass ? ' (true)' : ''), 'name'),
      cell('span', `${(probs[k] * 100).toFixed(1)} %`, 'value'),
    );
    return li;
  });
}

/** A status badge and, under it, an error message. */
export function statusCell(status, error = '') {
  const td = cell('td', '');
  td.append(cell('span', status, `status-badge status-${status}`));
  if (error) td.append(cell('span', error, 'run-error'));
  return td;
}

/** A table body's one row saying it is empty. */
export function emptyRow(tbody, text, columns) {
  const td = cell('td', text, 'muted');
  td.colSpan = columns;
  const tr = document.createElement('tr');
  tr.append(td);
  tbody.replaceChildren(tr);
}
