// End-to-end tests of the Study section in Debian's headless Chromium through playwright-core.
// Run by `./build.sh test-e2e` (which builds www/ and serves the page), or by hand:
//   PAGE_URL=http://127.0.0.1:8765/ CHROMIUM=$(command -v chromium) node --test tests/e2e/study.test.mjs
// A tiny study (two variants, one epoch, ?limit=600, CPU) runs to the end: the queue shows its
// progress, the runs table gets its runs, and the HTML report has every section, no "http" and
// the page's numbers. A second study is cut off by a reload and continues without redoing its
// finished run. Fails if any request leaves 127.0.0.1. Screenshots go to $SCREENSHOTS (default:
// tests/e2e/screenshots).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { BASE, CLI, PRODUCTS, SHOTS, launch, newPage } from './browser.mjs';

// A small catalogue as a .zip: styles.csv with its first `rows` rows and their photos.
function catalogueZip(rows = 24) {
  const lines = readFileSync(join(PRODUCTS, 'styles.csv'), 'utf8').split(/\r?\n/).filter(Boolean).slice(0, rows + 1);
  const files = { 'styles.csv': strToU8(`${lines.join('\n')}\n`) };
  for (const line of lines.slice(1)) {
    const id = line.split(',')[0];
    const photo = join(PRODUCTS, 'images', `${id}.jpg`);
    if (existsSync(photo)) files[`images/${id}.jpg`] = readFileSync(photo);
  }
  const path = join(SHOTS, 'study-catalogue.zip');
  writeFileSync(path, zipSync(files));
  return path;
}

// One browser for both tests: the second study replaces the first one in the same storage.
let browser;
let page;
let outside;
let errors;

before(async () => {
  browser = await launch();
  ({ page, outside, errors } = await newPage(browser));
  page.on('dialog', (dialog) => dialog.accept()); // "Replace the finished study?"
});

after(async () => {
  await browser?.close();
});

// The queue as the page shows it: [{id, status, run, state, best, val, test, time}].
const queueRows = () => page.$$eval('#study-queue tbody tr', (rows) => rows.map((tr) => {
  const text = [...tr.cells].map((c) => c.textContent.replace(/\s+/g, ' ').trim());
  return { id: tr.dataset.runId, status: tr.dataset.status, run: text[0], state: text[1], best: text[2], val: text[3], test: text[4], time: text[5] };
}));

async function download(selector) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: file.suggestedFilename(), text: readFileSync(await file.path(), 'utf8') };
}

// The rows of the report's results table: {run: [cells after the row header]}.
function reportResults(html) {
  const table = html.match(/<table class="results">([\s\S]*?)<\/table>/)?.[1];
  assert.ok(table, 'the report has a results table');
  const rows = {};
  for (const [, row] of table.matchAll(/<tr(?: class="[^"]*")?><th scope="row">([\s\S]*?)<\/tr>/g)) {
    const [id, rest] = row.split('</th>');
    rows[id] = [...rest.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]);
  }
  return rows;
}

const studyState = () => page.getAttribute('#study', 'data-state');

test('a tiny study runs to the end and its report matches the page', { timeout: 1_200_000 }, async () => {
  await page.goto(`${BASE}?limit=600`);
  await page.waitForFunction(() => !document.querySelector('#study-start').disabled, null, { timeout: 180_000 });
  assert.equal(await studyState(), 'none');
  // The published study's defaults: 15 epochs, seed 42, all five variants, refit the best.
  assert.equal(await page.inputValue('#study-epochs'), '15');
  assert.equal(await page.inputValue('#study-seed'), '42');
  assert.equal(await page.locator('#study-variant-list input:checked').count(), 5);
  assert.equal(await page.inputValue('#study-refit'), 'best');
  assert.match(await page.textContent('#study-limit'), /\?limit=600/);
  for (const selector of ['#study-report-html', '#study-report-md', '#study-report-csv', '#study-report-json']) {
    assert.ok(await page.isDisabled(selector), `${selector} waits for a finished run`);
  }

  // No variant: a clear message (the core checks the form), nothing starts.
  for (const v of ['base', 'v1', 'v2', 'v3', 'v4']) await page.uncheck(`#study-variant-${v}`);
  await page.click('#study-start');
  await page.waitForFunction(() => /Variants: choose at least one/.test(document.querySelector('#study-error').textContent));
  assert.equal(await page.getAttribute('#study-variant-base', 'aria-invalid'), 'true');
  assert.equal(await studyState(), 'none');

  // Two variants, one epoch, on the CPU; the refit can only be one of the two.
  await page.check('#study-variant-base');
  await page.check('#study-variant-v1');
  assert.ok(await page.locator('#study-refit option[value="v3"]').isDisabled(), 'v3 is not in the study');
  await page.fill('#study-epochs', '1');
  await page.selectOption('#study-backend', 'cpu');
  await page.locator('#study').screenshot({ path: join(SHOTS, 'study-ready.png') });

  await page.click('#study-start');
  await page.waitForFunction(() => document.querySelector('#study-queue tr[data-status="running"] progress'), null,
    { timeout: 120_000 });
  // Cancel stops the study (once a run that just ended is recorded); Continue goes on.
  await page.click('#study-cancel');
  await page.waitForFunction(() => document.querySelector('#study').dataset.state === 'stopped', null, { timeout: 120_000 });
  assert.match(await page.textContent('#study-status'), /Study stopped.*Continue study picks up at (base|v1)/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'study-continue', 'focus moves to Continue study');
  await page.click('#study-continue');
  await page.waitForFunction(() => document.querySelector('#study-queue tr[data-status="running"] progress'), null,
    { timeout: 120_000 });
  let rows = await queueRows();
  assert.deepEqual(rows.map((r) => r.id), ['base', 'v1', 'refit']);
  assert.equal(rows.find((r) => r.status === 'running')?.id, rows[0].status === 'done' ? 'v1' : 'base');
  assert.equal(rows[2].status, 'waiting');
  await page.waitForFunction(() => /ETA \d\d:\d\d/.test(document.querySelector('#study-run-progress-text')?.textContent ?? ''),
    null, { timeout: 120_000 }).catch(() => {}); // a tiny run may end before its first chunk is reported
  await page.locator('#study').screenshot({ path: join(SHOTS, 'study-running.png') });

  // The refit is named once base and v1 are done; the study ends after it.
  await page.waitForFunction(() => document.querySelector('#study').dataset.state === 'finished', null, { timeout: 900_000 });
  rows = await queueRows();
  assert.equal(rows.length, 3, 'three runs, the refit included');
  assert.deepEqual(rows.map((r) => r.status), ['done', 'done', 'done']);
  assert.match(rows[2].id, /^(base|v1)\+trainval$/);
  for (const r of rows) {
    assert.match(r.test, /^\d+\.\d\d %$/, `${r.id}: test top-1`);
    assert.equal(r.best, '1', `${r.id}: best epoch`);
  }
  assert.match(rows[0].val, /^\d+\.\d\d %$/);
  assert.match(rows[1].val, /^\d+\.\d\d %$/);
  assert.equal(rows[2].val, 'no val set');
  // The refit is the variant with the higher validation top-1 (the earlier one on ties).
  const better = parseFloat(rows[1].val) > parseFloat(rows[0].val) ? 'v1' : 'base';
  assert.equal(rows[2].id, `${better}+trainval`);
  assert.match(await page.textContent('#study-progress-text'), /3 of 3 runs finished/);
  assert.match(await page.textContent('#study-status'), /Study finished: 3 runs/);
  assert.equal(await page.locator('#study-acc-chart canvas').count(), 1, 'validation accuracy chart drawn');
  assert.equal(await page.locator('#study-loss-chart canvas').count(), 1, 'validation loss chart drawn');
  assert.match(await page.textContent('#study-acc-latest'), /base \d+\.\d\d % \(epoch 1\); v1 \d+\.\d\d % \(epoch 1\)/);

  // Every study run is in the runs table, done, with the queue's test top-1.
  const table = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.replace(/\s+/g, ' ').trim())));
  for (const r of rows) {
    const row = table.find((cells) => cells[0].startsWith(`study · ${r.id}`));
    assert.ok(row, `${r.id} is in the runs table`);
    assert.equal(row[1], 'done');
    assert.equal(row[6], r.test, `${r.id}: the same test top-1 in both tables`);
  }
  // The refitted model is the one loaded: it can be evaluated at once.
  assert.ok(!(await page.isDisabled('#evaluate')), 'the refit model can be evaluated');
  await page.locator('#study').screenshot({ path: join(SHOTS, 'study-finished.png') });

  // The HTML report: every section, nothing fetched from anywhere, the page's numbers.
  const html = await download('#study-report-html');
  assert.equal(html.name, 'fashion-mnist-study-report.html');
  writeFileSync(join(SHOTS, 'study-report.html'), html.text);
  for (const [id, heading] of [
    ['setup', 'Setup'],
    ['results', 'Results'],
    ['validation', 'Validation accuracy of all models'],
    ['deltas', 'Pair-wise comparison'],
    ['models', 'Models'],
    ['refit', 'Train vs train+val on the test set'],
  ]) {
    assert.ok(html.text.includes(`<h2 id="${id}">${heading}</h2>`), `the report has the section ${heading}`);
  }
  assert.ok(!/http/i.test(html.text), 'no http URL in the report');
  assert.ok(html.text.includes('<svg'), 'charts are inline SVG');
  assert.ok(!html.text.includes('Unfinished'), 'a finished study misses nothing');
  // Opened on its own (file://), the report loads nothing else and shows every section.
  const reportPage = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const loaded = [];
  reportPage.on('request', (request) => loaded.push(request.url()));
  await reportPage.goto(`file://${join(SHOTS, 'study-report.html')}`);
  assert.deepEqual(loaded.filter((url) => !url.startsWith('file:')), [], 'the report requests nothing');
  assert.equal(loaded.length, 1, `only the report itself is loaded: ${loaded}`);
  assert.equal(await reportPage.locator('h2').count() >= 6, true, 'every section heading is rendered');
  assert.ok(await reportPage.locator('svg').count() >= 5, 'the charts are drawn');
  await reportPage.screenshot({ path: join(SHOTS, 'study-report.png'), fullPage: true });
  await reportPage.close();
  const results = reportResults(html.text);
  assert.deepEqual(Object.keys(results), rows.map((r) => r.id), 'the report lists the queue\'s runs');
  for (const r of rows) {
    // variant, fit, epochs, best epoch, train top-1, val top-1, test top-1, ...
    const cells = results[r.id];
    assert.equal(cells[3], r.best, `${r.id}: best epoch`);
    assert.equal(cells[6], r.test, `${r.id}: test top-1`);
    if (r.val !== 'no val set') assert.equal(cells[5], r.val, `${r.id}: val top-1`);
  }

  const md = await download('#study-report-md');
  assert.equal(md.name, 'fashion-mnist-study-report.md');
  assert.match(md.text, /^# /m);
  assert.ok(rows.every((r) => md.text.includes(r.id)), 'the Markdown names every run');
  const csv = await download('#study-report-csv');
  const lines = csv.text.trim().split(/\r?\n/);
  assert.equal(lines.length, 4, 'a header and three runs');
  const json = JSON.parse((await download('#study-report-json')).text);
  assert.equal(json.results.length, 3);
  assert.ok(!html.text.includes('<h2 id="catalogue">'), 'no catalogue section without a catalogue');

  // The command line's study with the same plan trains on the same images and reaches the same
  // accuracies (wasm SIMD and native sum in different orders, so losses may differ in the last
  // digits; an image changing sides would show here).
  const cliDir = join(SHOTS, 'study-cli');
  rmSync(cliDir, { recursive: true, force: true });
  const plan = json.config;
  execFileSync(CLI, ['study', '--variants', plan.variants.join(','), '--epochs', String(plan.epochs),
    '--seed', String(plan.seed), '--limit-train', String(plan.limit_train), '--limit-eval', String(plan.limit_eval),
    '--backend', 'cpu', '--catalogue', 'none', '--out', cliDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const cli = JSON.parse(readFileSync(join(cliDir, 'report.json'), 'utf8'));
  assert.deepEqual(cli.results.map((r) => r.id), json.results.map((r) => r.id), 'the same runs');
  for (const [page_, cli_] of json.results.map((r, i) => [r, cli.results[i]])) {
    for (const key of ['best_epoch', 'val_top1', 'test_top1']) {
      const a = page_[key];
      const b = cli_[key];
      assert.ok(a === b || Math.abs(a - b) <= 0.002, `${page_.id} ${key}: page ${a}, CLI ${b}`);
    }
  }

  // A product catalogue evaluated with the refitted model can go into the report.
  assert.ok(await page.isDisabled('#study-catalogue'), 'nothing to include yet');
  assert.ok(existsSync(join(PRODUCTS, 'styles.csv')), `the product photos are in ${PRODUCTS}`);
  await page.setInputFiles('#catalogue-zip', catalogueZip());
  await page.waitForFunction(() => !document.querySelector('#catalogue-evaluate').disabled, null, { timeout: 60_000 });
  await page.click('#catalogue-evaluate');
  await page.waitForFunction(() => !document.querySelector('#catalogue-results').hidden, null, { timeout: 300_000 });
  await page.waitForFunction(() => !document.querySelector('#study-catalogue').disabled);
  const refit = rows[2].id;
  assert.match(await page.textContent('#study-catalogue-note'), new RegExp(`model ${refit.replace('+', '\\+')}, \\d+ photos`));
  await page.check('#study-catalogue');
  const withCatalogue = await download('#study-report-html');
  assert.ok(withCatalogue.text.includes('<h2 id="catalogue">Product catalogue photos</h2>'), 'the catalogue section');
  assert.ok(withCatalogue.text.includes(`<strong>${refit}</strong>`), 'it names the refitted model');
  assert.ok(!/http/i.test(withCatalogue.text), 'still no http URL');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator('#study').screenshot({ path: join(SHOTS, 'study-narrow.png') });
  await page.locator('#study .study-grid').screenshot({ path: join(SHOTS, 'study-narrow-queue.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
  assert.deepEqual(errors, [], 'no uncaught page errors');
});

test('a study cut off by a reload continues without redoing its finished runs', { timeout: 1_200_000 }, async () => {
  await page.goto(`${BASE}?limit=1200`);
  // The finished study is still there after the navigation.
  await page.waitForFunction(() => document.querySelector('#study').dataset.state === 'finished', null, { timeout: 60_000 });
  await page.waitForFunction(() => !document.querySelector('#study-start').disabled, null, { timeout: 180_000 });
  assert.equal((await page.textContent('#study-start')).trim(), 'Run a new study');
  await page.fill('#study-epochs', '3');
  await page.selectOption('#study-backend', 'cpu');
  await page.click('#study-start'); // replaces the finished study (the dialog is accepted)

  // Cut it off during v1, after its first epoch: base is done by then.
  await page.waitForFunction(() => /Epoch 1\/3 of study · v1 done/.test(document.querySelector('#status').textContent), null,
    { timeout: 900_000 });
  await page.click('#study-pause');
  await page.waitForFunction(() => !document.querySelector('#study-resume').disabled, null, { timeout: 60_000 });
  assert.equal(await studyState(), 'paused');
  const before = await queueRows();
  assert.equal(before[0].status, 'done');
  assert.equal(before[1].status, 'paused');
  await page.reload(); // the tab "closes" mid-study

  await page.waitForFunction(() => {
    const b = document.querySelector('#study-continue');
    return document.querySelector('#study').dataset.state === 'stopped' && b && !b.hidden && !b.disabled;
  }, null, { timeout: 180_000 });
  const stopped = await queueRows();
  assert.deepEqual(stopped[0], before[0], 'the finished run is kept as it was');
  assert.equal(stopped[1].status, 'stopped');
  const kept = Number(stopped[1].state.match(/(\d) of 3 epochs kept/)?.[1]);
  assert.ok(kept >= 1 && kept < 3, `v1 keeps its finished epochs: ${stopped[1].state}`);
  assert.match(await page.textContent('#study-status'), new RegExp(`1 of 3 runs finished\\. Continue study picks up at v1 from epoch ${kept + 1}`));
  assert.equal(await page.inputValue('#study-epochs'), '3', 'the settings show the saved study');
  await page.locator('#study').screenshot({ path: join(SHOTS, 'study-stopped.png') });

  // Everything the page says from now on.
  await page.evaluate(() => {
    window.studyLog = [];
    const observer = new MutationObserver(() => {
      for (const id of ['study-status', 'status']) window.studyLog.push(document.getElementById(id).textContent);
    });
    for (const id of ['study-status', 'status']) observer.observe(document.getElementById(id), { childList: true, characterData: true, subtree: true });
  });
  await page.focus('#study-continue');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#study').dataset.state === 'finished', null, { timeout: 900_000 });
  const log = await page.evaluate(() => window.studyLog);
  assert.ok(log.some((t) => new RegExp(`Resuming v1 from epoch ${kept + 1}`).test(t)), 'v1 resumes from its last epoch');
  assert.ok(!log.some((t) => /(Starting|Resuming) base(?!\+)|study · base(?!\+)/.test(t)), `base is not trained again: ${log.join(' | ')}`);
  const done = await queueRows();
  assert.deepEqual(done[0], before[0], 'base keeps its result (and its time)');
  assert.deepEqual(done.map((r) => r.status), ['done', 'done', 'done']);
  assert.match(await page.textContent('#study-status'), /Study finished: 3 runs/);
  // Keyboard: focus went from Continue to Cancel while running, and to the report at the end.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'study-report-html');
  const json = JSON.parse((await download('#study-report-json')).text);
  assert.equal(json.results.length, 3);
  assert.equal(json.missing.length, 0);
  await page.locator('#study').screenshot({ path: join(SHOTS, 'study-continued.png') });
  await page.screenshot({ path: join(SHOTS, 'study-page.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.locator('#study').screenshot({ path: join(SHOTS, 'study-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });

  assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
  assert.deepEqual(errors, [], 'no uncaught page errors');
});

test('a study stored by the page before the worker owned it still opens', { timeout: 300_000 }, async () => {
  // The finished study of the test before, rewritten as the older page stored it: the study as a
  // JSON string whose results have one `seconds`, and each run's plan as a JSON string too.
  await page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('fashion-trainer', 2);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const tx = (name, mode, fn) => new Promise((resolve, reject) => {
      const t = db.transaction(name, mode);
      const req = fn(t.objectStore(name));
      t.oncomplete = () => resolve(req.result);
      t.onerror = () => reject(t.error);
    });
    const saved = await tx('studies', 'readonly', (s) => s.get('current'));
    for (const r of saved.study.results) {
      r.seconds = r.train_seconds + r.test_seconds;
      delete r.train_seconds;
      delete r.test_seconds;
    }
    const legacy = { id: 'current', key: saved.key, json: JSON.stringify(saved.study), backend: saved.backend, createdAt: saved.createdAt };
    await tx('studies', 'readwrite', (s) => s.put(legacy));
    const runs = await tx('runs', 'readonly', (s) => s.getAll());
    for (const run of runs.filter((r) => r.study?.spec)) {
      run.study.spec = JSON.stringify(run.study.spec);
      delete run.description;
      await tx('runs', 'readwrite', (s) => s.put(run));
    }
    db.close();
  });
  await page.reload();
  await page.waitForFunction(() => document.querySelector('#study').dataset.state === 'finished', null, { timeout: 120_000 });
  assert.match(await page.textContent('#study-status'), /Study finished: 3 runs/);
  const rows = await queueRows();
  assert.deepEqual(rows.map((r) => r.status), ['done', 'done', 'done']);
  // Runs stored without a description get the core's.
  await page.waitForFunction(() => [...document.querySelectorAll('#results .run-config')].some((c) => /conv 6\/16 kernels/.test(c.textContent)),
    null, { timeout: 60_000 });
  const json = JSON.parse((await download('#study-report-json')).text);
  assert.equal(json.results.length, 3);
  assert.deepEqual(errors, [], 'no uncaught page errors');
});
