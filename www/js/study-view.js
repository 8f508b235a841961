// @ts-check
// The study shown: its queue (each run's status, best epoch, validation and test top-1, time),
// its progress with the study's ETA, and the validation curves of every model side by side.

import { lineChart } from './charts.js';
import { $, cell, emptyRow, num, pct, statusCell } from './dom.js';
import { store } from './state.js';

/** @typedef {import('./protocol.js').StudyState} StudyState */
/** @typedef {import('./protocol.js').StepProgress} StepProgress */

// Okabe–Ito colours and a dash pattern each, so lines differ by more than colour.
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'];
const DASHES = [[], [8, 4], [2, 3], [12, 3, 3, 3], [5, 5], [1, 3]];

const el = {
  queue: $('study-queue', HTMLTableElement),
  progress: $('study-progress', HTMLProgressElement),
  progressText: $('study-progress-text', HTMLElement),
  charts: $('study-charts', HTMLElement),
  accChart: $('study-acc-chart', HTMLElement),
  lossChart: $('study-loss-chart', HTMLElement),
  accLatest: $('study-acc-latest', HTMLElement),
  lossLatest: $('study-loss-latest', HTMLElement),
};

/** The run in progress (its id, whether it is being tested) and its last progress. */
export const live = { /** @type {StepProgress | null} */ progress: null, testing: false };

/** The run being trained (also while paused or tested), or null. */
export function liveRunId(state = store.get()) {
  const run = state.currentRun ? state.runs.get(state.currentRun) : null;
  return state.studyActive && run?.study?.key === state.studyKey ? run.study.runId : null;
}

/** The stored record of study run `runId`, if it was started. */
function record(runId) {
  const { runs, studyKey } = store.get();
  return [...runs.values()].find((r) => r.study?.key === studyKey && r.study.runId === runId) ?? null;
}

/** The queue as a table. @param {StudyState | null} shown */
export function renderQueue(shown) {
  const tbody = el.queue.tBodies[0];
  const queue = shown?.view.queue ?? [];
  if (!queue.length) {
    emptyRow(tbody, 'No study yet.', 6);
    return;
  }
  const state = store.get();
  const running = liveRunId(state);
  const next = shown.view.next?.id ?? null;
  tbody.replaceChildren(
    ...queue.map((q) => {
      const tr = document.createElement('tr');
      tr.dataset.runId = q.id;
      const saved = q.done ? null : record(q.id);
      let status = q.done ? 'done' : 'waiting';
      let note = '';
      if (!q.done && q.id === running) {
        status = live.testing ? 'testing' : state.run === 'paused' ? 'paused' : 'running';
        tr.classList.add('current');
      } else if (!q.done && q.id === next && saved?.history.length && saved.status !== 'running') {
        status = 'stopped';
        note = `${saved.history.length} of ${saved.config.epochs} epochs kept`;
      }
      tr.dataset.status = status;
      const name = cell('th', '');
      name.scope = 'row';
      name.append(cell('span', q.id, 'run-label'), cell('span', q.variant ? `fit ${q.fit}` : `the best variant, fit ${q.fit}`, 'run-config'));
      const statusTd = statusCell(status === 'testing' ? 'running' : status);
      statusTd.querySelector('.status-badge').textContent = status;
      if (note) statusTd.append(cell('span', note, 'run-config'));
      if (['running', 'paused', 'testing'].includes(status)) {
        const bar = document.createElement('progress');
        bar.id = 'study-run-progress';
        bar.max = 1;
        bar.value = status === 'testing' ? 1 : Math.min(1, Math.max(0, live.progress?.progress.fraction_done ?? 0));
        bar.setAttribute('aria-label', `Progress of ${q.id}`);
        const text = cell('span', status === 'testing' ? 'Evaluating on the test set…' : live.progress?.short_line ?? 'Starting…', 'run-progress-text');
        text.id = 'study-run-progress-text';
        bar.setAttribute('aria-describedby', text.id);
        statusTd.append(bar, text);
      }
      tr.append(
        name,
        statusTd,
        cell('td', q.best_epoch ? String(q.best_epoch) : '—', 'num'),
        cell('td', q.done ? (q.val_top1 != null ? pct(q.val_top1) : 'no val set') : '—', 'num'),
        cell('td', q.test_top1 != null ? pct(q.test_top1) : '—', 'num'),
        cell('td', q.time ?? '—', 'num'),
      );
      return tr;
    }),
  );
}

/** The study's progress bar and line. @param {StudyState | null} shown */
export function renderProgress(shown) {
  if (!shown) {
    el.progress.value = 0;
    el.progress.removeAttribute('aria-valuetext');
    el.progressText.textContent = 'No study yet.';
    return;
  }
  const { finished, total } = shown.view;
  const running = liveRunId();
  const p = running && !live.testing ? live.progress : null;
  const fraction = (finished + (running ? (live.testing ? 1 : Math.min(1, p?.progress.fraction_done ?? 0)) : 0)) / total;
  let text = `${finished} of ${total} runs finished`;
  if (running) text += ` · now ${running}${p?.studyEta ? ` · study ETA about ${p.studyEta}` : ''}`;
  el.progress.value = Math.min(1, fraction);
  el.progress.setAttribute('aria-valuetext', `${Math.round(fraction * 100)} % of the study. ${text}.`);
  el.progressText.textContent = text;
}

/** A progress report of the run in progress: its row and the study's bar. */
export function showRunProgress(shown, msg) {
  live.progress = msg;
  const bar = /** @type {HTMLProgressElement | null} */ (document.getElementById('study-run-progress'));
  const text = document.getElementById('study-run-progress-text');
  if (bar) bar.value = Math.min(1, Math.max(0, msg.progress.fraction_done ?? 0));
  if (text) text.textContent = msg.short_line;
  renderProgress(shown);
}

let charts = /** @type {{key: string, acc: any, loss: any} | null} */ (null);

function resetCharts() {
  charts?.acc?.destroy();
  charts?.loss?.destroy();
  charts = null;
}

/** The validation curves of the models fitted on train. @param {StudyState | null} shown */
export function renderCharts(shown) {
  el.charts.hidden = !shown;
  if (!shown) {
    resetCharts();
    el.accLatest.textContent = '';
    el.lossLatest.textContent = '';
    return;
  }
  const { epochs, variants } = shown.view.config;
  // Finished runs from the study; the others from their stored records (running or cut off).
  const models = variants.map((name) => {
    const result = shown.study.results.find((r) => r.id === name);
    if (result) return { name, history: result.history, bestEpoch: result.best_epoch, done: true };
    const saved = record(name);
    return { name, history: saved?.history ?? [], bestEpoch: saved?.bestEpoch ?? 0, done: false };
  });
  const key = JSON.stringify([variants, epochs, store.get().studyKey]);
  if (charts?.key !== key) {
    resetCharts();
    const lines = variants.map((name, i) => ({ label: name, stroke: COLOURS[i % COLOURS.length], dash: DASHES[i % DASHES.length], points: true }));
    const spec = { xRange: () => /** @type {[number, number]} */ ([0.5, epochs + 0.5]), xSteps: [1, 2, 5, 10, 20, 50, 100, 200, 500], xFormat: String, lines };
    charts = {
      key,
      acc: lineChart(el.accChart, { ...spec, yLabel: 'val top-1 %', format: (v) => v.toFixed(1) }),
      loss: lineChart(el.lossChart, { ...spec, yLabel: 'val loss', format: (v) => v.toFixed(2) }),
    };
  }
  const x = Array.from({ length: epochs }, (_, i) => i + 1);
  const series = (pick, scale = 1) => models.map((m) => x.map((e) => {
    const v = m.history.find((r) => r.epoch === e)?.[pick];
    return v == null ? null : v * scale;
  }));
  charts.acc?.setData([x, ...series('val_accuracy', 100)]);
  charts.loss?.setData([x, ...series('val_loss')]);
  // The same in words, for screen readers and without charts.
  // The best epoch is the core's (the run's kept epoch); the lowest loss is only read off.
  const withEpochs = models.filter((m) => m.history.some((r) => r.val_accuracy != null));
  const soFar = (m) => (m.done ? '' : ', so far');
  el.accLatest.textContent = withEpochs.length
    ? `Best validation top-1: ${withEpochs.map((m) => {
      const r = m.history.find((h) => h.epoch === m.bestEpoch) ?? m.history.at(-1);
      return `${m.name} ${pct(r.val_accuracy)} (epoch ${r.epoch}${soFar(m)})`;
    }).join('; ')}.`
    : 'No epoch has finished yet.';
  el.lossLatest.textContent = withEpochs.length
    ? `Lowest validation loss: ${withEpochs.map((m) => {
      const r = m.history.filter((h) => h.val_loss != null).reduce((a, h) => (h.val_loss < a.val_loss ? h : a));
      return `${m.name} ${num(r.val_loss)} (epoch ${r.epoch}${soFar(m)})`;
    }).join('; ')}.`
    : '';
}
