// @ts-check
// A confusion matrix as a keyboard-navigable grid of buttons, and a classification report as a
// table: the test set's and the product catalogue's.

import { cell, classNames, int } from './dom.js';

/**
 * Draws `counts` into `table`: buttons shaded by their share of the row (hits blue, misses
 * vermillion); `noun` names what is counted ("test images", "photos").
 * @param {HTMLTableElement} table
 * @param {ArrayLike<ArrayLike<number>>} counts
 * @param {{noun: string, caption: string}} words
 */
export function renderConfusion(table, counts, { noun, caption }) {
  const names = classNames().length ? classNames() : Array.from(counts, (_, i) => `class ${i}`);
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
  Array.from(counts).forEach((row, t) => {
    const tr = document.createElement('tr');
    const th = cell('th', names[t]);
    th.scope = 'row';
    tr.append(th);
    const rowTotal = Array.from(row).reduce((a, b) => a + b, 0) || 1;
    Array.from(row).forEach((count, p) => {
      const td = document.createElement('td');
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = String(count);
      b.dataset.t = String(t);
      b.dataset.p = String(p);
      b.tabIndex = t === 0 && p === 0 ? 0 : -1; // roving tab stop: one Tab into the grid, arrows inside
      const share = count / rowTotal;
      b.setAttribute('aria-label', `${count} ${noun} of ${names[t]} predicted as ${names[p]} (${(share * 100).toFixed(1)} % of the row)`);
      b.className = t === p ? 'hit' : 'miss';
      b.style.setProperty('--share', share.toFixed(3));
      if (share > 0.45) b.classList.add('strong');
      td.append(b);
      tr.append(td);
    });
    body.append(tr);
  });
  table.replaceChildren(cell('caption', caption, 'visually-hidden'), head, body);
}

// Clicks and arrow keys on a confusion matrix; `onCell(t, p)` shows what a cell holds.
export function confusionGrid(table, onCell) {
  table.addEventListener('click', (event) => {
    const b = event.target.closest('button');
    if (b) onCell(Number(b.dataset.t), Number(b.dataset.p));
  });
  table.addEventListener('keydown', (event) => {
    const b = event.target.closest('button');
    if (!b) return;
    const size = table.tBodies[0].rows.length;
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
    const next = table.querySelector(`button[data-t="${t}"][data-p="${p}"]`);
    b.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });
}

/** A classification report as a table (classes without support marked). */
export function renderReportTable(table, report) {
  const counts = report.confusion.counts;
  const predicted = counts[0].map((_, p) => counts.reduce((a, row) => a + row[p], 0));
  const score = (x) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(3));
  const head = document.createElement('thead');
  const hr = document.createElement('tr');
  for (const name of ['Class', 'Precision', 'Recall', 'F1', 'Support']) {
    const th = cell('th', name, name === 'Class' ? '' : 'num');
    th.scope = 'col';
    hr.append(th);
  }
  head.append(hr);
  const body = document.createElement('tbody');
  const row = (name, s, { support = int(s.support), noSupport = false, predictedNone = false } = {}) => {
    const tr = document.createElement('tr');
    const th = cell('th', name);
    th.scope = 'row';
    if (noSupport) tr.classList.add('no-support');
    tr.append(
      th,
      cell('td', predictedNone ? '—' : score(s.precision), 'num'),
      cell('td', noSupport ? '—' : score(s.recall), 'num'),
      cell('td', noSupport ? '—' : score(s.f1), 'num'),
      cell('td', support, 'num'),
    );
    return tr;
  };
  report.classes.forEach((c, k) => {
    const noSupport = c.support === 0;
    body.append(row(c.name, c, {
      noSupport,
      predictedNone: predicted[k] === 0,
      support: noSupport ? 'no photos' : int(c.support),
    }));
  });
  const total = report.classes.reduce((a, c) => a + c.support, 0);
  const acc = document.createElement('tr');
  acc.className = 'summary-row';
  const accName = cell('th', 'Accuracy');
  accName.scope = 'row';
  acc.append(accName, cell('td', '', 'num'), cell('td', '', 'num'), cell('td', score(report.accuracy), 'num'), cell('td', int(total), 'num'));
  const macro = row('Macro average', report.macro_avg);
  const weighted = row('Weighted average', report.weighted_avg);
  macro.classList.add('summary-row');
  body.append(acc, macro, weighted);
  table.replaceChildren(
    cell('caption', 'Precision, recall and F1 per class; support is the number of photos of the class', 'visually-hidden'),
    head,
    body,
  );
}

