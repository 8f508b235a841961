// End-to-end test of the page in Debian's headless Chromium through playwright-core (never a
// downloaded browser). Run by `./build.sh test-e2e`, which builds www/ first and passes its URL.
// It trains a short run on the CPU, checks charts and results, evaluates on the test set, saves
// weights, loads a wrong file, reloads and finds the run again, and fails if any request leaves
// 127.0.0.1. Screenshots go to $SCREENSHOTS (default: tests/e2e/screenshots).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, SHOTS, launch, newPage } from './browser.mjs';

test('train, evaluate, save, reload in the page', { timeout: 600_000 }, async () => {
  const browser = await launch({ webgpu: true });
  try {
  const { page, outside, errors } = await newPage(browser);

  await page.goto(`${BASE}?limit=600`);
  // Ready to train once the shards are in and the wasm trainer is loaded.
  await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 180_000 });
  await page.selectOption('#backend', 'cpu');
  // The form's fields, their ranges and checks come from the core: a preset fills them and
  // names them, and each bad value is named with its range.
  await page.selectOption('#preset', 'v1');
  assert.equal(await page.inputValue('#conv1-kernels'), '16');
  await page.waitForFunction(() => /99,976 parameters/.test(document.querySelector('#param-count').textContent));
  assert.equal(await page.getAttribute('#learning-rate', 'max'), '1');
  await page.fill('#learning-rate', '0');
  await page.fill('#epochs', '');
  await page.click('#start');
  await page.waitForFunction(() => /Learning rate: enter a number above 0 and at most 1, got 0/.test(document.querySelector('#form-error').textContent));
  assert.match(await page.textContent('#form-error'), /Epochs: enter a whole number from 1 to 1000 \(it is empty\)/);
  assert.equal(await page.getAttribute('#learning-rate', 'aria-invalid'), 'true');
  assert.equal(await page.getAttribute('#epochs', 'aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'learning-rate', 'focus on the first bad field');
  assert.equal(await page.locator('#results tbody tr[data-run-id]').count(), 0, 'nothing started');
  await page.selectOption('#preset', 'base');
  await page.waitForFunction(() => document.querySelector('#form-error').hidden);
  assert.equal(await page.getAttribute('#learning-rate', 'aria-invalid'), null);
  await page.fill('#epochs', '2');
  await page.waitForFunction(() => document.querySelector('#preset').value === 'custom');
  await page.screenshot({ path: join(SHOTS, 'ready.png'), fullPage: true });

  await page.click('#start');
  await page.waitForFunction(() => document.querySelectorAll('#results tbody tr[data-run-id]').length > 0, null, { timeout: 300_000 });
  // Wait for the run to finish: Start is enabled again.
  await page.waitForFunction(() => !document.querySelector('#start').disabled && document.querySelector('#cancel').disabled,
    null, { timeout: 300_000 });
  const row = await page.textContent('#results tbody tr');
  assert.match(row, /\d+(\.\d+)?\s*%/, `results row has accuracies: ${row}`);
  assert.ok(await page.locator('#loss-chart canvas').count() > 0, 'loss chart drawn');
  assert.ok(await page.locator('#acc-chart canvas').count() > 0, 'accuracy chart drawn');
  await page.screenshot({ path: join(SHOTS, 'trained.png'), fullPage: true });

  await page.click('#evaluate');
  await page.waitForFunction(() => /precision/.test(document.querySelector('#report').textContent), null, { timeout: 120_000 });
  const report = await page.textContent('#report');
  assert.match(report, /accuracy/);
  assert.ok(await page.locator('#confusion button').count() >= 100, 'confusion matrix has 100 cells');
  await page.locator('#confusion button').first().click();
  await page.screenshot({ path: join(SHOTS, 'evaluated.png'), fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-weights')]);
  const saved = await download.path();
  assert.ok(saved, 'weights downloaded');

  // A text file posing as weights gives a clear message and the page keeps working.
  const junk = join(SHOTS, 'junk.ftw');
  writeFileSync(junk, 'this is not a weights file');
  await page.setInputFiles('#load-weights', junk);
  await page.waitForFunction(() => /not a fashion-trainer weights file/.test(document.querySelector('#weights-message').textContent),
    null, { timeout: 60_000 });

  // The saved weights with one value made NaN: refused, naming the tensor, rather than loaded.
  const bytes = readFileSync(saved);
  const header = bytes.readUInt32LE(4);
  bytes.writeFloatLE(Number.NaN, 8 + header + 4);
  const nan = join(SHOTS, 'nan.ftw');
  writeFileSync(nan, bytes);
  await page.setInputFiles('#load-weights', nan);
  await page.waitForFunction(() => /holds NaN at index 1/.test(document.querySelector('#weights-message').textContent),
    null, { timeout: 60_000 });
  assert.match(await page.textContent('#weights-message'), /tensor conv1\.weight holds NaN at index 1: the weights are damaged/);

  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#results tbody tr[data-run-id]').length > 0, null, { timeout: 60_000 });
  await page.screenshot({ path: join(SHOTS, 'reloaded.png'), fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SHOTS, 'narrow.png'), fullPage: true });

  assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
  assert.deepEqual(errors, [], 'no uncaught page errors');
  } finally {
    await browser.close();
  }
});

test('a run cut off by a reload resumes from its last finished epoch', { timeout: 600_000 }, async () => {
  const browser = await launch();
  try {
  const { page, errors } = await newPage(browser);
  await page.goto(`${BASE}?limit=1200`);
  await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 180_000 });
  await page.selectOption('#backend', 'cpu');
  await page.fill('#label', 'cut-off');
  await page.fill('#epochs', '3');
  await page.click('#start');
  await page.waitForFunction(() => /Epoch 1\/3 of/.test(document.querySelector('#status').textContent), null,
    { timeout: 300_000 });
  // Pause so the reload surely lands before epoch 3 ends (these tiny epochs take a second).
  await page.click('#pause');
  await page.waitForFunction(() => !document.querySelector('#resume').disabled, null, { timeout: 60_000 });
  const epochsBefore = (await page.textContent('#results tbody tr')).match(/(\d)\/3/)[1];
  assert.ok(Number(epochsBefore) < 3, 'the run is cut off before its last epoch');
  await page.reload(); // the tab "closes" mid-run

  const resume = page.locator('#results button[data-action="resume-run"]');
  await page.waitForFunction(() => {
    const b = document.querySelector('#results button[data-action="resume-run"]');
    return b && !b.disabled;
  }, null, { timeout: 180_000 });
  assert.match(await page.textContent('#results tbody'), /interrupted/);
  await resume.click();
  await page.waitForFunction(() => /Run cut-off finished/.test(document.querySelector('#status').textContent), null,
    { timeout: 300_000 });
  const row = (await page.textContent('#results tbody tr')).replace(/\s+/g, ' ');
  assert.match(row, /3\/3/, `three epochs recorded: ${row}`);
  assert.match(row, /done/);
  await page.screenshot({ path: join(SHOTS, 'resumed.png'), fullPage: true });
  assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
