// "Inside the network" (issue 16, first part): the first layer's kernels drawn after each epoch,
// and for a test image and a photo the feature maps of both convolutions and a saliency map,
// computed by the core; the explained class can be changed. Screenshots: inside-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, PRODUCTS, SHOTS, launch, newPage, openFirstTestImage, openReady, trainShort } from './browser.mjs';

test('kernels after every epoch, feature maps and saliency for a test image and a photo', { timeout: 600_000 }, async () => {
  const browser = await launch();
  try {
    const { page, outside, errors } = await newPage(browser);
    await openReady(page, `${BASE}?limit=3000`);
    // Epochs of 3,000 images take about a second: record every kernel drawing as it happens.
    await page.evaluate(() => {
      window.kernelNotes = [];
      new MutationObserver(() => {
        const first = document.querySelector('#kernel-tiles canvas');
        window.kernelNotes.push({ note: document.querySelector('#kernels-note').textContent, image: first?.toDataURL(),
          count: document.querySelectorAll('#kernel-tiles canvas').length });
      }).observe(document.querySelector('#kernels-note'), { childList: true, characterData: true, subtree: true });
    });
    await trainShort(page, { epochs: 2 });
    const notes = await page.evaluate(() => window.kernelNotes);
    const epoch = (n) => notes.find((k) => new RegExp(`after epoch ${n}`).test(k.note));
    assert.ok(epoch(1) && epoch(2), `kernels drawn after each epoch: ${notes.map((k) => k.note).join(' | ')}`);
    assert.equal(epoch(1).count, 6, 'base has 6 first-layer kernels');
    assert.notEqual(epoch(2).image, epoch(1).image, 'the kernels changed with training');
    await page.locator('#kernel-tiles').screenshot({ path: join(SHOTS, 'inside-kernels.png') });

    // A test image from the confusion matrix's gallery.
    await openFirstTestImage(page);
    await page.locator('#prediction button[data-action="look-inside"]').click();
    await page.waitForFunction(() => !document.querySelector('#inside-view').hidden && /Predicted/.test(document.querySelector('#inside-summary').textContent),
      null, { timeout: 60_000 });
    assert.equal(await page.locator('#conv1-maps canvas').count(), 6);
    assert.equal(await page.locator('#conv2-maps canvas').count(), 16);
    const summary = await page.textContent('#inside-summary');
    assert.match(summary, /Predicted T-shirt\/top/, 'the first cell holds T-shirts predicted as T-shirts');
    // The saliency is not blank: some pixel is red.
    const red = await page.$eval('#inside-saliency', (c) => {
      const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 120) n++;
      return n;
    });
    assert.ok(red > 0, 'some pixels are marked salient');
    const millis = Number(await page.getAttribute('#inside-view', 'data-millis'));
    console.log(`feature maps and saliency of one image: ${millis.toFixed(1)} ms in the worker`);
    await page.selectOption('#inside-class', '8');
    await page.waitForFunction(() => /explains Bag/.test(document.querySelector('#inside-summary').textContent), null, { timeout: 60_000 });
    await page.locator('#inside').screenshot({ path: join(SHOTS, 'inside-test-image.png') });

    // A photo.
    await page.setInputFiles('#photo-files', join(PRODUCTS, 'images', '12993.jpg'));
    await page.waitForFunction(() => document.querySelector('.photo-card button[data-action="look-inside"]'), null, { timeout: 60_000 });
    await page.locator('.photo-card button[data-action="look-inside"]').click();
    await page.waitForFunction(() => /12993\.jpg, layer by layer/.test(document.querySelector('#inside-title').textContent), null, { timeout: 60_000 });
    await page.waitForFunction(() => /Predicted/.test(document.querySelector('#inside-summary').textContent));
    await page.locator('#inside').screenshot({ path: join(SHOTS, 'inside-photo.png') });
    assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
    assert.deepEqual(errors, [], 'no uncaught page errors');
  } finally {
    await browser.close();
  }
});
