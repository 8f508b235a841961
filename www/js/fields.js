// @ts-check
// Number fields built from the core's limits (pageInfo().training_fields) and selects from its
// choices (choice_fields): the form shows the ranges and options the core enforces, and marks
// the fields the core's check names.

import { cell, showError } from './dom.js';

/** @typedef {import('../pkg/fashion_trainer.js').FieldLimit} FieldLimit */
/** @typedef {import('./protocol.js').FieldError} FieldError */

/**
 * `control` (with id `id`) in a form field with its label and, when there is one, its hint.
 * @param {HTMLInputElement | HTMLSelectElement} control
 * @param {string} label
 * @param {string} hint
 */
function labelled(control, label, hint) {
  const wrap = document.createElement('div');
  wrap.className = 'field';
  const labelElement = cell('label', label);
  labelElement.htmlFor = control.id;
  wrap.append(labelElement, control);
  if (hint) {
    const hintElement = cell('p', hint, 'hint');
    hintElement.id = `${control.id}-hint`;
    control.setAttribute('aria-describedby', hintElement.id);
    wrap.append(hintElement);
  }
  return wrap;
}

/**
 * A labelled number input for `limit`, with id `id` and name `limit.field`.
 * @param {FieldLimit} limit
 * @param {{id: string, label?: string}} options
 */
export function numberField(limit, { id, label = limit.label }) {
  const input = document.createElement('input');
  Object.assign(input, { id, name: limit.field, type: 'number', required: true });
  input.inputMode = limit.integer ? 'numeric' : 'decimal';
  // The bounds guide the spinner and assistive technology; the core's check decides.
  input.min = String(limit.min);
  input.max = String(limit.max);
  input.step = limit.integer ? '1' : 'any';
  return labelled(input, label, limit.hint);
}

/**
 * A labelled select for a choice of the core's (pageInfo().choice_fields), with id `id` and
 * name `choice.field`.
 * @param {import('../pkg/fashion_trainer.js').ChoiceField} choice
 * @param {{id: string}} options
 */
export function choiceField(choice, { id }) {
  const select = document.createElement('select');
  Object.assign(select, { id, name: choice.field });
  select.append(...choice.options.map(([value, label]) => new Option(label, value)));
  return labelled(select, choice.label, choice.hint);
}

/**
 * Marks the inputs of `form` that `errors` name (by field name) and shows the first message in
 * `errorBox`; focuses the first bad input when `focus`.
 * @param {HTMLFormElement} form
 * @param {FieldError[]} errors
 * @param {HTMLElement} errorBox
 */
export function markFields(form, errors, errorBox, focus = false) {
  const bad = new Set(errors.map((e) => e.field));
  for (const input of form.querySelectorAll('input[name], select[name]')) {
    const name = /** @type {HTMLInputElement} */ (input).name;
    if (bad.has(name)) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  showError(errorBox, errors.map((e) => e.message).join(' '));
  if (focus && errors.length) {
    const first = form.querySelector(`[name="${CSS.escape(errors[0].field)}"]`);
    /** @type {HTMLElement | null} */ (first)?.focus();
  }
}
