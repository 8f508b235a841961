// @ts-check
// The run in the worker: a WebTrainer stepped a chunk at a time with pause, resume and cancel
// between chunks, and the model the page's evaluations and predictions use (the run's best
// epoch so far, or weights loaded from a file).

import { dataStore } from './data.js';
import { isFatal, memoryUse, messageOf, ownBytes, post, serial, wasm } from './core.js';
import { afterEpoch } from './faults.js';
import { gpuCalls, gpuLostWithin } from './gpu.js';
import { WorkerPeers } from './peers.js';

/** @typedef {import('../pkg/fashion_trainer.js').WebTrainer} WebTrainer */
/** @typedef {import('../pkg/fashion_trainer.js').WebModel} WebModel */
/** @typedef {import('../js/protocol.js').Requests} Requests */
/** @typedef {import('../js/protocol.js').ModelInfo} ModelInfo */
/** @typedef {import('../js/protocol.js').NoPrediction} NoPrediction */

// A chunk of training between progress reports (pause and cancel answer within one). Each report
// is work for the page's main thread that competes with the workers for the cores: reported every
// 8 batches (~50 ms), two workers on two cores trained ~8 % slower (README, "Benchmarks").
const CHUNK_MILLIS = 250;
const MAX_GALLERY = 24;

/** @type {WebTrainer | null} */
let trainer = null;
/** @type {'idle' | 'running' | 'paused' | 'done'} */
let mode = 'idle';
let generation = 0; // bumped by every start and cancel, so a trainer made after a cancel is dropped
/** What a study does once its run's epochs are done, after it, and when it fails. */
let hooks = /** @type {StudyHooks | null} */ (null);
/** True while a finished study run is being tested and recorded. */
let finishing = false;
/** The study run being trained, if any. */
let studyRun = null;
/** Where the run trains (`cpu` or `gpu`), known without calling into a trainer that is stepping. */
let runBackend = '';
/** The study's remaining time for a progress report, when the run is a study's. */
let studyEta = null;

/** Workers that train a CPU run (this one and its helpers), as the page's setting says. */
let workerCount = 1;
/** The helpers of the run in hand. @type {WorkerPeers | null} */
let peers = null;

/** Sets how many workers train the next CPU runs (checked by the core). @param {{count: number}} msg */
export function setWorkers({ count }) {
  workerCount = wasm().setWorkers(count);
  return {};
}

/** The model predictions and evaluations use, with the stored run it came from and its backend. */
let model = /** @type {{model: WebModel, runId: string | null, backend: string} | null} */ (null);
let modelEpoch = 0; // the best epoch `model` holds, when it comes from the trainer
/** The predicted class of every test image, from the last evaluation. */
let predictions = /** @type {Uint8Array | null} */ (null);

// Every call into the trainer and the model goes through this queue (see serial()); a new one
// replaces it when the GPU is lost, so a call stuck on the lost device holds nothing up.
let queue = serial();

/** True while a run trains or is paused: nothing else may replace the model then. */
export const isBusy = () => mode === 'running' || mode === 'paused';

/**
 * Starts a run from `create()` (a new WebTrainer). For a study's run, `then.finished(trainer)`
 * runs once every epoch is done, before the `done` event (the study tests and records the run
 * there and returns its test top-1), `then.next()` after it, and `then.failed()` when the run
 * stops on an error.
 * @param {() => Promise<WebTrainer>} create
 * @param {{studyRun?: string | null, spec?: import('../js/protocol.js').RunSpec | null, eta?: ((p: any) => string | null) | null, then?: StudyHooks | null}} [options]
 */
export async function begin(create, options = {}) {
  if (mode === 'running') throw new Error('a run is already in progress: pause or cancel it first');
  dataStore();
  const gen = ++generation;
  await dropTrainer();
  await setModel(null);
  const created = await create();
  if (gen !== generation) {
    created.free(); // cancelled while the trainer was being created
    return;
  }
  try {
    await sharePerCore(created, gen);
  } catch (error) {
    created.free();
    throw error;
  }
  if (gen !== generation) {
    created.free();
    return;
  }
  trainer = created;
  mode = 'running';
  hooks = options.then ?? null;
  studyRun = options.studyRun ?? null;
  studyEta = options.eta ?? null;
  modelEpoch = 0;
  const { backend, reason } = created.device;
  runBackend = backend;
  post('started', {
    label: created.label,
    description: created.description,
    summaryText: created.summaryText,
    config: created.config,
    backend,
    backendReason: reason,
    studyRun,
    spec: options.spec ?? null,
    resumed: created.history().length > 0,
  });
  // A resumed run already has a best epoch: its weights are the model until a better one comes.
  await refreshModelFromTrainer();
  runLoop();
}

/**
 * @typedef {{finished: (t: WebTrainer) => Promise<number | null>, next: () => void, failed: () => void}} StudyHooks
 */

/**
 * A CPU run trains on `workerCount` workers: helpers with replicas of its weights share each
 * batch. A GPU run keeps one.
 * @param {WebTrainer} created
 * @param {number} gen
 */
async function sharePerCore(created, gen) {
  stopPeers();
  if (workerCount < 2 || created.device.backend !== 'cpu') return;
  const weights = await created.replicaWeights();
  const started = await WorkerPeers.start(workerCount - 1, created.config, weights);
  if (gen !== generation) {
    started.stop();
    return;
  }
  peers = started;
  created.usePeers(started);
}

function stopPeers() {
  peers?.stop();
  peers = null;
}

// One loop steps the trainer; a newer loop (a new run, a resume) makes an older one stop.
let loopToken = 0;

async function runLoop() {
  const mine = ++loopToken;
  const t = trainer;
  const live = () => mine === loopToken && t === trainer;
  try {
    while (mode === 'running' && live()) {
      const report = await queue(() => t.step(CHUNK_MILLIS));
      if (!live()) return; // cancelled or replaced while stepping
      const { saved, ...progress } = report;
      if (report.notice) stopPeers(); // the trainer goes on alone
      post('progress', { ...progress, studyRun, studyEta: studyEta?.(progress.progress) ?? null });
      if (saved) {
        const record = progress.progress.finished_epoch;
        const best = saved.best ? ownBytes(saved.best) : null;
        const latest = ownBytes(saved.latest);
        const kernels = wasm().kernelTiles(latest);
        const epoch = { record, bestEpoch: progress.best_epoch, latest, best, kernels, summary: progress.epoch_summary, memory: memoryUse(), gpuCalls: { ...gpuCalls } };
        post('epoch', epoch, [latest.buffer, ...(best ? [best.buffer] : [])]);
        if (best) await refreshModelFromTrainer();
        afterEpoch(record.epoch);
      }
      if (t.isDone()) {
        await finishRun(t);
        return;
      }
      await wasm().yieldToEventLoop(); // let pause, cancel and other messages in
    }
  } catch (error) {
    if (isFatal(error)) return; // the page replaces this worker
    // A GPU step fails when the device is lost; the loss itself is handled by onGpuLost.
    if (runBackend === 'gpu') await gpuLostWithin(250);
    // An error from a trainer that was already cancelled or replaced concerns nobody.
    if (!live()) return;
    const where = finishing ? 'study-run' : 'train';
    const message = finishing ? `The study run could not be tested and recorded: ${messageOf(error)}` : `Training stopped: ${messageOf(error)}`;
    const failed = hooks?.failed;
    await dropTrainer().catch(() => {});
    await setModel(null).catch(() => {});
    failed?.();
    post('error', { where, message });
  }
}

// Every epoch is done: a study's run is tested and recorded first; then the page hears.
async function finishRun(t) {
  mode = 'done';
  const study = hooks;
  let testTop1 = null;
  if (study) {
    finishing = true;
    try {
      testTop1 = await study.finished(t);
    } finally {
      finishing = false;
    }
  } else {
    await refreshModelFromTrainer();
  }
  post('done', { history: t.history(), bestEpoch: t.bestEpoch, studyRun, testTop1 });
  study?.next();
}

/** Pauses after the chunk in flight. */
export async function pause() {
  if (mode === 'running') mode = 'paused';
  await queue(() => {}); // answer once the chunk in flight has finished
  post('paused', {});
  return {};
}

/** Continues a paused run. */
export async function resume() {
  if (mode !== 'paused' || !trainer) throw new Error('there is no paused run to resume');
  mode = 'running';
  post('resumed', {});
  runLoop();
  return {};
}

/**
 * Stops the run and forgets it; a study's run that is being tested is let finish (the study
 * stops after it) and the reply says so.
 */
export async function cancel() {
  if (finishing) return { finishing: true };
  generation++;
  loopToken++;
  await dropTrainer();
  await setModel(null);
  post('cancelled', {});
  return { finishing: false };
}

/** Forgets the run in hand (its trainer, hooks and study run); the caller frees the trainer. */
function forgetRun() {
  stopPeers();
  trainer = null;
  mode = 'idle';
  hooks = null;
  studyRun = null;
  studyEta = null;
  runBackend = '';
}

async function dropTrainer() {
  const old = trainer;
  forgetRun();
  // Queued, so a step still in flight finishes before the memory goes.
  if (old) await queue(() => old.free());
}

/**
 * The GPU device is lost: the core drops its cached device (later runs get the CPU), and a run
 * or model on it is dropped unfreed (a step may still hold it; nothing may touch the device
 * again). The page continues the run on the CPU from its last finished epoch.
 * @param {string} reason The browser's reason.
 */
export function onGpuLost(reason) {
  wasm().dropGpuDevice(reason);
  const run = trainer !== null && runBackend === 'gpu';
  const lostRun = studyRun;
  if (run) {
    const failed = hooks?.failed;
    generation++;
    loopToken++;
    forgetRun();
    failed?.(); // a study stops; the page continues it
  }
  if (model?.backend === 'gpu') {
    model = null;
    predictions = null;
    modelEpoch = 0;
    post('model', { model: null });
  }
  if (run) queue = serial();
  post('gpu-lost', { message: reason, run, studyRun: run ? lostRun : null });
}

/** Replaces the model (freeing the old one) and tells the page. */
export async function setModel(next, runId = null) {
  const old = model?.model;
  model = next ? { model: next, runId, backend: next.device.backend } : null;
  predictions = null;
  if (old) await queue(() => old.free());
  post('model', { model: modelInfo() });
}

/** @returns {ModelInfo | null} */
function modelInfo() {
  if (!model) return null;
  const m = model.model;
  const { backend, reason } = m.device;
  return { name: m.name, description: m.description, backend, backendReason: reason, runId: model.runId, exports: m.exportFormats };
}

// The trainer's best epoch so far becomes the model, so photos get its predictions while training.
async function refreshModelFromTrainer() {
  const t = trainer;
  if (!t || t.bestEpoch === modelEpoch) return;
  const best = await queue(() => t.bestModel());
  modelEpoch = t.bestEpoch;
  if (best) await setModel(best);
}

function requireModel() {
  if (!model) throw new Error('there is no model: train a run or load weights first');
  return model.model;
}

function requireIdleModel() {
  if (mode === 'running') throw new Error('pause the run first');
  return requireModel();
}

/** @param {Requests['evaluate']} msg */
export async function evaluate({ limit }) {
  const m = requireIdleModel();
  const { predictions: predicted, ...summary } = await queue(() => m.evaluate(dataStore(), { split: 'test', limit: limit ?? undefined }));
  if (m !== model?.model) throw new Error('the model was replaced during the evaluation');
  predictions = predicted;
  return summary;
}

/** @param {Requests['test-images']} msg */
export async function testImages({ label, predicted }) {
  if (!predictions) throw new Error('evaluate the model on the test set first');
  return dataStore().cellImages(predictions, label, predicted, MAX_GALLERY);
}

/** The model's weights in `format` (.ftw, safetensors or ONNX). @param {Requests['export']} msg */
export async function exportWeights({ format }) {
  const m = requireIdleModel();
  const bytes = ownBytes(await queue(() => m.exportAs(format)));
  const extension = m.exportFormats.find((f) => f.format === format)?.extension ?? '.bin';
  return { bytes, name: m.name, extension };
}

/** Weights from a file or a stored run become the model. @param {Requests['load-weights']} msg */
export async function loadWeights({ bytes, backend, runId, bestEpoch, fileName }) {
  if (isBusy()) throw new Error('cancel the current run before loading weights');
  const loaded = await wasm().WebModel.fromBytes(ownBytes(bytes), backend, bestEpoch ?? undefined, fileName ?? undefined);
  generation++;
  await dropTrainer();
  modelEpoch = 0;
  await setModel(loaded, runId);
  return modelInfo();
}

/**
 * Inside the model for one image: kernels, feature maps, saliency; `millis` is the core's time.
 * @param {Requests['inside']} msg
 */
export async function inside({ pixels, explain }) {
  const m = requireModel();
  return queue(async () => {
    const started = performance.now();
    const view = await m.inside(pixels, explain ?? undefined);
    return { ...view, millis: performance.now() - started };
  });
}

/** The model's first-layer kernels. */
export async function kernels() {
  const m = requireModel();
  return { kernels: await queue(() => m.kernels()) };
}

/** @param {Requests['predict']} msg */
export async function predict({ pixels }) {
  const m = requireModel();
  return { probs: await queue(() => m.predict(pixels)) };
}

/**
 * Probabilities of each 784-byte input from the current model, or why there are none.
 * @param {Uint8Array[]} inputs
 * @returns {Promise<{probs: Float32Array[] | null, noPrediction: NoPrediction}>}
 */
export async function predictInputs(inputs) {
  const m = model?.model;
  if (!m) return { probs: null, noPrediction: trainer ? 'training' : 'none' };
  const joined = new Uint8Array(inputs.length * 784);
  inputs.forEach((input, i) => joined.set(input, i * 784));
  const all = await queue(() => m.predict(joined));
  return { probs: inputs.map((_, i) => all.slice(i * 10, i * 10 + 10)), noPrediction: null };
}

/** The model, for a catalogue evaluation. */
export const currentModel = () => requireIdleModel();

/** The queue the model's calls go through. @type {ReturnType<typeof serial>} */
export const modelQueue = (fn) => queue(fn);

/** The label saved with the model's weights (a study run's id), for reports. */
export const modelLabel = () => model?.model.label ?? 'model';

/** What the page calls the model (`v1, best epoch 12`). */
export const modelName = () => model?.model.name ?? 'model';

/** The finished study run `t` has been recorded: its model becomes the page's model. */
export async function useStudyModel(next) {
  modelEpoch = 0;
  await setModel(next);
}
