// Recipes beyond the study (issue 17) in the page: the setup form's recipe fields come from the
// core, the `best` and `fast` presets fill them, a bad value is named, and a run with batch norm,
// max pooling, augmentation and a schedule trains with two workers and keeps its settings in the
// runs table. Screenshot: recipes-form.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, SHOTS, launch, newPage, newestRun, openReady } from './browser.mjs';

test('recipe fields, the best and fast presets, and a recipe run on two workers', { timeout: 600_000 }, async () => {
  const browser = await launch();
  try {
    const { page, outside, errors } = await newPage(browser);
    await openReady(page, `${BASE}?limit=2000`);
    const presets = await page.$$eval('#preset option', (options) => options.map((o) => o.value));
    assert.deepEqual(presets, ['base', 'v1', 'v2', 'v3', 'v4', 'best', 'fast', 'custom']);

    // The fast preset fills every recipe field; the summary shows its layers.
    await page.selectOption('#preset', 'fast');
    await page.waitForFunction(() => /BatchNorm2d/.test(document.querySelector('#summary').textContent));
    const fields = await page.evaluate(() => Object.fromEntries(['schedule', 'pooling', 'batch-norm', 'epochs', 'shift', 'learning-rate']
      .map((id) => [id, /** @type {HTMLInputElement} */ (document.getElementById(id)).value])));
    assert.deepEqual(fields, { schedule: 'one-cycle', pooling: 'max', 'batch-norm': 'on', epochs: '4', shift: '0', 'learning-rate': '0.008' });
    assert.equal(await page.inputValue('#batch-size'), '128');
    assert.equal(await page.isChecked('#fit-trainval'), true, 'fast fits on train+val');
    assert.match(await page.textContent('#summary'), /MaxPool2d/);

    // best: augmentation and label smoothing; under 100,000 parameters.
    await page.selectOption('#preset', 'best');
    await page.waitForFunction(() => document.querySelector('#shift').value === '1');
    assert.equal(await page.inputValue('#flip'), '0.5');
    assert.equal(await page.inputValue('#label-smoothing'), '0.1');
    assert.equal(await page.isChecked('#fit-trainval'), true, 'best fits on train+val');
    await page.waitForFunction(() => Number(document.querySelector('#param-count').textContent.replace(/\D/g, '')) > 90_000);
    const params = Number((await page.textContent('#param-count')).replace(/\D/g, ''));
    assert.ok(params > 90_000 && params <= 100_000, `best has ${params} parameters`);

    // A bad recipe value is named by the core's check, in the field's words.
    await page.fill('#flip', '2');
    await page.click('#start');
    await page.waitForFunction(() => /Random flip/.test(document.querySelector('#form-error').textContent));
    assert.equal(await page.getAttribute('#flip', 'aria-invalid'), 'true');

    // A recipe of one's own: base + batch norm, max pool, shift, erasing, cosine; two workers.
    await page.selectOption('#preset', 'base');
    await page.waitForFunction(() => document.querySelector('#shift').value === '0');
    await page.selectOption('#batch-norm', 'on');
    await page.selectOption('#pooling', 'max');
    await page.selectOption('#schedule', 'cosine');
    await page.fill('#shift', '1');
    await page.fill('#erasing', '0.3');
    await page.fill('#epochs', '2');
    await page.fill('#workers', '2');
    await page.dispatchEvent('#workers', 'change');
    await page.selectOption('#backend', 'cpu');
    await page.waitForFunction(() => document.querySelector('#preset').value === 'custom');
    await page.screenshot({ path: join(SHOTS, 'recipes-form.png'), fullPage: true });
    await page.click('#start');
    await page.waitForFunction(() => /finished/.test(document.querySelector('#status').textContent), null, { timeout: 300_000 });
    const row = await page.textContent('#results tbody tr');
    assert.match(row, /batch norm, max pool/, `the run's settings: ${row}`);
    assert.match(row, /shift 1, erasing 0\.3, cosine/, `the run's recipe: ${row}`);
    const accuracy = (await newestRun(page)).history.at(-1).val_accuracy;
    assert.ok(accuracy > 0.6, `2 epochs of 2,000 images with the recipe: val top-1 ${accuracy}`);
    assert.deepEqual(outside, [], 'nothing fetched from another host');
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await browser.close();
  }
});
