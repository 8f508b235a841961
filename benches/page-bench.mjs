// Page benchmark (./build.sh bench): navigation → "ready to train" with a cold and a warm cache,
// the page's own training speed (the Web Worker path) on the CPU and on WebGPU, and the time to
// look inside the network for one image. Prints "BENCH name value" lines for benches/run.sh.
// PAGE_URL and CHROMIUM as for the e2e test.
import { chromium } from 'playwright-core';
import { newestRun, openFirstTestImage } from '../tests/e2e/browser.mjs';

const BASE = process.env.PAGE_URL ?? 'http://127.0.0.1:8080/';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'],
});

async function readyTime(page, url) {
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 300_000 });
  return (Date.now() - t0) / 1000;
}

/**
 * Time to accuracy (DAWNBench style): the `fast` preset on all the data with every core's
 * worker, on the CPU; it stops after its fixed epochs. Training seconds are the epochs' own
 * (from the run's history), then the test set is evaluated once.
 */
async function timeToAccuracy(page, workers) {
  await page.goto(BASE);
  await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 300_000 });
  await page.fill('#workers', String(workers));
  await page.dispatchEvent('#workers', 'change');
  await page.selectOption('#backend', 'cpu');
  await page.selectOption('#preset', 'fast');
  await page.waitForFunction(() => document.querySelector('#schedule').value === 'one-cycle');
  const t0 = Date.now();
  await page.click('#start');
  await page.waitForFunction(() => /finished/.test(document.querySelector('#status').textContent), null,
    { timeout: 900_000 });
  const wall = (Date.now() - t0) / 1000;
  const run = await newestRun(page);
  const seconds = run.history.reduce((sum, epoch) => sum + epoch.seconds, 0);
  await page.click('#evaluate');
  await page.waitForFunction(() => /precision/.test(document.querySelector('#report').textContent), null, { timeout: 300_000 });
  const accuracy = Number(/accuracy\s+([0-9.]+)/.exec(await page.textContent('#report'))[1]);
  return { seconds, wall, accuracy, epochs: run.history.length };
}

async function trainSpeed(page, backend, images, workers = 1, gpuBatches = 1, epochs = 2) {
  await page.goto(`${BASE}?limit=${images}`);
  await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 300_000 });
  await page.fill('#workers', String(workers));
  await page.dispatchEvent('#workers', 'change');
  await page.selectOption('#backend', backend);
  await page.selectOption('#gpu-batches', String(gpuBatches));
  await page.fill('#epochs', String(epochs));
  await page.click('#start');
  await page.waitForFunction(() => /finished/.test(document.querySelector('#status').textContent), null,
    { timeout: 900_000 });
  // The last epoch's speed, from the run kept in IndexedDB: it excludes the first steps' warm-up
  // (shader compilation on WebGPU; on the CPU, helper workers reach their pace over the first
  // ~50,000 images: 10-11,000 img/s in a first epoch of 23,040, 12-13,000 from the third).
  const { history } = await newestRun(page);
  return { rate: Math.round(history.at(-1).images_per_second) };
}

const context = await browser.newContext();
const page = await context.newPage();
console.log(`BENCH page-ready-cold-cache-s ${(await readyTime(page, BASE)).toFixed(2)}`);
console.log(`BENCH page-ready-warm-cache-s ${(await readyTime(page, BASE)).toFixed(2)}`);
// One worker and every core's worker, alternating, median of 3.
const cores = await page.evaluate(() => navigator.hardwareConcurrency);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const one = [];
const all = [];
for (let round = 0; round < 3; round++) {
  one.push((await trainSpeed(page, 'cpu', 25_600, 1, 1, 3)).rate);
  all.push((await trainSpeed(page, 'cpu', 25_600, cores, 1, 3)).rate);
}
console.log(`page CPU epochs, 1 worker: ${one.join(', ')}; ${cores} workers: ${all.join(', ')} img/s`);
console.log(`BENCH page-train-cpu-img/s ${median(one)}`);
console.log(`BENCH page-train-cpu-all-workers-img/s ${median(all)}`);
try {
  const fast = await timeToAccuracy(page, cores);
  console.log(`fast preset in the page (${cores} workers, CPU): ${fast.epochs} epochs, ` +
    `${fast.seconds.toFixed(1)} s of training (${fast.wall.toFixed(1)} s from Start to finished), test top-1 ${(100 * fast.accuracy).toFixed(2)} %`);
  console.log(`BENCH page-fast-train-s ${fast.seconds.toFixed(1)}`);
  console.log(`BENCH page-fast-test-top1-% ${(100 * fast.accuracy).toFixed(2)}`);
} catch (error) {
  console.log(`BENCH page-fast-train-s failed:${String(error).split('\n')[0]}`);
}
// Inside the network: feature maps and saliency of one test image, the core's time in the worker
// (CPU model of the last run), median over the ten classes explained in turn.
try {
  await openFirstTestImage(page);
  await page.locator('#prediction button[data-action="look-inside"]').click();
  const times = [];
  for (let c = 0; c < 10; c++) {
    await page.waitForFunction(() => !document.querySelector('#inside-view').hidden && document.querySelector('#inside-class').options.length === 10);
    const before = await page.getAttribute('#inside-view', 'data-millis');
    await page.selectOption('#inside-class', String(c));
    await page.waitForFunction((b) => document.querySelector('#inside-view').dataset.millis !== b, before).catch(() => {});
    times.push(Number(await page.getAttribute('#inside-view', 'data-millis')));
  }
  console.log(`inside the network, ms per image: ${times.map((t) => t.toFixed(1)).join(', ')}`);
  console.log(`BENCH page-inside-ms ${median(times).toFixed(1)}`);
} catch (error) {
  console.log(`BENCH page-inside-ms failed:${String(error).split('\n')[0]}`);
}
const gpu = await trainSpeed(page, 'gpu', 768).catch((e) => ({ rate: `failed:${String(e).split('\n')[0]}` }));
console.log(`BENCH page-train-webgpu-img/s ${gpu.rate}`);
// The larger-batch option on the GPU (x4: batches of 256, the learning rate x4).
const gpu4 = await trainSpeed(page, 'gpu', 3072, 1, 4).catch((e) => ({ rate: `failed:${String(e).split('\n')[0]}` }));
console.log(`BENCH page-train-webgpu-x4-batches-img/s ${gpu4.rate}`);
// WebGPU calls per training step: the worker counts dispatches (kernel launches), queue
// submissions and buffer mappings (readbacks); the marks of the last two epochs of a run fitted on
// train+val (no validation), divided by its batches. Epoch ends save weights: a few readbacks each.
try {
  await page.goto(`${BASE}?limit=768`);
  await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 300_000 });
  await page.selectOption('#backend', 'gpu');
  await page.check('#fit-trainval');
  await page.fill('#epochs', '2');
  await page.click('#start');
  await page.waitForFunction(() => /finished/.test(document.querySelector('#status').textContent), null, { timeout: 900_000 });
  const marks = await page.evaluate(() => performance.getEntriesByName('fashion-trainer:epoch').map((m) => m.detail.gpuCalls));
  const [a, b] = marks.slice(-2);
  const steps = 768 / 64;
  for (const key of ['dispatches', 'submits', 'readbacks']) {
    console.log(`BENCH page-webgpu-${key}/step ${((b[key] - a[key]) / steps).toFixed(2)}`);
  }
} catch (error) {
  console.log(`BENCH page-webgpu-calls/step failed:${String(error).split('\n')[0]}`);
}
await browser.close();
