// Module worker that owns the wasm module, the data and the trainer, so training never blocks
// the page. Every request may carry an `id`; its reply (or its `error`) carries the same `id`.
//
// UI → worker: init, summary {config}, start {config, label, backend, limitTrain, limitEval},
//   pause, resume, cancel, evaluate, export, import {bytes, config, label, backend, limitTrain,
//   limitEval}, predict {pixels}, test-images {true, pred}, photo {bytes, mode},
//   predict-inputs {inputs}, catalogue-plan {styles?, labelMap, mode},
//   catalogue-open {token, styles, labelMap, mode}, catalogue-add {token, photos: [{id, bytes}],
//   missing: [id]}, catalogue-evaluate {token}, catalogue-close {token},
//   study-plan {settings}, study-open {study}, study-run {spec, label, backend},
//   study-record {study, spec, seconds}, study-report {study, format, catalogue?}
// worker → UI: wasm-ready {presets, classNames}, data-progress {loaded, total, totalKnown, shard,
//   shardsDone, shardCount, fromCache}, ready {backend, trainCount, testCount}, summary {text,
//   totalParams}, started {backend, backendReason, summaryText, label}, progress {…Progress},
//   epoch {record}, done {history, bestEpoch}, paused, resumed, cancelled, report {accuracy, loss,
//   text, report}, weights {bytes}, imported {backend, backendReason, label, config},
//   prediction {probs}, images {true, pred, images, indices, total}, photo {width, height, crop,
//   objectFound, mirrored, worn, square, resized, grayscale, inverted, input, probs, noPrediction},
//   predictions {probs, noPrediction}, catalogue-plan {plan}, catalogue-opened {plan, ids},
//   catalogue-added {collected, skipped}, catalogue-result {result, inputs}, catalogue-closed,
//   study-state {study, queue, finished, total, isFinished, next, recorded?}, study-report {text},
//   error {message, where, shard?}
//
// A study lives in the page as JSON (kept in IndexedDB); each study call rebuilds the WebStudy
// from that JSON and answers with the new JSON, so the worker holds no study state. A study run
// trains like any other run (started, progress, epoch, done), from WebTrainer.forRun.
//
// Photo and catalogue decoding runs here too: a 40-megapixel photo never blocks the page.

const CACHE_NAME = 'fashion-shards-v1';
const DATA_DIR = new URL('./data/', import.meta.url);
const MANIFEST_URL = new URL('manifest.json', DATA_DIR).href;
const CHUNK_BATCHES = 8;
const MAX_GALLERY = 24;
const PROGRESS_INTERVAL_MS = 100;

let api = null; // exports of ./pkg/fashion_trainer.js once initialised
let apiLoading = null;
let store = null; // DataStore holding every verified shard
let initRunning = null;
let trainer = null; // the current WebTrainer, or null
let mode = 'idle'; // 'idle' | 'running' | 'paused' | 'done' | 'loaded'
let generation = 0; // bumped by start/cancel so a trainer created after a cancel is dropped
let looping = false;
let predictions = null; // the last test evaluation's predictions, for the confusion-cell gallery

const post = (type, data = {}, transfer = []) => self.postMessage({ type, ...data }, transfer);

function messageOf(error) {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (error && typeof error.message === 'string') return error.message;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

// wasm-bindgen objects refuse a second call while an async method still borrows them, so every
// call into the trainer goes through this queue, one at a time.
let queue = Promise.resolve();
function withTrainer(fn) {
  const run = queue.then(fn);
  queue = run.catch(() => {});
  return run;
}

function loadApi() {
  apiLoading ??= (async () => {
    const mod = await import('./pkg/fashion_trainer.js');
    await mod.default();
    api = mod;
    return mod;
  })().catch((error) => {
    apiLoading = null; // let a retry try again
    throw error;
  });
  return apiLoading;
}

// ---------------------------------------------------------------------------------------------
// Data: manifest, shard download with byte progress, Cache API, verification.

class ShardError extends Error {
  constructor(shard, message) {
    // The wasm errors already name the shard; say it once.
    super(message.includes(shard) ? message : `data shard ${shard}: ${message}`);
    this.shard = shard;
  }
}

async function openCache() {
  try {
    return 'caches' in self ? await caches.open(CACHE_NAME) : null;
  } catch {
    return null; // storage disabled or an insecure origin: work without an offline copy
  }
}

// Network first so a new data release is seen; the cached copy keeps the page working offline.
async function loadManifest(cache) {
  let networkError;
  try {
    const response = await fetch(MANIFEST_URL, { cache: 'no-cache' });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    const text = await response.text();
    const manifest = JSON.parse(text);
    await cache
      ?.put(MANIFEST_URL, new Response(text, { headers: { 'content-type': 'application/json' } }))
      .catch(() => {});
    return manifest;
  } catch (error) {
    networkError = error;
  }
  const cached = await cache?.match(MANIFEST_URL);
  if (cached) return cached.json();
  throw new Error(`could not load data/manifest.json (${messageOf(networkError)})`);
}

function checkManifest(manifest) {
  if (manifest?.version !== 1) {
    throw new Error(`data/manifest.json has version ${manifest?.version}, this page reads version 1`);
  }
  const shards = manifest.shards;
  if (!Array.isArray(shards) || shards.length === 0) {
    throw new Error('data/manifest.json lists no shards');
  }
  for (const shard of shards) {
    if (typeof shard?.file !== 'string' || typeof shard?.sha256 !== 'string') {
      throw new Error('data/manifest.json has a shard without "file" or "sha256"');
    }
  }
  return shards;
}

// Sums byte progress over shards that download at the same time, posting at most every 100 ms.
class ByteMeter {
  constructor(shards) {
    this.files = shards.map((s) => s.file);
    this.loaded = shards.map(() => 0);
    this.total = shards.map((s) => (Number.isFinite(s.bytes) ? s.bytes : null));
    this.done = shards.map(() => false);
    this.lastPost = 0;
  }

  update(i, loaded, total, { done = false, fromCache = false } = {}) {
    this.loaded[i] = loaded;
    // A gzip-encoded response reports its compressed length, so never let total fall below loaded.
    if (total != null) this.total[i] = Math.max(total, loaded);
    this.done[i] = done;
    const now = performance.now();
    if (!done && now - this.lastPost < PROGRESS_INTERVAL_MS) return;
    this.lastPost = now;
    const totalKnown = this.total.every((t) => t != null);
    post('data-progress', {
      loaded: this.loaded.reduce((a, b) => a + b, 0),
      total: this.total.reduce((a, t, j) => a + (t ?? this.loaded[j]), 0),
      totalKnown,
      shard: this.files[i],
      shardsDone: this.done.filter(Boolean).length,
      shardCount: this.files.length,
      fromCache,
    });
  }
}

// `refetch` skips both the Cache API and the HTTP cache, for a cached copy that failed to verify.
async function getShard(shard, i, cache, meter, signal, { refetch = false } = {}) {
  const url = new URL(shard.file, DATA_DIR).href;
  const cached = refetch ? undefined : await cache?.match(url);
  if (cached) {
    const bytes = new Uint8Array(await cached.arrayBuffer());
    meter.update(i, bytes.length, bytes.length, { done: true, fromCache: true });
    return { bytes, fromCache: true };
  }
  let response;
  try {
    // With our own Cache API copy, the HTTP cache would only hold a second (possibly stale) one.
    const mode = refetch ? 'reload' : cache ? 'no-store' : 'default';
    response = await fetch(url, { signal, cache: mode });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new ShardError(shard.file, `download failed (${messageOf(error)})`);
  }
  if (!response.ok) {
    throw new ShardError(shard.file, `download failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
  const length = Number(response.headers.get('content-length')) || null;
  const chunks = [];
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    meter.update(i, loaded, length);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  meter.update(i, loaded, loaded, { done: true });
  return { bytes, fromCache: false };
}

async function loadData() {
  const cache = await openCache();
  const shards = checkManifest(await loadManifest(cache));
  const meter = new ByteMeter(shards);
  const abort = new AbortController();
  // Start every download at once so the total size is known early. Shards are added below in
  // manifest order, because that order decides which training images are the validation set.
  const downloads = shards.map((shard, i) =>
    getShard(shard, i, cache, meter, abort.signal).then(
      (value) => ({ value }),
      (error) => ({ error }),
    ),
  );
  const fresh = new api.DataStore();
  const failures = [];
  try {
    for (const [i, shard] of shards.entries()) {
      const url = new URL(shard.file, DATA_DIR).href;
      try {
        const got = await downloads[i];
        if (got.error) throw got.error;
        let { bytes, fromCache } = got.value;
        try {
          await fresh.addShard(shard.file, bytes, shard.sha256);
        } catch (error) {
          if (!fromCache) throw new ShardError(shard.file, messageOf(error));
          // A stale or damaged offline copy: drop it and fetch the shard once more.
          await cache.delete(url);
          ({ bytes, fromCache } = await getShard(shard, i, cache, meter, abort.signal, { refetch: true }));
          try {
            await fresh.addShard(shard.file, bytes, shard.sha256);
          } catch (retryError) {
            throw new ShardError(shard.file, messageOf(retryError));
          }
        }
        // Only verified bytes are cached, so the cache never serves a corrupt shard twice.
        if (!fromCache) await cache?.put(url, new Response(bytes)).catch(() => {});
      } catch (error) {
        // Keep going: the other shards get verified and cached, and the error names every bad one.
        await cache?.delete(url).catch(() => {});
        failures.push(error instanceof ShardError ? error : new ShardError(shard.file, messageOf(error)));
      }
    }
  } catch (error) {
    abort.abort();
    fresh.free?.();
    throw error;
  }
  if (failures.length > 0) {
    fresh.free?.();
    const error = new Error(failures.map((f) => f.message).join('; '));
    error.shard = failures.map((f) => f.shard).join(', ');
    throw error;
  }
  store?.free?.();
  store = fresh;
}

// A hint for the notice before any run; the trainer makes the real choice and gives its reason.
async function probeBackend() {
  const probe = (async () => {
    try {
      return navigator.gpu && (await navigator.gpu.requestAdapter()) ? 'gpu' : 'cpu';
    } catch {
      return 'cpu';
    }
  })();
  // Some drivers take long to answer; the page must not wait on a hint.
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 3000));
  return Promise.race([probe, timeout]);
}

// ---------------------------------------------------------------------------------------------
// Handlers. Each may throw; the dispatcher turns that into an `error` reply.

async function init({ id }) {
  initRunning ??= (async () => {
    try {
      await loadApi();
    } catch (error) {
      post('error', {
        id,
        where: 'init',
        message: `Could not load the trainer (pkg/fashion_trainer.js): ${messageOf(error)}`,
      });
      return;
    }
    try {
      post('wasm-ready', {
        presets: JSON.parse(api.presets()),
        classNames: Array.from(api.classNames()),
        labelMap: api.defaultLabelMap?.() ?? '',
      });
    } catch (error) {
      post('error', { id, where: 'init', message: `The trainer failed to start: ${messageOf(error)}` });
      return;
    }
    const backendProbe = probeBackend();
    if (!store) {
      try {
        await loadData();
      } catch (error) {
        post('error', {
          id,
          where: 'data',
          shard: error.shard ?? null,
          message: `Could not load Fashion-MNIST: ${messageOf(error)}`,
        });
        return;
      }
    }
    post('ready', { id, backend: await backendProbe, trainCount: store.trainCount(), testCount: store.testCount() });
  })().finally(() => {
    initRunning = null;
  });
  return initRunning;
}

async function summary({ id, config }) {
  await loadApi();
  const json = JSON.stringify(config);
  const text = api.modelSummaryText(json);
  let totalParams = null;
  try {
    totalParams = JSON.parse(api.modelSummary(json)).total_params;
  } catch {
    // the text table is what matters; the count is a nicety
  }
  post('summary', { id, text, totalParams });
}

function requireStore() {
  if (!store) throw new Error('the data is not loaded yet');
  return store;
}

function requireTrainer() {
  if (!trainer) throw new Error('there is no model: start a run or load weights first');
  return trainer;
}

async function dropTrainer() {
  const old = trainer;
  trainer = null;
  mode = 'idle';
  predictions = null;
  // Queued, so a step still in flight finishes before the memory goes.
  if (old) await withTrainer(() => old.free());
}

function createTrainer({ config, label, backend = 'auto', limitTrain = 0, limitEval = 0 }) {
  return api.WebTrainer.create(
    JSON.stringify(config),
    String(label ?? ''),
    backend,
    requireStore(),
    Math.max(0, Math.floor(Number(limitTrain) || 0)),
    Math.max(0, Math.floor(Number(limitEval) || 0)),
  );
}

async function start(msg) {
  await begin(msg, () => createTrainer(msg));
}

// Continues an interrupted run from the weights saved after its last finished epoch.
async function resumeRun(msg) {
  await begin(msg, () =>
    api.WebTrainer.resume(
      JSON.stringify(msg.config),
      String(msg.label ?? ''),
      msg.backend ?? 'auto',
      requireStore(),
      Math.max(0, Math.floor(Number(msg.limitTrain) || 0)),
      Math.max(0, Math.floor(Number(msg.limitEval) || 0)),
      JSON.stringify(msg.history ?? []),
      msg.latest,
      msg.best ?? undefined,
      Number(msg.bestEpoch) || 0,
    ),
  );
}

async function begin(msg, create) {
  if (mode === 'running') throw new Error('a run is already in progress: pause or cancel it first');
  requireStore();
  const gen = ++generation;
  await dropTrainer();
  const created = await create();
  if (gen !== generation) {
    created.free(); // cancelled while the trainer was being created
    return;
  }
  trainer = created;
  mode = 'running';
  let summaryText = '';
  try {
    summaryText = api.modelSummaryText(created.configJson());
  } catch {
    // the run can go on without its summary
  }
  post('started', {
    id: msg.id,
    backend: created.backend,
    backendReason: created.backendReason,
    summaryText,
    label: msg.label,
  });
  runLoop();
}

// step() may hand back a plain object, a Map or a JSON string depending on how it is serialised.
function plain(value) {
  if (typeof value === 'string') return JSON.parse(value);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, plain(v)]));
  return value;
}

async function runLoop() {
  if (looping) return; // the running loop sees mode === 'running' again and carries on
  looping = true;
  let t = null;
  try {
    while (mode === 'running' && trainer) {
      t = trainer;
      const { progress, finished, saved } = await withTrainer(async () => {
        const progress = plain(await t.step(CHUNK_BATCHES));
        const isDone = progress.phase === 'done' || t.isDone();
        const finished = isDone ? { history: JSON.parse(t.historyJson()), bestEpoch: t.bestEpoch() } : null;
        // After each epoch keep the weights, so a run cut off by a reload can be resumed; when
        // this epoch is the best so far they are also the run's best weights.
        let saved = null;
        if (progress.finished_epoch) {
          const latest = await t.exportLatestWeights();
          const bestEpoch = t.bestEpoch();
          saved = { latest, best: bestEpoch === progress.finished_epoch.epoch ? latest.slice() : null, bestEpoch };
        }
        return { progress, finished, saved };
      });
      if (t !== trainer) continue; // cancelled or replaced while stepping: the loop condition decides
      const record = progress.finished_epoch ?? null;
      post('progress', { ...progress, finished_epoch: record });
      if (record) post('epoch', { record, ...saved });
      if (finished) {
        mode = 'done';
        post('done', finished);
        break;
      }
      // Let pause, cancel and other messages in between chunks.
      await api.yieldToEventLoop();
    }
  } catch (error) {
    // An error from a trainer that was already cancelled or replaced concerns nobody.
    if (t === trainer) {
      post('error', { where: 'train', message: `Training stopped: ${messageOf(error)}` });
      await dropTrainer().catch(() => {});
    }
  } finally {
    looping = false;
  }
}

async function pause({ id }) {
  if (mode === 'running') mode = 'paused';
  await withTrainer(() => {}); // reply once the chunk in flight has finished
  post('paused', { id });
}

async function resume({ id }) {
  if (mode !== 'paused' || !trainer) throw new Error('there is no paused run to resume');
  mode = 'running';
  post('resumed', { id });
  runLoop();
}

async function cancel({ id }) {
  generation++;
  await dropTrainer();
  post('cancelled', { id });
}

function requireIdleTrainer() {
  const t = requireTrainer();
  if (mode === 'running') throw new Error('pause the run first');
  return t;
}

async function evaluate({ id }) {
  const t = requireIdleTrainer();
  const result = JSON.parse(await withTrainer(() => t.evaluateTest()));
  if (t !== trainer) throw new Error('the model was replaced during the evaluation');
  predictions = Uint8Array.from(result.predictions ?? []);
  delete result.predictions; // 10,000 bytes the page does not need; the gallery asks for images
  post('report', { id, ...result });
}

async function exportWeights({ id }) {
  const t = requireIdleTrainer();
  // new Uint8Array(...) copies, so transferring never detaches a view of wasm memory.
  const bytes = new Uint8Array(await withTrainer(() => t.exportWeights()));
  post('weights', { id, bytes }, [bytes.buffer]);
}

async function sameModel(t, config) {
  const have = JSON.parse(await withTrainer(() => t.configJson())).model;
  const want = config?.model ?? {};
  return ['conv1_kernels', 'conv2_kernels', 'dropout'].every((k) => Number(have[k]) === Number(want[k]));
}

async function importWeights(msg) {
  if (mode === 'running' || mode === 'paused') {
    throw new Error('cancel the current run before loading weights');
  }
  requireStore();
  const bytes = msg.bytes instanceof Uint8Array ? msg.bytes : new Uint8Array(msg.bytes);
  // Reuse a finished trainer of the same architecture; otherwise build one from the form's config.
  const reuse = trainer && (await sameModel(trainer, msg.config));
  const t = reuse ? trainer : await createTrainer(msg);
  try {
    await withTrainer(() => t.importWeights(bytes));
  } catch (error) {
    if (!reuse) t.free();
    throw error;
  }
  if (!reuse) {
    generation++;
    await dropTrainer();
    trainer = t;
  }
  mode = 'loaded';
  predictions = null;
  post('imported', {
    id: msg.id,
    backend: t.backend,
    backendReason: t.backendReason,
    label: msg.label,
    config: JSON.parse(await withTrainer(() => t.configJson())),
  });
}

async function predict({ id, pixels }) {
  const t = requireTrainer();
  const input = pixels instanceof Uint8Array ? pixels : new Uint8Array(pixels);
  if (input.length !== 784) throw new Error(`an image has 784 pixels, got ${input.length}`);
  const probs = Float32Array.from(await withTrainer(() => t.predict(input)));
  post('prediction', { id, probs }, [probs.buffer]);
}

async function testImages({ id, true: trueClass, pred }) {
  const data = requireStore();
  if (!predictions) throw new Error('evaluate the model on the test set first');
  const images = [];
  const indices = [];
  let total = 0;
  for (let i = 0; i < predictions.length; i++) {
    if (predictions[i] !== pred || data.testLabel(i) !== trueClass) continue;
    total++;
    if (images.length < MAX_GALLERY) {
      images.push(new Uint8Array(data.testImage(i))); // a copy, safe to transfer
      indices.push(i);
    }
  }
  post(
    'images',
    { id, true: trueClass, pred, images, indices, total },
    images.map((a) => a.buffer),
  );
}

// ---------------------------------------------------------------------------------------------
// Photos and product catalogues

// Why there is no prediction: 'none' without a model, 'training' before a run's first epoch ends.
async function predictWithModel(inputs) {
  const t = trainer;
  if (!t) return { probs: null, noPrediction: 'none' };
  return withTrainer(async () => {
    if (t !== trainer) return { probs: null, noPrediction: trainer ? 'training' : 'none' };
    if (mode !== 'loaded' && t.bestEpoch() === 0) return { probs: null, noPrediction: 'training' };
    const probs = [];
    for (const input of inputs) probs.push(Float32Array.from(await t.predict(input)));
    return { probs, noPrediction: null };
  });
}

async function photo({ id, bytes, mode: crop }) {
  await loadApi();
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const steps = api.preprocessPhoto(data, crop === 'center' ? 'center' : 'auto');
  const image = ({ width, height, rgba }) => ({ width, height, rgba });
  const out = {
    width: steps.width,
    height: steps.height,
    crop: steps.crop,
    objectFound: steps.objectFound,
    mirrored: !!steps.mirrored,
    worn: !!steps.worn,
    square: image(steps.square),
    resized: image(steps.resized),
    grayscale: image(steps.grayscale),
    inverted: image(steps.inverted),
    input: new Uint8Array(steps.input),
  };
  const { probs, noPrediction } = await predictWithModel([out.input]);
  const transfer = [out.square, out.resized, out.grayscale, out.inverted].map((i) => i.rgba.buffer);
  if (probs) transfer.push(probs[0].buffer);
  post('photo', { id, ...out, probs: probs?.[0] ?? null, noPrediction }, transfer);
}

async function predictInputs({ id, inputs }) {
  const list = inputs.map((i) => (i instanceof Uint8Array ? i : new Uint8Array(i)));
  for (const input of list) {
    if (input.length !== 784) throw new Error(`an image has 784 pixels, got ${input.length}`);
  }
  const { probs, noPrediction } = await predictWithModel(list);
  post('predictions', { id, probs, noPrediction }, probs ? probs.map((p) => p.buffer) : []);
}

let catalogue = null; // {token, cat: WebCatalogue}

// Like the trainer, the catalogue must never be freed or changed while a call borrows it (the
// evaluation holds it across awaits), so catalogue calls run one at a time too.
let catalogueQueue = Promise.resolve();
function withCatalogue(fn) {
  const run = catalogueQueue.then(fn);
  catalogueQueue = run.catch(() => {});
  return run;
}
const EMPTY_STYLES = new TextEncoder().encode('id,articleType\n');

function newCatalogue(styles, labelMap, crop) {
  const bytes = styles instanceof Uint8Array ? styles : new Uint8Array(styles ?? EMPTY_STYLES);
  return new api.WebCatalogue(bytes, String(labelMap ?? ''), crop === 'center' ? 'center' : 'auto');
}

// Checks the label map (and styles.csv when given) and counts what would be evaluated.
async function cataloguePlan({ id, styles, labelMap, mode: crop }) {
  await loadApi();
  const cat = newCatalogue(styles, labelMap, crop);
  try {
    post('catalogue-plan', { id, plan: JSON.parse(cat.planJson()) });
  } finally {
    cat.free();
  }
}

function closeCatalogue() {
  catalogue?.cat.free();
  catalogue = null;
}

function requireCatalogue(token) {
  if (!catalogue || catalogue.token !== token) throw new Error('the catalogue was closed');
  return catalogue.cat;
}

async function catalogueOpen({ id, token, styles, labelMap, mode: crop }) {
  await loadApi();
  await withCatalogue(() => {
    closeCatalogue();
    const cat = newCatalogue(styles, labelMap, crop);
    catalogue = { token, cat };
    post('catalogue-opened', { id, plan: JSON.parse(cat.planJson()), ids: Array.from(cat.ids()) });
  });
}

const catalogueAdd = (msg) => withCatalogue(() => addToCatalogue(msg));

function addToCatalogue({ id, token, photos = [], missing = [] }) {
  const cat = requireCatalogue(token);
  const skipped = [];
  for (const { id: product, bytes } of photos) {
    try {
      cat.addPhoto(String(product), bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    } catch (error) {
      skipped.push({ id: product, reason: messageOf(error) }); // recorded as skipped; keep going
    }
  }
  for (const product of missing) cat.addMissing(String(product));
  post('catalogue-added', { id, collected: cat.collected(), skipped });
}

const catalogueEvaluate = (msg) => withCatalogue(() => evaluateCatalogue(msg));

async function evaluateCatalogue({ id, token }) {
  const cat = requireCatalogue(token);
  const t = requireIdleTrainer();
  const json = await withTrainer(() => {
    if (t !== trainer) throw new Error('the model was replaced before the evaluation');
    return t.evaluateCatalogue(cat);
  });
  if (!catalogue || catalogue.token !== token) throw new Error('the catalogue was closed');
  const result = JSON.parse(json);
  // The 28x28 inputs of the mistakes, for the gallery (at most 200 of 784 bytes each).
  const inputs = (result.mistakes ?? []).map((m) => {
    try {
      return new Uint8ClampedArray(cat.inputImage(String(m.id)).rgba);
    } catch {
      return null;
    }
  });
  post('catalogue-result', { id, result, inputs }, inputs.filter(Boolean).map((a) => a.buffer));
}

function catalogueClose({ id, token }) {
  return withCatalogue(() => {
    if (catalogue && (token == null || catalogue.token === token)) closeCatalogue();
    post('catalogue-closed', { id });
  });
}

// ---------------------------------------------------------------------------------------------
// Studies

function withStudy(json, fn) {
  const study = api.WebStudy.fromJson(String(json));
  try {
    return fn(study);
  } finally {
    study.free();
  }
}

function studyState(study) {
  return {
    study: study.toJson(),
    queue: JSON.parse(study.queueJson()),
    finished: study.finishedRuns(),
    total: study.totalRuns(),
    isFinished: study.isFinished(),
    next: study.nextRun() ?? null,
  };
}

// A new study from the page's settings (a StudyConfig; missing fields take the published values).
async function studyPlan({ id, settings }) {
  await loadApi();
  const study = new api.WebStudy(JSON.stringify(settings ?? {}));
  try {
    post('study-state', { id, ...studyState(study) });
  } finally {
    study.free();
  }
}

// The queue of a saved study, e.g. after a reload.
async function studyOpen({ id, study }) {
  await loadApi();
  withStudy(study, (s) => post('study-state', { id, ...studyState(s) }));
}

// Trains run `spec` (a RunSpec from the study's next run) on the images the CLI's study uses.
async function studyRun(msg) {
  await begin(msg, () => api.WebTrainer.forRun(String(msg.spec), msg.backend ?? 'auto', requireStore()));
}

// Evaluates the finished run on the test set and records it in the study; `seconds` is its
// training time, to which the test evaluation's time is added.
async function studyRecord({ id, study, spec, seconds }) {
  await loadApi();
  const t = requireTrainer();
  if (mode !== 'done') throw new Error('the study run has not finished');
  const started = performance.now();
  const json = await withTrainer(() => t.studyResult(String(spec), Number(seconds) || 0));
  const result = JSON.parse(json);
  result.seconds = (Number(result.seconds) || 0) + (performance.now() - started) / 1000;
  withStudy(study, (s) => {
    s.record(JSON.stringify(result));
    post('study-state', {
      id,
      ...studyState(s),
      recorded: { id: result.id, testTop1: result.test_report?.accuracy ?? null, bestEpoch: result.best_epoch },
    });
  });
}

async function studyReport({ id, study, format, catalogue }) {
  await loadApi();
  const section = catalogue ? JSON.stringify(catalogue) : undefined;
  const text = withStudy(study, (s) => {
    switch (format) {
      case 'html': return s.reportHtml(section);
      case 'markdown': return s.reportMarkdown(section);
      case 'csv': return s.reportCsv();
      case 'json': return s.reportJson(section);
      default: throw new Error(`unknown report format "${format}"`);
    }
  });
  post('study-report', { id, text });
}

const handlers = {
  init,
  summary,
  start,
  'resume-run': resumeRun,
  pause,
  resume,
  cancel,
  evaluate,
  export: exportWeights,
  import: importWeights,
  predict,
  'test-images': testImages,
  photo,
  'predict-inputs': predictInputs,
  'catalogue-plan': cataloguePlan,
  'catalogue-open': catalogueOpen,
  'catalogue-add': catalogueAdd,
  'catalogue-evaluate': catalogueEvaluate,
  'catalogue-close': catalogueClose,
  'study-plan': studyPlan,
  'study-open': studyOpen,
  'study-run': studyRun,
  'study-record': studyRecord,
  'study-report': studyReport,
};

self.addEventListener('message', async ({ data: msg }) => {
  const handler = handlers[msg?.type];
  if (!handler) {
    post('error', { id: msg?.id, where: 'protocol', message: `unknown message type "${msg?.type}"` });
    return;
  }
  try {
    await handler(msg);
  } catch (error) {
    post('error', { id: msg.id, where: msg.type, message: messageOf(error) });
  }
});

self.addEventListener('unhandledrejection', (event) => {
  post('error', { where: 'worker', message: messageOf(event.reason) });
});
