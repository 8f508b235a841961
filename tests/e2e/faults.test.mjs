// End-to-end tests of the page when the browser fails under it, in Debian's headless Chromium
// through playwright-core: a wasm trap kills the worker (forced with the test hook
// `?faults=trap@N`), the WebGPU device is destroyed mid-run (`?faults=gpu-lost@N`), IndexedDB
// refuses a save (QuotaExceededError), a second tab opens while the first trains, zip
// catalogues that are too big or bombs, and the worker's memory over a run. Run by
// `./build.sh test-e2e`, or by hand with the page served:
//   PAGE_URL=http://127.0.0.1:8765/ CHROMIUM=$(command -v chromium) node --test tests/e2e/faults.test.mjs
// Screenshots go to $SCREENSHOTS (default: tests/e2e/screenshots).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { BASE, PRODUCTS, SHOTS, launch, newPage } from './browser.mjs';

const text = async (page, selector) => (await page.textContent(selector)).replace(/\s+/g, ' ').trim();
const firstRow = (page) => text(page, '#results tbody tr');

async function ready(page) {
  await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 180_000 });
}

/** Starts a run of base with `epochs` epochs on `backend`, labelled `label`. */
async function start(page, { label, epochs, backend = 'cpu' }) {
  await ready(page);
  await page.selectOption('#backend', backend);
  await page.fill('#label', label);
  await page.fill('#epochs', String(epochs));
  await page.click('#start');
}

/** Screenshots of the notices at the top and of the runs table, as `<name>-notices.png` and `<name>-runs.png`. */
async function shots(page, name) {
  await page.locator('section.notices').screenshot({ path: join(SHOTS, `${name}-notices.png`) });
  await page.locator('section:has(#results)').screenshot({ path: join(SHOTS, `${name}-runs.png`) });
}

const finished = (page, label) => page.waitForFunction((label) => document.querySelector('#status').textContent.includes(`Run ${label} finished`),
  label, { timeout: 300_000 });

test('a worker crash (a wasm trap) is reported, a fresh worker starts and the run resumes', { timeout: 300_000 }, async () => {
  const browser = await launch();
  try {
    const { page, errors } = await newPage(browser);
    await page.goto(`${BASE}?limit=600&faults=trap@2`);
    await start(page, { label: 'trapped', epochs: 3 });
    // The core traps once epoch 1 is stored: the page says so and what is kept.
    await page.waitForFunction(() => !document.querySelector('#fault-notice').hidden, null, { timeout: 120_000 });
    const notice = await text(page, '#fault-notice');
    assert.match(notice, /The trainer stopped unexpectedly \(RuntimeError: unreachable\)/);
    assert.match(notice, /Nothing finished is lost: Resume in the runs table continues “trapped” from epoch 2/);
    assert.equal(await page.getAttribute('#fault-notice', 'data-kind'), 'error');
    await page.waitForFunction(() => /A fresh trainer is ready\./.test(document.querySelector('#fault-notice').textContent), null, { timeout: 120_000 });
    const row = await firstRow(page);
    assert.match(row, /interrupted/);
    assert.match(row, /the trainer crashed in epoch 2/);
    assert.match(row, /1\/3/);
    await shots(page, 'crash');
    // The fresh worker (without the fault) resumes the run from its stored epoch.
    await page.waitForFunction(() => !document.querySelector('#results button[data-action="resume-run"]')?.disabled, null, { timeout: 60_000 });
    await page.click('#results button[data-action="resume-run"]');
    await finished(page, 'trapped');
    const done = await firstRow(page);
    assert.match(done, /done/);
    assert.match(done, /3\/3/);

    // A study's run: the fresh worker opens the stored study again and continues that run.
    await page.goto(`${BASE}?limit=300&faults=trap@2`);
    await ready(page);
    for (const v of ['v1', 'v2', 'v3', 'v4']) await page.uncheck(`#study-variant-${v}`);
    await page.fill('#study-epochs', '2');
    await page.click('#study-start');
    await page.waitForFunction(() => /A fresh trainer is ready\./.test(document.querySelector('#fault-notice').textContent), null, { timeout: 120_000 });
    assert.match(await text(page, '#fault-notice'), /Nothing finished is lost: Continue study resumes base from epoch 2/);
    await page.waitForFunction(() => !document.querySelector('#study-continue').hidden && !document.querySelector('#study-continue').disabled, null, { timeout: 60_000 });
    assert.match(await text(page, '#study-status'), /Continue study picks up at base from epoch 2/);
    await page.click('#study-continue');
    await page.waitForFunction(() => document.querySelector('#study').dataset.state === 'finished', null, { timeout: 120_000 });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a lost WebGPU device: the run continues on the CPU from its last finished epoch', { timeout: 300_000 }, async () => {
  const browser = await launch({ webgpu: true });
  try {
    const { page, errors } = await newPage(browser);
    // SwiftShader trains ~2 steps a second: two batches of 64 an epoch.
    await page.goto(`${BASE}?limit=128&faults=gpu-lost@2`);
    await start(page, { label: 'on-gpu', epochs: 3, backend: 'gpu' });
    await page.waitForFunction(() => !document.querySelector('#fault-notice').hidden, null, { timeout: 240_000 });
    const notice = await text(page, '#fault-notice');
    assert.match(notice, /The GPU device was lost \(destroyed: Device was destroyed\) in epoch 2 of on-gpu: it continues on the CPU from epoch 2/);
    await finished(page, 'on-gpu');
    const row = await firstRow(page);
    assert.match(row, /done/);
    assert.match(row, /3\/3/);
    assert.match(await text(page, '#backend-notice'), /Training on the CPU: CPU backend \(flex\) chosen/);
    assert.equal(await page.inputValue('#backend'), 'cpu', 'the form now trains on the CPU');
    await shots(page, 'gpu-lost');
    // The core dropped its cached device: auto now picks the CPU and says why, gpu is refused.
    await start(page, { label: 'after-loss', epochs: 1, backend: 'auto' });
    await finished(page, 'after-loss');
    assert.match(await text(page, '#backend-notice'), /Training on the CPU: the GPU device was lost \(destroyed: Device was destroyed\); reload the page to use the GPU again; using the CPU backend/);
    await start(page, { label: 'gpu-again', epochs: 1, backend: 'gpu' });
    await page.waitForFunction(() => /no usable GPU: the GPU device was lost/.test(document.querySelector('#status').textContent), null, { timeout: 60_000 });

    // A study's run on a lost GPU: the study continues on the CPU from that run's last epoch.
    await page.goto(`${BASE}?limit=128&faults=gpu-lost@2`);
    await ready(page);
    for (const v of ['v1', 'v2', 'v3', 'v4']) await page.uncheck(`#study-variant-${v}`);
    await page.fill('#study-epochs', '2');
    await page.selectOption('#study-backend', 'gpu');
    await page.click('#study-start');
    await page.waitForFunction(() => /in epoch 2 of study · base: it continues on the CPU from epoch 2/.test(document.querySelector('#fault-notice').textContent),
      null, { timeout: 240_000 });
    await page.waitForFunction(() => document.querySelector('#study').dataset.state === 'finished', null, { timeout: 120_000 });
    assert.equal(await page.inputValue('#study-backend'), 'cpu');
    assert.deepEqual(await page.$$eval('#study-queue tbody tr', (rows) => rows.map((r) => `${r.dataset.runId} ${r.dataset.status}`)),
      ['base done', 'base+trainval done']);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('storage: usage shown, a failed save named, and what was saved still resumes', { timeout: 300_000 }, async () => {
  const browser = await launch();
  try {
    const { page, context, errors } = await newPage(browser);
    // IndexedDB refuses, as a full quota does, every run record with `__quotaFrom` epochs or more.
    await context.addInitScript(() => {
      const put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = function (value, ...rest) {
        const from = /** @type {any} */ (window).__quotaFrom;
        if (from && value?.history?.length >= from) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        return put.call(this, value, ...rest);
      };
    });
    await page.goto(`${BASE}?limit=600`);
    await ready(page);
    await page.waitForFunction(() => /MB used of the .* MB this browser allows the page; (persistent|not persistent)/.test(document.querySelector('#storage-info').textContent));
    await page.evaluate(() => { /** @type {any} */ (window).__quotaFrom = 2; });
    await start(page, { label: 'quota', epochs: 3 });
    // The run goes on to its end; the status line says the last save failed.
    await page.waitForFunction(() => /its end \(marked done\)/.test(document.querySelector('#storage-error').textContent), null, { timeout: 120_000 });
    assert.match(await text(page, '#status'), /“quota”: could not store its end \(marked done\) in this browser \(this browser's storage for the page is full: QuotaExceededError\); see under the runs table/);
    assert.match(await firstRow(page), /done.*3\/3/);
    const notice = await text(page, '#storage-error');
    assert.match(notice, /^Not saved for “quota”: the weights and results of epoch 2; the weights and results of epoch 3; its end \(marked done\) \(this browser's storage for the page is full: QuotaExceededError\)\. Stored: epoch 1, so after a reload the run resumes from epoch 2\./);
    await shots(page, 'storage-full');
    // After a reload (the quota free again) the run is as stored: one epoch, resumable.
    await page.reload();
    await ready(page);
    const row = await firstRow(page);
    assert.match(row, /interrupted/);
    assert.match(row, /1\/3/);
    await page.click('#results button[data-action="resume-run"]');
    await finished(page, 'quota');
    assert.match(await firstRow(page), /3\/3/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('two tabs: the run belongs to the tab that trains it; the other says so and starts nothing', { timeout: 300_000 }, async () => {
  const browser = await launch();
  try {
    const { page: first, addPage, errors } = await newPage(browser);
    await first.goto(`${BASE}?limit=600`);
    await start(first, { label: 'owned', epochs: 5 });
    await first.waitForFunction(() => /Epoch 1\/5 of owned/.test(document.querySelector('#status').textContent), null, { timeout: 120_000 });
    await first.click('#pause'); // a paused run still belongs to its tab
    await first.waitForFunction(() => !document.querySelector('#resume').disabled);

    const second = await addPage();
    await second.goto(`${BASE}?limit=600`);
    await second.waitForFunction(() => !document.querySelector('#tab-notice').hidden && document.querySelector('#data-progress').value === 1,
      null, { timeout: 120_000 });
    assert.match(await text(second, '#tab-notice'), /Another tab of this page is training a run/);
    assert.ok(await second.isDisabled('#start'), 'Start waits');
    assert.ok(await second.isDisabled('#study-start'), 'the study waits');
    const row = await firstRow(second);
    assert.match(row, /running/, `the run is not taken for an interrupted one: ${row}`);
    assert.match(row, /Training in another tab of this page/);
    assert.equal(await second.locator('#results button[data-action="resume-run"]').count(), 0, 'no Resume');
    await shots(second, 'other-tab');

    // The first tab cancels: the second sees the lock free within its 2 s poll, and the run as stored.
    await first.click('#cancel');
    await second.waitForFunction(() => document.querySelector('#tab-notice').hidden && !document.querySelector('#start').disabled,
      null, { timeout: 20_000 });
    await second.waitForFunction(() => /cancelled/.test(document.querySelector('#results tbody tr').textContent), null, { timeout: 10_000 });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

// ---- zip catalogues ----

/** The central directory entries of a zip: {at, name} with `at` the entry's offset. */
function centralEntries(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = bytes.length - 22;
  assert.equal(v.getUint32(eocd, true), 0x06054b50, 'no zip comment');
  const count = v.getUint16(eocd + 10, true);
  let p = v.getUint32(eocd + 16, true);
  const entries = [];
  for (let i = 0; i < count; i++) {
    const nameLength = v.getUint16(p + 28, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength));
    entries.push({ at: p, name, local: v.getUint32(p + 42, true) });
    p += 46 + nameLength + v.getUint16(p + 30, true) + v.getUint16(p + 32, true);
  }
  return { v, eocd, entries };
}

/** Sets the unpacked size `entry` declares, in the central directory and its local header. */
function declareSize(bytes, name, size) {
  const { v, entries } = centralEntries(bytes);
  const entry = entries.find((e) => e.name === name);
  v.setUint32(entry.at + 24, size, true);
  v.setUint32(entry.local + 22, size, true);
  return bytes;
}

/** The zip with a ZIP64 end of directory claiming `count` entries (the 16-bit count says 0xffff). */
function claimEntries(bytes, count) {
  const { v, eocd } = centralEntries(bytes);
  const length = v.getUint32(eocd + 12, true);
  const offset = v.getUint32(eocd + 16, true);
  const z64 = new DataView(new ArrayBuffer(56 + 20));
  z64.setUint32(0, 0x06064b50, true);
  z64.setBigUint64(4, 44n, true);
  z64.setBigUint64(24, BigInt(count), true);
  z64.setBigUint64(32, BigInt(count), true);
  z64.setBigUint64(40, BigInt(length), true);
  z64.setBigUint64(48, BigInt(offset), true);
  z64.setUint32(56, 0x07064b50, true); // the locator: where the ZIP64 record is
  z64.setBigUint64(64, BigInt(eocd), true);
  z64.setUint32(72, 1, true);
  const end = bytes.slice(eocd);
  new DataView(end.buffer).setUint16(8, 0xffff, true);
  new DataView(end.buffer).setUint16(10, 0xffff, true);
  return Buffer.concat([bytes.subarray(0, eocd), new Uint8Array(z64.buffer), end]);
}

const STYLES = 'id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage\n';
const photoBytes = (id) => readFileSync(join(PRODUCTS, 'images', `${id}.jpg`));

test('zip catalogues: oversized entries, bombs and overlapping or countless entries are refused', { timeout: 300_000 }, async () => {
  const browser = await launch();
  try {
    const { page, errors } = await newPage(browser);
    await page.goto(`${BASE}?limit=300`);
    await start(page, { label: 'zip', epochs: 1 });
    await finished(page, 'zip');
    const choose = async (name, bytes) => {
      await page.setInputFiles('#catalogue-zip', { name, mimeType: 'application/zip', buffer: Buffer.from(bytes) });
      await page.waitForFunction((name) => {
        const t = document.querySelector('#catalogue-source').textContent;
        return t.includes(name) && !t.startsWith('Reading');
      }, name, { timeout: 60_000 });
      return text(page, '#catalogue-source');
    };

    // styles.csv declaring 100 MB: refused before anything is inflated.
    const big = declareSize(zipSync({ 'styles.csv': strToU8(STYLES) }), 'styles.csv', 100e6);
    assert.match(await choose('big.zip', big), /Could not use big\.zip: styles\.csv is 100 MB unpacked, over the 64 MB a \.csv file may have/);

    // A bomb: 200 MB of one repeated row (~200 kB deflated) declaring 1,000 bytes.
    const row = '1,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual\n';
    const bomb = declareSize(zipSync({ 'styles.csv': strToU8(STYLES + row.repeat(Math.ceil(200e6 / row.length))) }, { level: 9 }), 'styles.csv', 1000);
    assert.ok(bomb.length < 1e6, `the bomb is small (${bomb.length} bytes)`);
    const t0 = Date.now();
    assert.match(await choose('bomb.zip', bomb), /Could not use bomb\.zip: styles\.csv unpacks to more than the 1,000 bytes it declares: refused as a zip bomb/);
    assert.ok(Date.now() - t0 < 10_000, 'refused at once');

    // Two entries made of the same bytes (the overlapping kind of bomb).
    const overlap = zipSync({ 'styles.csv': strToU8(STYLES), 'images/1.jpg': strToU8('x') });
    {
      const { v, entries } = centralEntries(overlap);
      v.setUint32(entries[1].at + 42, entries[0].local, true);
    }
    assert.match(await choose('overlap.zip', overlap), /Could not use overlap\.zip: the \.zip file's entries .* share their bytes, as zip bombs' do: refused/);

    // A (ZIP64) directory claiming 250,000 entries.
    assert.match(await choose('many.zip', claimEntries(zipSync({ 'styles.csv': strToU8(STYLES) }), 250_000)),
      /Could not use many\.zip: the \.zip file lists 250,000 entries; a catalogue may have at most 200,000/);

    // A photo declaring 41 MB is skipped with the reason; the other photo is evaluated.
    const good = zipSync({
      'styles.csv': strToU8(`${STYLES}15984,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual\n10257,Men,Apparel,Bottomwear,Trousers,Black,Fall,2011,Casual\n`),
      'images/15984.jpg': [photoBytes('15984'), { level: 0 }],
      'images/10257.jpg': photoBytes('10257'),
    });
    declareSize(good, 'images/10257.jpg', 41e6);
    assert.match(await choose('photos.zip', good), /photos\.zip \(\.zip\): styles\.csv and 2 photos/);
    await page.waitForFunction(() => !document.querySelector('#catalogue-evaluate').disabled, null, { timeout: 30_000 });
    await page.click('#catalogue-evaluate');
    await page.waitForFunction(() => !document.querySelector('#catalogue-results').hidden, null, { timeout: 120_000 });
    assert.match(await text(page, '#catalogue-skipped'), /10257: could not read images\/10257\.jpg: images\/10257\.jpg is 41 MB unpacked, over the 40 MB a photo may have/);
    assert.match(await text(page, '#catalogue-summary'), /on 1 photos/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('memory: the worker\'s wasm memory stays flat after the first epoch', { timeout: 300_000 }, async () => {
  const browser = await launch();
  try {
    const { page, errors } = await newPage(browser);
    await page.goto(`${BASE}?limit=2000`);
    await start(page, { label: 'memory', epochs: 4 });
    await finished(page, 'memory');
    const samples = await page.evaluate(() => performance.getEntriesByName('fashion-trainer:epoch').map((m) => /** @type {any} */ (m).detail));
    console.log('wasm memory per epoch (MiB):', samples.map((s) => (s.wasmBytes / 2 ** 20).toFixed(1)).join(' '));
    assert.equal(samples.length, 4);
    // Linear memory only grows; after epoch 1 it may grow by at most 1 MiB (16 pages).
    const growth = samples.at(-1).wasmBytes - samples[0].wasmBytes;
    assert.ok(growth <= 2 ** 20, `wasm memory grew by ${growth} bytes after epoch 1`);
    assert.ok(samples[0].wasmBytes > 0);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
