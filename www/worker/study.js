// @ts-check
// The study in the worker: it holds the WebStudy, trains its runs one after the other, tests and
// records each, and tells the page after every run, which stores what it is told.

import { dataStore } from './data.js';
import { isFatal, loadApi, post, serial, wasm } from './core.js';
import { begin, isBusy, modelQueue, useStudyModel } from './runs.js';
import { catalogueSection } from './catalogue.js';

/** @typedef {import('../js/protocol.js').Requests} Requests */
/** @typedef {import('../js/protocol.js').StudyState} StudyState */
/** @typedef {import('../js/protocol.js').SavedRun} SavedRun */
/** @typedef {import('../pkg/fashion_trainer.js').WebStudy} WebStudy */

/** @type {WebStudy | null} */
let study = null;
let active = false; // the worker runs the study's runs (until it finishes, fails or is cancelled)
/** @type {import('../js/protocol.js').BackendChoice} */
let backend = 'auto';
/** @type {SavedRun[]} The page's saved states of cut-off runs; the next run resumes from its own. */
let saved = [];

// The study is never freed or replaced while its next run is being made (an async call).
const queue = serial();

/** Where the study stands, for the page. @returns {StudyState} */
function state() {
  return { view: study.view(), study: study.study(), resumeFrom: study.resumeFrom(saved) ?? null, active };
}

function replace(next) {
  return queue(() => {
    study?.free();
    study = next;
  });
}

/** A new study; its first run starts at once. @param {Requests['study-start']} msg */
export async function studyStart({ config, backend: choice }) {
  await loadApi();
  if (isBusy()) throw new Error('pause or cancel the run in progress first');
  dataStore();
  await replace(new (wasm().WebStudy)(config));
  saved = [];
  return go(choice);
}

/** A saved study, e.g. after a reload; it continues when asked. @param {Requests['study-open']} msg */
export async function studyOpen({ study: stored, saved: points }) {
  await loadApi();
  if (active) throw new Error('a study is running');
  await replace(wasm().WebStudy.restore(stored));
  saved = points;
  return state();
}

/** Continues the study from its next run. @param {Requests['study-continue']} msg */
export async function studyContinue({ backend: choice, saved: points }) {
  if (!study) throw new Error('there is no study to continue');
  if (isBusy()) throw new Error('pause or cancel the run in progress first');
  dataStore();
  saved = points;
  return go(choice);
}

function go(choice) {
  backend = choice;
  active = true;
  const reply = state();
  queueMicrotask(() => nextRun().catch((error) => fail(error)));
  return reply;
}

function fail(error) {
  active = false;
  if (isFatal(error)) return;
  post('error', { where: 'study-run', message: error?.message ?? String(error) });
}

async function nextRun() {
  if (!active || !study) return;
  const view = study.view();
  if (!view.next) {
    active = false;
    post('study-state', state());
    return;
  }
  const spec = view.next;
  await begin(() => queue(() => study.trainNext(dataStore(), backend, saved)), {
    studyRun: spec.id,
    spec,
    eta: (progress) => study.etaText(progress) ?? null,
    then: {
      finished: (trainer) => record(trainer, spec.id),
      next: () => {
        if (active) nextRun().catch((error) => fail(error));
      },
      failed: stopStudy,
    },
  });
}

// A finished run: tested (the trainer's async part), recorded and stored by the page.
async function record(trainer, id) {
  const model = await modelQueue(() => trainer.finish());
  study.record(trainer);
  await useStudyModel(model);
  saved = saved.filter((p) => p.spec?.id !== id);
  if (study.view().is_finished) active = false;
  const current = state();
  post('study-state', current);
  return current.view.queue.find((q) => q.id === id)?.test_top1 ?? null;
}

/** Stops after the run in progress (its own cancel stops that). */
export function stopStudy() {
  active = false;
}

/** The report of the study so far. @param {Requests['study-report']} msg */
export async function studyReport({ format, catalogue }) {
  if (!study) throw new Error('there is no study');
  const section = catalogue ? catalogueSection() : null;
  return { text: study.report(format, section ?? undefined) };
}

/** Forgets the study. */
export async function studyDiscard() {
  if (active) throw new Error('stop the study first');
  await replace(null);
  saved = [];
  return {};
}
