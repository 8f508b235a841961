// End-to-end tests of training on several cores in the page (issue 14): the "CPU workers" field
// (the core's range, every core by default), a run shared by 2 workers that pauses, resumes, is
// cut off by a reload and resumes, cancels (its helper workers end), and a study on 2 workers.
// Run by `./build.sh test-e2e`, or by hand with the page served:
//   PAGE_URL=http://127.0.0.1:8765/ CHROMIUM=$(command -v chromium) node --test tests/e2e/workers.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, SHOTS, launch, newPage, newestRun } from './browser.mjs';

const text = async (page, selector) => (await page.textContent(selector)).replace(/\s+/g, ' ').trim();
const status = (page, pattern) =>
  page.waitForFunction((source) => new RegExp(source).test(document.querySelector('#status').textContent), pattern.source, { timeout: 300_000 });

async function ready(page) {
  await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 180_000 });
}

/** Sets the CPU workers field to `count` and waits for the worker to take it. */
async function setWorkers(page, count) {
  await page.fill('#workers', String(count));
  await page.dispatchEvent('#workers', 'change');
  await page.waitForFunction(() => !document.querySelector('#workers').hasAttribute('aria-invalid'), null, { timeout: 10_000 });
}

/** Starts base on the CPU for `epochs` epochs, labelled `label`. */
async function start(page, label, epochs) {
  await page.selectOption('#backend', 'cpu');
  await page.fill('#label', label);
  await page.fill('#epochs', String(epochs));
  await page.click('#start');
}

/** The runs table's row of run `label`, as text. */
const rowOf = async (page, label) =>
  (await page.locator('#results tbody tr', { hasText: label }).first().textContent()).replace(/\s+/g, ' ').trim();

/** The validation top-1 of run `label` (its best epoch). */
async function valTop1(page, label) {
  const row = await rowOf(page, label);
  const percents = [...row.matchAll(/(\d+\.\d+) %/g)].map((m) => Number(m[1]));
  assert.ok(percents.length >= 1, `a validation top-1 in: ${row}`);
  return percents[0];
}

/** Helper workers of the page (the page's own trainer worker is the first). */
const helpers = (page) => page.workers().filter((w) => /replica-worker\.js/.test(w.url()));

test('2 CPU workers train a run that pauses, resumes, survives a reload and learns as 1 does', { timeout: 900_000 }, async () => {
  const browser = await launch();
  try {
    const { page, errors, outside } = await newPage(browser);
    await page.goto(`${BASE}?limit=3000`);
    await ready(page);
    // Every core by default, within the core's limit.
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    assert.equal(await page.inputValue('#workers'), String(Math.min(cores, 64)));
    assert.equal(await page.getAttribute('#workers', 'max'), '64');
    // A bad count is refused, naming the range; a good one clears the message.
    await page.fill('#workers', '0');
    await page.dispatchEvent('#workers', 'change');
    await page.waitForFunction(() => document.querySelector('#workers').getAttribute('aria-invalid') === 'true', null, { timeout: 10_000 });
    assert.equal(await text(page, '#form-error'), 'CPU workers: enter a whole number from 1 to 64, got 0');
    await setWorkers(page, 1);
    assert.equal(await page.isHidden('#form-error'), true);

    // One worker, for comparison.
    await start(page, 'alone', 2);
    await status(page, /Run alone finished/);
    assert.match(await text(page, '#backend-notice'), /CPU backend \(flex\) chosen, 1 worker$/);
    const alone = await valTop1(page, 'alone');

    // Two workers: the notice says so and a helper worker runs beside the trainer.
    await setWorkers(page, 2);
    await start(page, 'shared', 5);
    await status(page, /Epoch 1\/5 of shared/);
    assert.match(await text(page, '#backend-notice'), /CPU backend \(flex\) chosen, 2 workers/);
    assert.equal(helpers(page).length, 1, 'one helper worker beside the trainer');
    await page.click('#pause');
    await page.waitForFunction(() => !document.querySelector('#resume').disabled, null, { timeout: 60_000 });
    await page.click('#resume');
    await status(page, /Epoch 2\/5 of shared/);
    await page.click('#pause');
    await page.waitForFunction(() => !document.querySelector('#resume').disabled, null, { timeout: 60_000 });
    // The progress line says how the two workers split each batch of 64, as measured.
    const split = (await text(page, '#progress-text')).match(/batch split (\d+) \+ (\d+)/);
    assert.ok(split && Number(split[1]) + Number(split[2]) === 64 && Number(split[1]) > 0, `the split of a batch: ${await text(page, '#progress-text')}`);
    const kept = Number((await rowOf(page, 'shared')).match(/(\d)\/5/)[1]);
    assert.ok(kept >= 1 && kept < 5, `cut off before its last epoch: ${kept}/5`);
    await page.screenshot({ path: join(SHOTS, 'workers-paused.png'), fullPage: true });
    await page.reload(); // the tab "closes" mid-run

    await ready(page);
    await setWorkers(page, 2);
    await page.waitForFunction(() => {
      const b = document.querySelector('#results button[data-action="resume-run"]');
      return b && !b.disabled;
    }, null, { timeout: 180_000 });
    await page.click('#results button[data-action="resume-run"]');
    await status(page, /Run shared finished/);
    const row = await rowOf(page, 'shared');
    assert.match(row, /done/);
    assert.match(row, /5\/5/);
    assert.match(await text(page, '#backend-notice'), /2 workers/);
    const shared = await valTop1(page, 'shared');
    // The same training up to float rounding (tiny sets here: a loose bar; the bench compares
    // 15-epoch runs on the full set).
    assert.ok(alone > 50 && shared > 50, `both learn: alone ${alone} %, shared ${shared} %`);

    // Cancel ends the run and its helper.
    await start(page, 'cancelled', 3);
    await status(page, /Epoch 1\/3 of cancelled/);
    await page.click('#cancel');
    await page.waitForFunction(() => [...document.querySelectorAll('#results tbody tr')].some((r) => /cancelled/.test(r.textContent)), null, { timeout: 60_000 });
    await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 60_000 });
    await page.waitForTimeout(500);
    assert.equal(helpers(page).length, 0, 'the helper worker ended with the run');
    // A step that was waiting on the ended helper does not hold the worker up: the next run trains.
    await start(page, 'after-cancel', 1);
    await status(page, /Run after-cancel finished/);
    assert.deepEqual(outside, []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a study trains every run on 2 CPU workers', { timeout: 900_000 }, async () => {
  const browser = await launch();
  try {
    const { page, errors } = await newPage(browser);
    await page.goto(`${BASE}?limit=600`);
    await ready(page);
    await setWorkers(page, 2);
    for (const v of ['v1', 'v2', 'v3', 'v4']) await page.uncheck(`#study-variant-${v}`);
    await page.fill('#study-epochs', '2');
    await page.selectOption('#study-backend', 'cpu');
    await page.click('#study-start');
    await page.waitForFunction(() => /study · base/.test(document.querySelector('#status').textContent), null, { timeout: 300_000 });
    assert.match(await text(page, '#backend-notice'), /2 workers/);
    await page.waitForFunction(() => document.querySelector('#study').dataset.state === 'finished', null, { timeout: 600_000 });
    assert.match(await text(page, '#study-status'), /Study finished: 2 runs/);
    await page.locator('#study').screenshot({ path: join(SHOTS, 'workers-study.png') });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('auto measures WebGPU and the CPU once and trains on the faster: the CPU on SwiftShader', { timeout: 600_000 }, async () => {
  const browser = await launch({ webgpu: true });
  try {
    const { page, errors } = await newPage(browser);
    await page.goto(`${BASE}?limit=1200`);
    await ready(page);
    const measured = /measured GPU ([\d,]+) img\/s, CPU ([\d,]+) img\/s.*: training on the CPU/;
    const notice = await text(page, '#backend-notice');
    const [, gpu, cpu] = notice.match(measured) ?? assert.fail(`the notice gives the speeds: ${notice}`);
    const rate = (s) => Number(s.replace(/,/g, ''));
    assert.ok(rate(gpu) > 0 && rate(cpu) > rate(gpu), `SwiftShader is slower than the CPU: ${notice}`);
    assert.match(notice, /^Auto: /);
    await page.locator('section.notices').screenshot({ path: join(SHOTS, 'auto-measured.png') });
    // auto (the form's default) trains on the CPU and says why.
    assert.equal(await page.inputValue('#backend'), 'auto');
    await page.fill('#label', 'auto');
    await page.fill('#epochs', '1');
    await page.click('#start');
    await status(page, /Run auto finished/);
    assert.match(await text(page, '#backend-notice'), /^Training on the CPU: measured GPU .*: training on the CPU/);
    // Remembered for this browser and adapter: a reload does not measure again.
    await page.reload();
    await ready(page);
    assert.match(await text(page, '#backend-notice'), /^Auto \(as measured on an earlier visit\): measured GPU/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a helper worker that crashes leaves the run training on in one worker, which the page says', { timeout: 600_000 }, async () => {
  const browser = await launch();
  try {
    const { page, errors } = await newPage(browser);
    await page.goto(`${BASE}?limit=1200&faults=helper-trap@2`);
    await ready(page);
    await setWorkers(page, 2);
    await start(page, 'helper-crash', 3);
    await page.waitForFunction(() => /A helper worker stopped/.test(document.querySelector('#backend-notice').textContent), null, { timeout: 300_000 });
    const notice = await text(page, '#backend-notice');
    assert.match(notice, /A helper worker stopped \(the replica crashed \(RuntimeError: unreachable\)\)\. Training goes on in one worker from the batch it was in: nothing is lost\./);
    assert.equal(await page.getAttribute('#backend-notice', 'data-kind'), 'warn');
    await status(page, /Run helper-crash finished/);
    const row = await rowOf(page, 'helper-crash');
    assert.match(row, /done/);
    assert.match(row, /3\/3/);
    assert.ok((await valTop1(page, 'helper-crash')) > 50, row);
    await page.waitForTimeout(300);
    assert.equal(helpers(page).length, 0, 'the crashed helper was ended');
    await page.locator('section.notices').screenshot({ path: join(SHOTS, 'helper-crash-notice.png') });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('batches x4 on the GPU: the run trains at 4 times the batch and learning rate; a CPU run keeps them', { timeout: 600_000 }, async () => {
  const browser = await launch({ webgpu: true });
  try {
    const { page, errors } = await newPage(browser);
    await page.goto(`${BASE}?limit=1200`);
    await ready(page);
    const options = await page.locator('#gpu-batches option').allTextContents();
    assert.deepEqual(options, ['x1 (as set)', 'x2 (learning rate x2)', 'x4 (learning rate x4)', 'x8 (learning rate x8)']);
    // Labelled, and described by its hint (screen readers read both).
    assert.equal(await page.getAttribute('#gpu-batches', 'aria-describedby'), 'gpu-batches-hint');
    assert.match(await text(page, '#gpu-batches-hint'), /kernel launches/);
    assert.equal(await page.textContent('label[for="gpu-batches"]'), 'Batches on the GPU');
    await page.selectOption('#gpu-batches', '4');
    await page.selectOption('#backend', 'gpu');
    await page.fill('#label', 'gpu-x4');
    await page.fill('#epochs', '1');
    await page.locator('#gpu-batches').screenshot({ path: join(SHOTS, 'gpu-batches.png') });
    await page.click('#start');
    await status(page, /Run gpu-x4 finished/);
    assert.equal(await text(page, '#backend-notice'),
      'Training on the GPU (WebGPU): GPU backend (wgpu) chosen; batches x4: 256 images, learning rate 0.004');
    const onGpu = await newestRun(page);
    assert.equal(onGpu.config.batch_size, 256, 'the GPU run trained in batches of 256');
    assert.ok(Math.abs(onGpu.config.learning_rate - 0.004) < 1e-9, `learning rate x4: ${onGpu.config.learning_rate}`);
    assert.match(onGpu.description, /lr 0\.004, batch 256/);
    // The same setting on the CPU: the batch as set.
    await start(page, 'cpu-x4', 1);
    await status(page, /Run cpu-x4 finished/);
    const onCpu = await newestRun(page);
    assert.equal(onCpu.config.batch_size, 64);
    assert.equal(onCpu.config.learning_rate, 0.001);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
