// @ts-check
// The setup form: presets, the number fields (built from the core's limits), fit and backend.
// The core reads and checks the typed values and describes the model; the form shows what it
// says: the model summary, the preset the settings are, and every bad field.

import { $, int, showError } from './dom.js';
import { choiceField, markFields, numberField } from './fields.js';
import { isBusyRunning, store } from './state.js';
import { request, setting } from './worker-client.js';

/** @typedef {import('./protocol.js').ConfigCheck} ConfigCheck */
/** @typedef {import('./protocol.js').TrainingConfig} TrainingConfig */

const el = {
  form: $('setup', HTMLFormElement),
  fields: $('setup-fields', HTMLFieldSetElement),
  fit: $('fit-fields', HTMLFieldSetElement),
  preset: $('preset', HTMLSelectElement),
  presetDescription: $('preset-description', HTMLElement),
  label: $('label', HTMLInputElement),
  backend: $('backend', HTMLSelectElement),
  error: $('form-error', HTMLElement),
  summary: $('summary', HTMLElement),
  paramCount: $('param-count', HTMLElement),
};

let labelEdited = false; // the label follows the preset until the user types one of their own
let checkSeq = 0;
let checkTimer = 0;

/** The backend chosen in the form. */
export const chosenBackend = () => /** @type {import('./protocol.js').BackendChoice} */ (el.backend.value);

/** How much larger a new run's batches are if it trains on the GPU (1: as set). */
export const chosenGpuBatches = () => Number(/** @type {HTMLSelectElement | null} */ (document.getElementById('gpu-batches'))?.value ?? 1);

/** The run label typed, or the preset's name. */
export const chosenLabel = () => el.label.value.trim() || el.preset.value;

/** The config's inputs and selects (the number fields and the core's choices). */
const configFields = () =>
  /** @type {NodeListOf<HTMLInputElement | HTMLSelectElement>} */ (el.fields.querySelectorAll('input[type="number"], select[data-choice]'));

/** The form's values as typed, by field name. */
function readForm() {
  /** @type {Record<string, string>} */
  const values = {};
  for (const field of configFields()) values[field.name] = field.value;
  values.fit = /** @type {RadioNodeList} */ (el.form.elements.namedItem('fit')).value;
  return values;
}

/** Puts a config's form values (the core's `form_values`) into the form. @param {Record<string, string>} values */
function writeForm(values) {
  for (const field of configFields()) if (field.name in values) field.value = values[field.name];
  /** @type {RadioNodeList} */ (el.form.elements.namedItem('fit')).value = values.fit;
}

/**
 * Builds the number fields and the preset list from what the core offers; the form starts at
 * the base preset.
 * @param {import('./protocol.js').PageInfo} info
 */
export function fillSetup(info) {
  if (el.fields.querySelector('input[type="number"]')) return; // a retry: keep what was typed
  for (const limit of info.training_fields) {
    el.fields.insertBefore(numberField(limit, { id: limit.field.replace(/_/g, '-') }), el.fit);
  }
  for (const choice of info.choice_fields) {
    const field = choiceField(choice, { id: choice.field.replace(/_/g, '-') });
    /** @type {HTMLSelectElement} */ (field.querySelector('select')).dataset.choice = '';
    el.fields.insertBefore(field, el.fit);
  }
  el.fields.querySelector('.fields-loading')?.remove();
  el.preset.replaceChildren(
    ...info.presets.map((p) => new Option(`${p.name} — ${p.description}`, p.name)),
    new Option('custom', 'custom'),
  );
  writeForm(Object.fromEntries((info.presets.find((p) => p.name === 'base') ?? info.presets[0]).form));
  fillWorkers(info.workers_field);
  // How to train on the GPU: beside the backend, outside the model's fields.
  const gpuBatches = choiceField(info.gpu_batches_field, { id: 'gpu-batches' });
  gpuBatches.classList.add('wide');
  el.backend.closest('.field')?.after(gpuBatches);
  check();
}

/**
 * The CPU workers field: how, not what, to train, so outside the model's fields; every core by
 * default. It holds for the study too.
 * @param {import('../pkg/fashion_trainer.js').FieldLimit} limit
 */
function fillWorkers(limit) {
  const field = numberField(limit, { id: 'workers' });
  field.classList.add('wide');
  el.form.insertBefore(field, el.error);
  const input = /** @type {HTMLInputElement} */ (field.querySelector('input'));
  input.value = String(Math.min(navigator.hardwareConcurrency || 1, limit.max));
  const apply = () =>
    setting('workers', { count: Number(input.value) }).then(
      () => {
        input.removeAttribute('aria-invalid');
        if (el.error.textContent?.startsWith(limit.label)) showError(el.error, '');
      },
      (error) => {
        input.setAttribute('aria-invalid', 'true');
        showError(el.error, error.message);
      },
    );
  input.addEventListener('change', apply);
  apply();
}

/** Shows a model summary (the form's, or the run's that started). */
export function showSummary(text, totalParams = null) {
  el.summary.textContent = text;
  el.summary.classList.remove('error');
  if (totalParams != null) el.paramCount.textContent = `(${int(totalParams)} parameters)`;
}

/**
 * Asks the core about the form as it stands: the config, the preset, the summary, bad fields.
 * A newer check makes an older one's answer moot (null).
 * @returns {Promise<ConfigCheck | null>}
 */
async function check({ focus = false } = {}) {
  const seq = ++checkSeq;
  const result = await request('check-config', { form: readForm() });
  if (seq !== checkSeq) return null;
  const preset = result.preset ?? null;
  const info = store.get().info;
  el.preset.value = preset ?? 'custom';
  el.presetDescription.textContent = info?.presets.find((p) => p.name === preset)?.description ?? 'Custom settings.';
  if (!labelEdited) el.label.value = preset ?? 'custom';
  if (result.errors.length) {
    el.summary.textContent = `Cannot build this model: ${result.errors.map((e) => e.message).join(' ')}`;
    el.summary.classList.add('error');
    el.paramCount.textContent = '';
  } else {
    showSummary(result.summary_text, result.total_params);
  }
  // Fields are marked as soon as something was submitted once; before, only the summary says it.
  if (focus || el.form.dataset.submitted) markFields(el.form, result.errors, el.error, focus);
  return result;
}

function scheduleCheck() {
  clearTimeout(checkTimer);
  checkTimer = window.setTimeout(() => check().catch(() => {}), 200);
}

/**
 * Wires the form; `onStart` gets a checked config (with its description) and the label.
 * @param {(run: {config: TrainingConfig, description: string, label: string}) => void} onStart
 */
export function initSetup(onStart) {
  el.preset.addEventListener('change', () => {
    const preset = store.get().info?.presets.find((p) => p.name === el.preset.value);
    if (preset) writeForm(Object.fromEntries(preset.form));
    scheduleCheck();
  });
  el.form.addEventListener('input', (event) => {
    if (event.target === el.label) {
      labelEdited = el.label.value.trim() !== '';
      return;
    }
    if (event.target !== el.preset) scheduleCheck();
  });
  el.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (/** @type {HTMLButtonElement} */ ($('start', HTMLButtonElement)).disabled) return;
    el.form.dataset.submitted = 'true';
    const result = await check({ focus: true }).catch((error) => {
      showError(el.error, error.message);
      return null;
    });
    if (!result?.config || isBusyRunning()) return;
    onStart({ config: result.config, description: result.description, label: chosenLabel() });
  });
}

/** Enables the fields unless a run trains or is paused. */
export function renderSetup() {
  el.fields.disabled = isBusyRunning();
  el.form.setAttribute('aria-busy', String(store.get().run === 'starting'));
}
