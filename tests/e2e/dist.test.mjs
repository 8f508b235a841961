// `./build.sh dist` (issue 16): the folder works from a static host under a sub-path (with a
// space in it): the page loads its modules, worker, wasm and shards by relative URLs, trains an
// epoch and evaluates. `./build.sh test-e2e` makes the folder and serves it ($DIST_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openReady, trainShort } from './browser.mjs';

const URL_ = process.env.DIST_URL;

test('the dist folder works under a sub-path of a static host', { timeout: 600_000, skip: URL_ ? false : 'SKIPPED: no $DIST_URL (./build.sh test-e2e serves the dist folder)' }, async () => {
  const browser = await launch();
  try {
    const { page, outside, errors } = await newPage(browser);
    const failed = [];
    page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
    page.on('requestfailed', (r) => failed.push(`failed ${r.url()}`));
    await openReady(page, `${URL_}?limit=1000`);
    await trainShort(page, { epochs: 1 });
    await page.click('#evaluate');
    await page.waitForFunction(() => /precision/.test(document.querySelector('#report').textContent), null, { timeout: 120_000 });
    assert.deepEqual(failed, [], 'every file the page asks for is in the folder');
    assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
    assert.deepEqual(errors, [], 'no uncaught page errors');
  } finally {
    await browser.close();
  }
});
