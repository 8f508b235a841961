// @ts-check
// The page's Web Worker: it owns the wasm core, the data, the run, the study and the catalogue,
// so nothing the core does ever blocks the page. Messages are listed in js/protocol.js; each
// request is answered by one `reply` or `error` with its `id`, and the work posts events.

import { checkAlive, isFatal, loadApi, messageOf, post, scope, wasm } from './worker/core.js';
import { ShardError, dataStore, hasData, loadData, probeAdapter } from './worker/data.js';
import { watchGpuDevices } from './worker/gpu.js';
import * as runs from './worker/runs.js';
import { backendSpeeds } from './worker/speeds.js';
import { cameraFrame, photo, photoTransfer, predictMany } from './worker/photos.js';
import * as catalogue from './worker/catalogue.js';
import * as study from './worker/study.js';

/** @typedef {import('./js/protocol.js').Requests} Requests */
/** @typedef {import('./js/protocol.js').Replies} Replies */

let starting = /** @type {Promise<void> | null} */ (null);

// Before the core asks for a GPU device: a lost one must be noticed.
watchGpuDevices(runs.onGpuLost);

// Loads the core, tells the page what it offers, then loads the data (once; again after a failure).
async function init() {
  starting ??= (async () => {
    try {
      await loadApi();
    } catch (error) {
      post('error', { where: 'init', message: `Could not load the trainer (pkg/fashion_trainer.js): ${messageOf(error)}` });
      return;
    }
    try {
      post('wasm-ready', { info: wasm().pageInfo() });
    } catch (error) {
      post('error', { where: 'init', message: `The trainer failed to start: ${messageOf(error)}` });
      return;
    }
    const adapter = probeAdapter();
    if (!hasData()) {
      try {
        await loadData();
      } catch (error) {
        const shard = error instanceof ShardError ? error.shard : null;
        post('error', { where: 'data', shard, message: `Could not load Fashion-MNIST: ${messageOf(error)}` });
        return;
      }
    }
    const store = dataStore();
    const found = await adapter;
    // With a GPU, `auto` follows how fast each backend trains here.
    let speeds = null;
    if (found) {
      post('measuring', {});
      const measured = await backendSpeeds();
      speeds = {
        summary: measured.speeds ? wasm().speedsSummary(measured.speeds) : null,
        remembered: measured.remembered,
        failed: measured.failed,
      };
    }
    post('ready', { trainCount: store.trainCount(), testCount: store.testCount(), adapter: found, speeds });
  })().finally(() => {
    starting = null;
  });
  await starting;
  return {};
}

/** @param {Requests['start']} msg */
async function start({ label, config, backend, gpuBatches, limit }) {
  await runs.begin(() => wasm().WebTrainer.create(dataStore(), { label, config, backend, gpu_batches: gpuBatches, limit_train: limit ?? undefined, limit_eval: limit ?? undefined }));
  return {};
}

/** Continues a run cut off by a reload from its last finished epoch. @param {Requests['resume-run']} msg */
async function resumeRun({ label, config, backend, limit, resume }) {
  await runs.begin(() =>
    wasm().WebTrainer.create(dataStore(), { label, config, backend, limit_train: limit ?? undefined, limit_eval: limit ?? undefined, resume }),
  );
  return {};
}

/**
 * Every request's handler; each returns its reply (or throws, which becomes an `error` reply).
 * @type {{[K in keyof Requests]: (msg: Requests[K]) => Promise<Replies[K]> | Replies[K]}}
 */
const handlers = {
  init,
  'check-config': async ({ form }) => (await loadApi()).checkConfig(form),
  describe: async ({ runs }) => {
    const api = await loadApi();
    // One unreadable stored config must not take the others' descriptions with it.
    const describe = ({ config, limit }) => {
      try {
        return api.describeRun(config, limit ?? undefined);
      } catch {
        return '';
      }
    };
    return { descriptions: runs.map(describe) };
  },
  'check-study': async ({ form }) => (await loadApi()).checkStudy(form),
  start,
  'resume-run': resumeRun,
  workers: async (msg) => {
    await loadApi();
    return runs.setWorkers(msg);
  },
  pause: runs.pause,
  resume: runs.resume,
  cancel: async () => {
    study.stopStudy();
    return runs.cancel();
  },
  evaluate: runs.evaluate,
  'test-images': runs.testImages,
  export: runs.exportWeights,
  'load-weights': runs.loadWeights,
  inside: runs.inside,
  kernels: runs.kernels,
  predict: runs.predict,
  photo,
  'camera-frame': cameraFrame,
  'predict-inputs': predictMany,
  'catalogue-source': catalogue.catalogueSource,
  'catalogue-plan': catalogue.cataloguePlan,
  'catalogue-evaluate': catalogue.catalogueEvaluate,
  'catalogue-cancel': catalogue.catalogueCancel,
  'catalogue-photos': catalogue.cataloguePhotos,
  'study-start': study.studyStart,
  'study-open': study.studyOpen,
  'study-continue': study.studyContinue,
  'study-report': study.studyReport,
  'study-discard': study.studyDiscard,
};

/** What a reply can hand over without a copy. */
function transferables(type, reply) {
  switch (type) {
    case 'photo':
    case 'camera-frame':
      return photoTransfer(reply);
    case 'export':
      return [reply.bytes.buffer];
    case 'predict':
      return [reply.probs.buffer];
    case 'test-images':
      return [reply.pixels.buffer];
    case 'catalogue-photos':
      return reply.photos.map((p) => p.bytes.buffer);
    default:
      return [];
  }
}

scope.addEventListener('message', async ({ data: msg }) => {
  const { type, id, ...fields } = msg ?? {};
  const handler = handlers[type];
  try {
    checkAlive();
    if (!handler) throw new Error(`unknown message type "${type}"`);
    const reply = await handler(fields);
    scope.postMessage({ type: 'reply', id, ...reply }, transferables(type, reply));
  } catch (error) {
    isFatal(error);
    scope.postMessage({ type: 'error', id, where: type ?? 'protocol', message: messageOf(error) });
  }
});

scope.addEventListener('unhandledrejection', (event) => {
  if (!isFatal(event.reason)) post('error', { where: 'worker', message: messageOf(event.reason) });
});
