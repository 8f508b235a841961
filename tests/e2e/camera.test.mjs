// "Use camera" (issue 16) with Chromium's fake camera: the live picture, each frame's crop and
// 28x28 input and the top three, at 10 or more predictions a second here on the CPU; a denied
// permission and a browser without a camera get a clear message and the page keeps working.
// Screenshot: camera.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, SHOTS, launch, newPage, openReady, trainShort } from './browser.mjs';

test('the camera classifies continuously, and a denied camera says so', { timeout: 600_000 }, async () => {
  const browser = await launch({ camera: true });
  try {
    const { page, context, outside, errors } = await newPage(browser);
    await context.grantPermissions(['camera'], { origin: new URL(BASE).origin });
    await openReady(page, `${BASE}?limit=2000`);
    await trainShort(page, { epochs: 1 });

    await page.click('#camera-start');
    await page.waitForFunction(() => !document.querySelector('#camera-panel').hidden, null, { timeout: 30_000 });
    // Two seconds of frames, then the rate over them.
    await page.waitForTimeout(4_000);
    const rate = Number(await page.getAttribute('#camera-rate', 'data-rate'));
    console.log(`camera: ${await page.textContent('#camera-rate')}`);
    assert.ok(rate >= 10, `at least 10 predictions/s, got ${rate}`);
    assert.equal(await page.locator('#camera-top li').count(), 3, 'the top three');
    await page.locator('#photos').screenshot({ path: join(SHOTS, 'camera.png') });
    await page.click('#camera-stop');
    assert.ok(await page.locator('#camera-panel').isHidden());
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'camera-start', 'focus returns to the start button');
    assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
    assert.deepEqual(errors, [], 'no uncaught page errors');

    // Another context, camera not allowed.
    const denied = await newPage(browser);
    await denied.context.clearPermissions();
    await openReady(denied.page, `${BASE}?limit=2000`);
    await denied.page.click('#camera-start');
    await denied.page.waitForFunction(() => !document.querySelector('#camera-error').hidden, null, { timeout: 30_000 });
    assert.match(await denied.page.textContent('#camera-error'), /camera was not allowed/);
    assert.ok(await denied.page.locator('#camera-panel').isHidden());
    assert.deepEqual(denied.errors, [], 'no uncaught page errors');
  } finally {
    await browser.close();
  }
  // A browser without a camera, the permission granted.
  const bare = await launch();
  try {
    const { page, context, errors } = await newPage(bare);
    await context.grantPermissions(['camera'], { origin: new URL(BASE).origin });
    await openReady(page, `${BASE}?limit=2000`);
    await page.click('#camera-start');
    await page.waitForFunction(() => !document.querySelector('#camera-error').hidden, null, { timeout: 30_000 });
    console.log(`no camera: ${await page.textContent('#camera-error')}`);
    assert.match(await page.textContent('#camera-error'), /No camera was found|could not start/);
    assert.ok(await page.locator('#camera-panel').isHidden());
    assert.deepEqual(errors, [], 'no uncaught page errors');
  } finally {
    await bare.close();
  }
});
