// @ts-check
// Line charts (uPlot, vendored from npm) that follow their box's width and the colour scheme,
// and the training curves: running training values per chunk at fractional epochs, validation at
// each epoch's end. Without uPlot the page still trains; the numbers are in the tables.

import { cell, num, pct } from './dom.js';

/** @type {any} */
const uPlot = await import('../vendor/uPlot.esm.js').then(
  (m) => m.default,
  () => null,
);

/** True when the charting library loaded. */
export const chartsAvailable = () => uPlot !== null;

const HEIGHT = 260;
const MAX_TRAIN_POINTS = 300;
const darkMode = matchMedia('(prefers-color-scheme: dark)');

/** A CSS custom property of the page, e.g. `--fg`. */
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/**
 * @typedef {object} Line
 * @property {string} label
 * @property {string | (() => string)} stroke A colour, or where to read it (made again in dark mode).
 * @property {number[]} [dash] A dash pattern, so lines differ by more than colour.
 * @property {boolean} points Dots at the data points.
 */

/**
 * @typedef {object} ChartSpec
 * @property {string} yLabel
 * @property {(v: number) => string} format How y values read.
 * @property {() => [number, number]} xRange
 * @property {number[]} [xSteps] The x tick steps to choose from (whole epochs for studies).
 * @property {(v: number) => string} xFormat How x values read in the legend.
 * @property {Line[]} lines
 */

/**
 * A chart in `box`; colours are read when it is made, so it is made again when the colour
 * scheme changes. Returns null without uPlot.
 * @param {HTMLElement} box
 * @param {ChartSpec} spec
 */
export function lineChart(box, spec) {
  if (!uPlot) return null;
  let data = [[], ...spec.lines.map(() => [])];
  const make = () => {
    const axis = { stroke: cssVar('--fg') || '#222', grid: { stroke: cssVar('--grid') || '#0002', width: 1 }, ticks: { stroke: cssVar('--grid') || '#0002', width: 1 } };
    const xAxis = { ...axis, label: 'epoch' };
    if (spec.xSteps) Object.assign(xAxis, { incrs: spec.xSteps, values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? t : '')) });
    return new uPlot(
      {
        width: Math.max(240, box.clientWidth),
        height: HEIGHT,
        scales: { x: { time: false, range: spec.xRange } },
        axes: [xAxis, { ...axis, label: spec.yLabel, size: 56, values: (u, ticks) => ticks.map(spec.format) }],
        series: [
          { label: 'epoch', value: (u, v) => (v == null ? '—' : spec.xFormat(v)) },
          ...spec.lines.map((line) => ({
            label: line.label,
            stroke: typeof line.stroke === 'function' ? line.stroke() : line.stroke,
            dash: line.dash,
            width: 2,
            spanGaps: true,
            points: line.points ? { show: true, size: 6 } : { show: false },
            value: (u, v) => (v == null ? '—' : spec.format(v)),
          })),
        ],
      },
      data,
      box,
    );
  };
  let plot = make();
  const remake = () => {
    plot.destroy();
    plot = make();
  };
  const resize = new ResizeObserver(() => {
    const width = Math.max(240, box.clientWidth);
    if (width !== plot.width) plot.setSize({ width, height: HEIGHT });
  });
  resize.observe(box);
  darkMode.addEventListener('change', remake);
  return {
    /** @param {(number | null)[][]} next */
    setData(next) {
      data = next;
      plot.setData(next);
    },
    destroy() {
      resize.disconnect();
      darkMode.removeEventListener('change', remake);
      plot.destroy();
    },
  };
}

/**
 * The loss and accuracy curves of one run, with their latest values in words (for screen
 * readers and without charts).
 */
export class TrainingCurves {
  /**
   * @param {{loss: HTMLElement, acc: HTMLElement, lossText: HTMLElement, accText: HTMLElement, table: HTMLTableElement}} boxes
   */
  constructor(boxes) {
    this.boxes = boxes;
    /** @type {[number, number, number][]} */
    this.train = [];
    this.stride = 1;
    this.seen = 0;
    /** @type {Map<number, import('./protocol.js').EpochRecord>} */
    this.epochs = new Map();
    this.xMax = 1;
    this.queued = false;
    const lines = () => [
      { label: 'train', stroke: () => cssVar('--train') || '#1f6fb4', points: false },
      { label: 'validation', stroke: () => cssVar('--val') || '#d55e00', dash: [6, 4], points: true },
    ];
    const common = { xRange: () => /** @type {[number, number]} */ ([0, this.xMax]), xFormat: (v) => v.toFixed(2) };
    this.loss = lineChart(boxes.loss, { ...common, yLabel: 'loss', format: (v) => v.toFixed(2), lines: lines() });
    this.acc = lineChart(boxes.acc, { ...common, yLabel: 'top-1 %', format: (v) => v.toFixed(1), lines: lines() });
  }

  /** Starts over for a run of `epochs` epochs, with the epochs it already has. */
  reset(epochs, history = []) {
    this.train = [];
    this.stride = 1;
    this.seen = 0;
    this.epochs = new Map(history.map((r) => [r.epoch, r]));
    this.xMax = Math.max(1, epochs);
    this.boxes.lossText.textContent = '';
    this.boxes.accText.textContent = '';
    const last = history.at(-1);
    if (last) this.addEpoch(last);
    this.renderTable();
    this.draw();
  }

  /** The epochs' numbers, a row each: the charts' text alternative. */
  renderTable() {
    const rows = [...this.epochs.values()].sort((a, b) => a.epoch - b.epoch).map((r) => {
      const tr = document.createElement('tr');
      const th = cell('th', String(r.epoch));
      th.scope = 'row';
      tr.append(th, ...[num(r.train_loss), pct(r.train_accuracy), num(r.val_loss), pct(r.val_accuracy)].map((t) => cell('td', t, 'num')));
      return tr;
    });
    this.boxes.table.tBodies[0].replaceChildren(...rows);
  }

  /** A chunk's running training values. @param {import('./protocol.js').StepReport['progress']} p */
  addChunk(p) {
    if (p.phase !== 'train' || !p.batches || !p.batch) return;
    // Keep every stride-th point; when too many pile up, halve them and double the stride.
    if (this.seen++ % this.stride !== 0) return;
    this.train.push([p.epoch - 1 + p.batch / p.batches, p.train_loss, p.train_accuracy]);
    if (this.train.length > MAX_TRAIN_POINTS) {
      this.train = this.train.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
    }
    this.draw();
  }

  /** A finished epoch. @param {import('./protocol.js').EpochRecord} record */
  addEpoch(record) {
    this.epochs.set(record.epoch, record);
    this.boxes.lossText.textContent =
      `Epoch ${record.epoch}: train loss ${num(record.train_loss)}, validation loss ${num(record.val_loss)}.`;
    this.boxes.accText.textContent =
      `Epoch ${record.epoch}: train ${pct(record.train_accuracy)}, validation ${pct(record.val_accuracy)}.`;
    this.renderTable();
    this.draw();
  }

  // Redraws at the next frame, once however many points arrived.
  draw() {
    if (this.queued || !this.loss) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      const byX = new Map();
      for (const [x, loss, acc] of this.train) byX.set(x, { x, tl: loss, ta: acc * 100, vl: null, va: null });
      for (const r of this.epochs.values()) {
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
      this.loss.setData([col('x'), col('tl'), col('vl')]);
      this.acc.setData([col('x'), col('ta'), col('va')]);
    });
  }
}
