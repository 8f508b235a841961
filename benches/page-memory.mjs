// Page memory benchmark (./build.sh bench): the Web Worker's wasm memory and the page's JS heap
// at the end of every epoch, read from the page's `fashion-trainer:epoch` user-timing marks, over
// base trained for 15 epochs on all the data and then a 5-run study (base, v1, v2, v3 and the
// refit; 2 epochs a run) in the same page, on the CPU. Both should stay flat after the first
// epoch: nothing a run keeps grows with its epochs, and a new run does not copy the data set
// again. Prints the curve and "BENCH name value" lines for benches/run.sh. PAGE_URL and CHROMIUM
// as for the e2e tests; LIMIT, EPOCHS and STUDY_EPOCHS shorten it for a quick try.
import { chromium } from 'playwright-core';

const BASE = process.env.PAGE_URL ?? 'http://127.0.0.1:8080/';
const EPOCHS = Number(process.env.EPOCHS ?? 15);
const STUDY_EPOCHS = Number(process.env.STUDY_EPOCHS ?? 2);
const LIMIT = process.env.LIMIT ? `?limit=${process.env.LIMIT}` : '';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  // Without it Chromium rounds performance.memory to coarse buckets.
  args: ['--no-sandbox', '--enable-precise-memory-info'],
});
const page = await browser.newPage();
const ready = () => page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 300_000 });

await page.goto(`${BASE}${LIMIT}`);
await ready();
const t0 = Date.now();
await page.selectOption('#backend', 'cpu');
await page.fill('#label', 'base');
await page.fill('#epochs', String(EPOCHS));
await page.click('#start');
await page.waitForFunction(() => /Run base finished/.test(document.querySelector('#status').textContent), null, { timeout: 3_600_000 });
const runSeconds = (Date.now() - t0) / 1000;

const t1 = Date.now();
for (const v of ['v4']) await page.uncheck(`#study-variant-${v}`);
await page.selectOption('#study-backend', 'cpu');
await page.fill('#study-epochs', String(STUDY_EPOCHS));
await page.click('#study-start');
await page.waitForFunction(() => document.querySelector('#study').dataset.state === 'finished', null, { timeout: 3_600_000 });
const studySeconds = (Date.now() - t1) / 1000;

const samples = await page.evaluate(() => performance.getEntriesByName('fashion-trainer:epoch').map((m) => /** @type {any} */ (m).detail));
await browser.close();

const mb = (bytes) => (bytes == null ? '-' : (bytes / 2 ** 20).toFixed(1));
console.log(`\nmemory at each epoch's end (MiB): base ${EPOCHS} epochs (${runSeconds.toFixed(0)} s), then a study of 5 runs x ${STUDY_EPOCHS} epochs (${studySeconds.toFixed(0)} s)`);
console.log(`${'run'.padEnd(22)} ${'epoch'.padStart(5)} ${'wasm'.padStart(8)} ${'page heap'.padStart(10)}`);
for (const s of samples) console.log(`${s.label.padEnd(22)} ${String(s.epoch).padStart(5)} ${mb(s.wasmBytes).padStart(8)} ${mb(s.pageHeapBytes).padStart(10)}`);

const run = samples.filter((s) => s.label === 'base');
const study = samples.filter((s) => s.label !== 'base');
console.log(`BENCH page-mem-wasm-epoch1-MiB ${mb(run[0].wasmBytes)}`);
console.log(`BENCH page-mem-wasm-run-growth-MiB ${mb(run.at(-1).wasmBytes - run[0].wasmBytes)}`);
console.log(`BENCH page-mem-wasm-study-growth-MiB ${mb(study.at(-1).wasmBytes - run.at(-1).wasmBytes)}`);
console.log(`BENCH page-mem-heap-growth-MiB ${mb(samples.at(-1).pageHeapBytes - run[0].pageHeapBytes)}`);
