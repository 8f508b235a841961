// TF.js reference benchmark: the project's base LeNet-5 trained with TF.js 4.22.0 on its wasm
// backend (SIMD, one thread) in the same headless Chromium as the project's own benchmarks.
//
// Model: conv 5x5x6 'same' + ReLU, avgpool 2x2, conv 5x5x16 'valid' + ReLU, avgpool 2x2, flatten,
// dense 120 ReLU, dense 84 ReLU, dense 10; softmax cross-entropy; Adam lr 1e-3, eps 1e-8; batch
// 64. Data: random u8 pixels (the same generator as benches/profiling/mod.rs), standardised to f32
// on every batch as the project's Dataset::batch does, labels i % 10. The loss is read back once
// every 10 batches, with a yield to the event loop, as the project's Trainer::step(10) does.
//
// Query parameters: warmup (20), batches (200), runs (3), variant (the Conv2DBackpropFilter
// build, see kernels.js), cpu (1: also time TF.js's cpu backend briefly), cpuBatches (10).
// Lines go to the console (and #log); window.benchDone resolves when everything has run.
import { VARIANTS, missingWasmKernels, registerConv2DBackpropFilter } from './kernels.js';

const tf = window.tf;
const params = new URLSearchParams(location.search);
const num = (name, fallback) => Number(params.get(name) ?? fallback);
const WARMUP = num('warmup', 20);
const BATCHES = num('batches', 200);
const RUNS = num('runs', 3);
const CHUNK = 10;
const BATCH = 64;
const VARIANT = params.get('variant') ?? 'conv';
const PIXEL_MEAN = 0.286;
const PIXEL_STD = 0.353;

const logEl = document.getElementById('log');
function log(line) {
  console.log(line);
  logEl.textContent += `${line}\n`;
}
const yieldToEventLoop = () => new Promise((resolve) => setTimeout(resolve, 0));

// ---- data ---------------------------------------------------------------------------------------

/// Random pixels and labels i % 10, from the LCG of benches/profiling/mod.rs (noise_dataset).
function noiseDataset(n) {
  let state = 1;
  const images = new Uint8Array(n * 784);
  for (let i = 0; i < images.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    images[i] = state >>> 24;
  }
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  return { images, labels, n };
}

/// Batch `b` as tensors: standardised f32 images [64, 28, 28, 1] and one-hot labels [64, 10].
function batch(data, b) {
  const start = (b * BATCH) % data.n;
  const pixels = new Float32Array(BATCH * 784);
  const src = data.images.subarray(start * 784, (start + BATCH) * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (src[i] / 255 - PIXEL_MEAN) / PIXEL_STD;
  const xs = tf.tensor4d(pixels, [BATCH, 28, 28, 1]);
  const ys = tf.oneHot(tf.tensor1d(data.labels.subarray(start, start + BATCH), 'int32'), 10);
  return { xs, ys };
}

// ---- model --------------------------------------------------------------------------------------

function lenet() {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 5, padding: 'valid', activation: 'relu' }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 120, activation: 'relu' }),
      tf.layers.dense({ units: 84, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

const lossOf = (model, xs, ys) => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }));

// ---- gradient checks ----------------------------------------------------------------------------

function lcgFloats(n, seed) {
  let state = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}
const size = (shape) => shape.reduce((a, b) => a * b, 1);

/// Runs `fn` (returning tensors) on `backend`; returns their values.
async function on(backend, fn) {
  await tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const values = await Promise.all(outs.map((t) => t.data()));
  tf.dispose(outs);
  return values;
}

function relError(got, want) {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

const CONV_CASES = [
  { name: 'lenet-conv1 5x5 same', x: [4, 28, 28, 1], f: [5, 5, 1, 6], stride: 1, pad: 'same' },
  { name: 'lenet-conv2 5x5 valid', x: [4, 14, 14, 6], f: [5, 5, 6, 16], stride: 1, pad: 'valid' },
  { name: '3x3 stride 2 same', x: [2, 10, 11, 3], f: [3, 3, 3, 2], stride: 2, pad: 'same' },
  { name: '3x3 stride 2 valid', x: [2, 10, 11, 3], f: [3, 3, 3, 2], stride: 2, pad: 'valid' },
  { name: '3x3 explicit pad', x: [1, 8, 9, 2], f: [3, 3, 2, 3], stride: 1, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
];

/// d/dx and d/df of sum(conv2d(x, f) * r): cpu vs wasm, plus a central difference on wasm (the
/// function is linear in f, so the difference quotient is exact up to rounding).
async function checkConv(c, variant) {
  if (variant === 'conv3d' && (typeof c.pad !== 'string' || c.stride !== 1)) return true;
  const xv = lcgFloats(size(c.x), 7);
  const fv = lcgFloats(size(c.f), 11);
  const conv = (x, f) => tf.conv2d(x, f, c.stride, c.pad);
  const outShape = tf.tidy(() => conv(tf.zeros(c.x), tf.zeros(c.f)).shape);
  const rv = lcgFloats(size(outShape), 13);
  const grads = () => {
    const r = tf.tensor(rv, outShape);
    const g = tf.grads((x, f) => conv(x, f).mul(r).sum());
    return g([tf.tensor(xv, c.x), tf.tensor(fv, c.f)]);
  };
  const [dxCpu, dfCpu] = await on('cpu', grads);
  const [dxWasm, dfWasm] = await on('wasm', grads);
  const errF = relError(dfWasm, dfCpu);
  const errX = relError(dxWasm, dxCpu);
  // Central differences for a few filter entries, on wasm.
  const eps = 1e-2;
  let errFd = 0;
  for (const i of [0, Math.floor(fv.length / 2), fv.length - 1]) {
    const [plus, minus] = await on('wasm', () => {
      const r = tf.tensor(rv, outShape);
      const x = tf.tensor(xv, c.x);
      const at = (delta) => {
        const f = fv.slice();
        f[i] += delta;
        return conv(x, tf.tensor(f, c.f)).mul(r).sum();
      };
      return [at(eps), at(-eps)];
    });
    const numeric = (plus[0] - minus[0]) / (2 * eps);
    errFd = Math.max(errFd, Math.abs(numeric - dfWasm[i]) / Math.max(Math.abs(dfWasm[i]), 1e-3));
  }
  const ok = errF < 1e-4 && errX < 1e-4 && errFd < 1e-2;
  log(`CHECK ${variant} conv2d ${c.name}: dfilter rel.err ${errF.toExponential(1)} vs cpu, ` +
    `${errFd.toExponential(1)} vs central difference; dinput rel.err ${errX.toExponential(1)} ` +
    `${ok ? 'ok' : 'FAILED'}`);
  return ok;
}

/// Gradients of the whole LeNet-5 loss for every weight, cpu vs wasm, same weights and batch.
async function checkModel() {
  await tf.setBackend('wasm');
  const model = lenet();
  const data = noiseDataset(BATCH);
  const grads = () => {
    const { xs, ys } = batch(data, 0);
    const { grads: g } = tf.variableGrads(() => lossOf(model, xs, ys), model.trainableWeights.map((w) => w.read()));
    return model.trainableWeights.map((w) => g[w.read().name]);
  };
  const wasm = await on('wasm', grads);
  const cpu = await on('cpu', grads);
  await tf.setBackend('wasm');
  const errs = wasm.map((g, i) => relError(g, cpu[i]));
  const worst = Math.max(...errs);
  const ok = worst < 1e-3;
  log(`CHECK whole LeNet-5 loss gradient (10 weight tensors, batch 64), wasm vs cpu: worst rel.err ` +
    `${worst.toExponential(1)} ${ok ? 'ok' : 'FAILED'}`);
  model.dispose();
  return ok;
}

// ---- timing -------------------------------------------------------------------------------------

/// Milliseconds per Conv2DBackpropFilter call at LeNet-5's shapes, batch 64.
async function timeFilterGrad(variant) {
  registerConv2DBackpropFilter(tf, variant);
  await tf.setBackend('wasm');
  const shapes = [
    { x: [64, 28, 28, 1], f: [5, 5, 1, 6], pad: 'same' },
    { x: [64, 14, 14, 6], f: [5, 5, 6, 16], pad: 'valid' },
  ];
  const out = [];
  for (const s of shapes) {
    const x = tf.tensor(lcgFloats(size(s.x), 3), s.x);
    const dyShape = tf.tidy(() => tf.conv2d(x, tf.zeros(s.f), 1, s.pad).shape);
    const dy = tf.tensor(lcgFloats(size(dyShape), 5), dyShape);
    const call = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
      { strides: [1, 1], pad: s.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: s.f });
    for (let i = 0; i < 3; i++) await call().data();
    const t0 = performance.now();
    const reps = 20;
    for (let i = 0; i < reps; i++) {
      const dw = call();
      await dw.data();
      dw.dispose();
    }
    out.push((performance.now() - t0) / reps);
    tf.dispose([x, dy]);
  }
  return out;
}

/// Trains on `backend`: `warmup` batches, then `runs` runs of `batches` timed ones.
async function trainSpeed(backend, { warmup, batches, runs }) {
  await tf.setBackend(backend);
  const model = lenet();
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const data = noiseDataset((warmup + batches) * BATCH);
  let b = 0;
  let lastLoss = NaN;
  const steps = async (n) => {
    for (let done = 0; done < n; done += CHUNK) {
      const costs = [];
      for (let i = 0; i < Math.min(CHUNK, n - done); i++) {
        costs.push(tf.tidy(() => {
          const { xs, ys } = batch(data, b++);
          return optimizer.minimize(() => lossOf(model, xs, ys), true);
        }));
      }
      const sum = tf.addN(costs);
      lastLoss = (await sum.data())[0] / costs.length;
      tf.dispose([sum, ...costs]);
      await yieldToEventLoop();
    }
  };
  let t0 = performance.now();
  await steps(warmup);
  const warmupSeconds = (performance.now() - t0) / 1000;
  const rates = [];
  for (let r = 0; r < runs; r++) {
    t0 = performance.now();
    await steps(batches);
    rates.push((batches * BATCH) / ((performance.now() - t0) / 1000));
  }
  model.dispose();
  optimizer.dispose();
  const sorted = rates.slice().sort((x, y) => x - y);
  return { warmupSeconds, rates, median: sorted[Math.floor((sorted.length - 1) / 2)], lastLoss };
}

// ---- main ---------------------------------------------------------------------------------------

async function main() {
  const base = new URL('./node_modules/@tensorflow/tfjs-backend-wasm/dist/', location.href).href;
  tf.wasm.setWasmPaths(base);
  const missing = missingWasmKernels(tf);
  log(`TF.js ${tf.version.tfjs}; wasm backend kernels missing for training: ${missing.join(', ') || 'none'}`);
  for (const v of VARIANTS) registerConv2DBackpropFilter(tf, v); // fails early on a missing kernel
  log(registerConv2DBackpropFilter(tf, VARIANT));
  await tf.setBackend('wasm');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  log(`wasm backend: SIMD ${simd}, multithread ${threads}, ${tf.wasm.getThreadsCount()} thread(s), wasm files from ${base}`);

  let ok = true;
  for (const v of VARIANTS) {
    registerConv2DBackpropFilter(tf, v);
    for (const c of CONV_CASES) ok = (await checkConv(c, v)) && ok;
  }
  registerConv2DBackpropFilter(tf, VARIANT);
  ok = (await checkModel()) && ok;
  if (!ok) throw new Error('gradient check failed');

  for (const v of VARIANTS) {
    const [c1, c2] = await timeFilterGrad(v);
    log(`FILTERGRAD ${v}: conv1 ${c1.toFixed(2)} ms, conv2 ${c2.toFixed(2)} ms per call (batch 64)`);
  }
  registerConv2DBackpropFilter(tf, VARIANT);

  const wasm = await trainSpeed('wasm', { warmup: WARMUP, batches: BATCHES, runs: RUNS });
  log(`tfjs-wasm: warm-up ${WARMUP} batches ${wasm.warmupSeconds.toFixed(2)} s; ${RUNS} runs of ${BATCHES} ` +
    `batches: ${wasm.rates.map((r) => r.toFixed(0)).join(', ')} img/s; loss ${wasm.lastLoss.toFixed(3)}`);
  log(`BENCH tfjs-wasm ${wasm.median.toFixed(0)}`);
  log(`BENCH tfjs-wasm-warmup-s ${wasm.warmupSeconds.toFixed(2)}`);
  if (params.get('cpu') !== '0') {
    const cpuBatches = num('cpuBatches', 10);
    const cpu = await trainSpeed('cpu', { warmup: 3, batches: cpuBatches, runs: 1 });
    log(`tfjs-cpu: warm-up 3 batches ${cpu.warmupSeconds.toFixed(2)} s; 1 run of ${cpuBatches} batches`);
    log(`BENCH tfjs-cpu ${cpu.median.toFixed(0)}`);
  }
}

window.benchDone = main().then(
  () => 'ok',
  (e) => {
    log(`ERROR ${e?.stack ?? e}`);
    return `error: ${e}`;
  },
);
