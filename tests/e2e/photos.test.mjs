// End-to-end tests of "Your photos" and "Product catalogue" in Debian's headless Chromium through
// playwright-core. Run by `./build.sh test-e2e` (which builds www/, the CLI and serves the page),
// or by hand with the page served:
//   PAGE_URL=http://127.0.0.1:8765/ CHROMIUM=$(command -v chromium) node --test tests/e2e/photos.test.mjs
// Photos come from the Fashion Product Images sample in $PRODUCTS_DIR (default
// ../shared/data/fashion-products). The page's probabilities are checked against the native CLI
// ($CARGO_TARGET_DIR/release/fashion-trainer predict) with the weights the page saved. Fails if
// any request leaves 127.0.0.1. Screenshots go to $SCREENSHOTS (default: tests/e2e/screenshots).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { BASE, CLI, PRODUCTS, SHOTS, launch, newPage } from './browser.mjs';

const photo = (id) => join(PRODUCTS, 'images', `${id}.jpg`);

// Two photos from the first rows of styles.csv (a shirt and trousers) and a third one (sports shoes).
const PHOTOS = ['15984', '10257'];
const LATER_PHOTO = '12993';

async function openPage({ limit = 6000 } = {}) {
  const browser = await launch();
  const opened = await newPage(browser);
  await opened.page.goto(`${BASE}?limit=${limit}`);
  return { browser, ...opened };
}

async function train(page, epochs = 2) {
  await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 180_000 });
  await page.selectOption('#backend', 'cpu');
  await page.fill('#epochs', String(epochs));
  await page.click('#start');
  await page.waitForFunction(() => /finished/.test(document.querySelector('#status').textContent), null,
    { timeout: 300_000 });
}

// Waits until every card of `names` is processed; returns {name: state}.
async function waitForCards(page, names, { probabilities = true } = {}) {
  await page.waitForFunction(({ names, probabilities }) => names.every((name) => {
    const card = [...document.querySelectorAll('#photo-cards .photo-card')].find((c) => c.dataset.name === name);
    if (!card || card.getAttribute('aria-busy') !== 'false') return false;
    return card.dataset.state === 'error' || !probabilities || !!card.dataset.probabilities;
  }), { names, probabilities }, { timeout: 120_000 });
}

/** An uncompressed 24-bit BMP of `width` x `height` white pixels. */
function whiteBmp(width, height) {
  const row = Math.ceil((width * 3) / 4) * 4;
  const bytes = Buffer.alloc(54 + row * height, 0xff);
  bytes.write('BM', 0, 'latin1');
  const ints = [[2, bytes.length], [6, 0], [10, 54], [14, 40], [18, width], [22, height], [30, 0], [34, row * height], [38, 2835], [42, 2835], [46, 0], [50, 0]];
  for (const [at, value] of ints) bytes.writeUInt32LE(value, at);
  bytes.writeUInt16LE(1, 26);
  bytes.writeUInt16LE(24, 28);
  return bytes;
}

const card = (page, name) => page.locator(`#photo-cards .photo-card[data-name="${name}"]`);

test('your photos: every step, top three, a bad file, and the same probabilities as the CLI', { timeout: 900_000 }, async () => {
  const { browser, page, outside, errors } = await openPage();
  try {
    // Before any model: the steps and a hint, no prediction.
    await page.waitForFunction(() => !document.querySelector('#photo-files').disabled, null, { timeout: 60_000 });
    await page.setInputFiles('#photo-files', photo(PHOTOS[0]));
    await waitForCards(page, [`${PHOTOS[0]}.jpg`], { probabilities: false });
    const first = card(page, `${PHOTOS[0]}.jpg`);
    assert.equal(await first.locator('.step').count(), 5, 'five step images');
    // A shirt photographed on a person: auto keeps only the garment, and the steps say so.
    assert.match(await first.textContent(), /a person: the garment they wear is outlined/);
    assert.match(await first.textContent(), /The garment alone: skin and what is below it removed/);
    assert.match(await first.textContent(), /Train a model or load weights to see a prediction/);

    await train(page);
    // The finished run's best weights predict the card that was already there.
    await page.waitForFunction((name) => document.querySelector(`.photo-card[data-name="${name}"]`)?.dataset.probabilities,
      `${PHOTOS[0]}.jpg`, { timeout: 60_000 });

    // Two photos at once through the file input.
    await page.click('#photo-clear');
    await page.setInputFiles('#photo-files', PHOTOS.map(photo));
    const names = PHOTOS.map((id) => `${id}.jpg`);
    await waitForCards(page, names);
    for (const name of names) {
      const c = card(page, name);
      assert.equal(await c.getAttribute('data-state'), 'done', `${name} processed`);
      assert.equal(await c.locator('.step').count(), 5, `${name}: five step images`);
      assert.equal(await c.locator('.step img').count(), 1, `${name}: the original photo`);
      assert.equal(await c.locator('.step canvas').count(), 4, `${name}: crop, 28x28, grayscale, inverted`);
      assert.equal(await c.locator('.crop-box').count(), 1, `${name}: the crop box`);
      await page.waitForFunction((n) => document.querySelector(`.photo-card[data-name="${n}"] .step img`)?.complete, name);
      assert.ok(await c.locator('.step img').evaluate((img) => img.naturalWidth > 0), `${name}: the original is shown`);
      const top = c.locator('ol.top3 li');
      assert.equal(await top.count(), 3, `${name}: top three`);
      assert.match(await top.first().textContent(), /\d+\.\d %/);
      const probs = JSON.parse(await c.getAttribute('data-probabilities'));
      assert.equal(probs.length, 10);
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, `${name}: probabilities sum to 1`);
    }
    await page.locator('#photos').screenshot({ path: join(SHOTS, 'photos.png') });

    // A text file posing as a photo: an error card naming the file and why; the page keeps working.
    const junk = join(SHOTS, 'not-a-photo.jpg');
    writeFileSync(junk, 'this is a text file, not a JPEG');
    await page.setInputFiles('#photo-files', junk);
    await waitForCards(page, ['not-a-photo.jpg']);
    const bad = card(page, 'not-a-photo.jpg');
    assert.equal(await bad.getAttribute('data-state'), 'error');
    assert.match(await bad.textContent(), /not-a-photo\.jpg: not an image: expected JPEG, PNG, WebP, GIF or BMP/);
    // A blank (all white) photo: its steps are shown, and no class, with the core's reason.
    const blank = join(SHOTS, 'blank.bmp');
    writeFileSync(blank, whiteBmp(16, 12));
    await page.setInputFiles('#photo-files', blank);
    await waitForCards(page, ['blank.bmp'], { probabilities: false });
    const blankCard = card(page, 'blank.bmp');
    assert.equal(await blankCard.getAttribute('data-state'), 'done');
    assert.equal(await blankCard.getAttribute('data-probabilities'), null, 'a blank photo gets no class');
    assert.match(await blankCard.textContent(), /No object found: the photo is blank/);
    await page.setInputFiles('#photo-files', photo(LATER_PHOTO));
    await waitForCards(page, [`${LATER_PHOTO}.jpg`]);
    assert.equal(await card(page, `${LATER_PHOTO}.jpg`).getAttribute('data-state'), 'done', 'a later photo still works');
    await page.locator('#photos').screenshot({ path: join(SHOTS, 'photos-error.png') });

    // Drag and drop onto the zone, and a paste anywhere on the page (an unnamed clipboard image).
    const drop = async (selector, eventType, id, name) => page.evaluate(({ selector, eventType, b64, name }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], name, { type: 'image/jpeg' }));
      const target = document.querySelector(selector);
      if (eventType === 'drop') {
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      } else {
        target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      }
    }, { selector, eventType, b64: readFileSync(photo(id)).toString('base64'), name });
    await drop('#photo-drop', 'drop', '11940', '11940.jpg');
    await drop('body', 'paste', '12732', 'image.png');
    await waitForCards(page, ['11940.jpg', 'pasted image 1.jpg']);
    assert.equal(await card(page, '11940.jpg').getAttribute('data-state'), 'done', 'a dropped photo');
    assert.equal(await card(page, 'pasted image 1.jpg').getAttribute('data-state'), 'done', 'a pasted photo');

    // Another crop runs every photo again; back to auto for the comparison with the CLI.
    const autoProbs = await card(page, names[0]).getAttribute('data-probabilities');
    await page.selectOption('#photo-mode', 'center');
    await page.waitForFunction((n) => /center crop/.test(document.querySelector(`.photo-card[data-name="${n}"] .photo-head`).textContent), names[0]);
    await waitForCards(page, names);
    assert.notEqual(await card(page, names[0]).getAttribute('data-probabilities'), autoProbs, 'the center crop gives other inputs');
    await page.selectOption('#photo-mode', 'auto');
    await page.waitForFunction((n) => /auto crop/.test(document.querySelector(`.photo-card[data-name="${n}"] .photo-head`).textContent), names[0]);
    await waitForCards(page, names);

    // Parity: the weights the page saves, run by the native CLI on the same photos.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-weights')]);
    const weights = join(SHOTS, 'photos-model.ftw');
    copyFileSync(await download.path(), weights);
    assert.ok(existsSync(CLI), `the native CLI is built (${CLI})`);
    // The shoe is a wide object, which auto crops mirror: that path is compared too.
    const compared = [...PHOTOS, LATER_PHOTO];
    const cli = JSON.parse(execFileSync(CLI, ['predict', '--model', weights, '--preprocess', 'auto', '--json', ...compared.map(photo)],
      { encoding: 'utf8' }));
    for (const [i, name] of compared.map((id) => `${id}.jpg`).entries()) {
      const pageProbs = JSON.parse(await card(page, name).getAttribute('data-probabilities'));
      const cliProbs = cli[i].probabilities;
      const diff = Math.max(...pageProbs.map((p, k) => Math.abs(p - cliProbs[k])));
      console.log(`${name}: page top ${pageProbs.indexOf(Math.max(...pageProbs))}, CLI ${cli[i].class}, max difference ${diff.toExponential(2)}`);
      assert.ok(diff <= 1e-4, `${name}: page and CLI probabilities differ by ${diff}`);
    }

    // After a reload the stored run's weights can be used again: the same probabilities.
    const before = JSON.parse(await card(page, names[0]).getAttribute('data-probabilities'));
    await page.reload();
    await page.waitForFunction(() => {
      const b = document.querySelector('#results button[data-action="use"]');
      return b && !b.disabled;
    }, null, { timeout: 180_000 });
    await page.setInputFiles('#photo-files', photo(PHOTOS[0]));
    await waitForCards(page, [names[0]], { probabilities: false });
    assert.match(await card(page, names[0]).textContent(), /Train a model or load weights/);
    await page.click('#results button[data-action="use"]');
    await page.waitForFunction((n) => document.querySelector(`.photo-card[data-name="${n}"]`)?.dataset.probabilities,
      names[0], { timeout: 60_000 });
    const after = JSON.parse(await card(page, names[0]).getAttribute('data-probabilities'));
    assert.ok(Math.max(...after.map((p, k) => Math.abs(p - before[k]))) < 1e-6, 'the stored weights predict the same');
    assert.match(await card(page, names[0]).textContent(), /Model: .*best epoch \d/);
    await page.setInputFiles('#photo-files', [photo(PHOTOS[1]), photo(LATER_PHOTO)]);
    await waitForCards(page, [names[1], `${LATER_PHOTO}.jpg`]);

    // Keyboard: Remove moves focus to the next card's Remove button.
    await card(page, names[0]).locator('button[data-action="remove-photo"]').focus();
    await page.keyboard.press('Enter');
    assert.equal(await card(page, names[0]).count(), 0, 'removed');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'remove-photo');

    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#photos').screenshot({ path: join(SHOTS, 'photos-narrow.png') });

    assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
    assert.deepEqual(errors, [], 'no uncaught page errors');
  } finally {
    await browser.close();
  }
});

// styles.csv with the header and the first `rows` rows of the sample, and the photos it names.
function catalogueFiles({ rows = 40, junkId = null } = {}) {
  const lines = readFileSync(join(PRODUCTS, 'styles.csv'), 'utf8').split(/\r?\n/).filter(Boolean);
  const kept = lines.slice(0, rows + 1);
  const files = { 'styles.csv': strToU8(`${kept.join('\n')}\n`) };
  for (const line of kept.slice(1)) {
    const id = line.split(',')[0];
    if (id === junkId) files[`images/${id}.jpg`] = strToU8('not a photo');
    else if (existsSync(photo(id))) files[`images/${id}.jpg`] = readFileSync(photo(id));
  }
  return files;
}

test('a product catalogue: folder and .zip, report, confusion matrix, mistakes, clear errors', { timeout: 900_000 }, async () => {
  const { browser, page, outside, errors } = await openPage();
  try {
    // The 4th row (18461, Deodorant) is unmapped; the 1st (21379, Track Pants) gets a broken photo.
    const junkId = '21379';
    const files = catalogueFiles({ junkId });
    // Photos stored, styles.csv deflated, everything under a folder: both entry kinds and the lookup.
    const zipped = {};
    for (const [path, bytes] of Object.entries(files)) zipped[`products/${path}`] = [bytes, { level: path.endsWith('.jpg') ? 0 : 6 }];
    const zipPath = join(SHOTS, 'catalogue.zip');
    writeFileSync(zipPath, zipSync(zipped));

    await page.waitForFunction(() => !document.querySelector('#catalogue-zip').disabled && document.querySelector('#label-map').value,
      null, { timeout: 180_000 });
    assert.match(await page.inputValue('#label-map'), /articleType,class/);
    assert.match(await page.textContent('#catalogue-why'), /Choose a catalogue/);

    // A folder first (webkitdirectory): styles.csv and images/ are found by relative path.
    const dir = join(SHOTS, 'catalogue-folder');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'images'), { recursive: true });
    for (const [path, bytes] of Object.entries(files)) writeFileSync(join(dir, path), bytes);
    await page.setInputFiles('#catalogue-folder', dir);
    await page.waitForFunction(() => /\(folder\).*styles\.csv/.test(document.querySelector('#catalogue-source').textContent),
      null, { timeout: 60_000 });
    await page.waitForFunction(() => /40 rows in styles\.csv/.test(document.querySelector('#catalogue-plan').textContent));

    // A label map with a wrong class is named with its line; Reset brings the default back.
    const defaultMap = await page.inputValue('#label-map');
    await page.fill('#label-map', 'articleType,class\nShirts,Shirt\nWatches,Wristwatch\n');
    await page.waitForFunction(() => /line 3: unknown class 'Wristwatch'/.test(document.querySelector('#label-map-error').textContent));
    assert.equal(await page.getAttribute('#label-map', 'aria-invalid'), 'true');
    await page.click('#label-map-reset');
    await page.waitForFunction(() => document.querySelector('#label-map-error').hidden);
    assert.equal(await page.inputValue('#label-map'), defaultMap);

    // The .zip.
    await page.setInputFiles('#catalogue-zip', zipPath);
    await page.waitForFunction(() => /catalogue\.zip \(\.zip\): products\/styles\.csv/.test(document.querySelector('#catalogue-source').textContent),
      null, { timeout: 60_000 });
    await page.waitForFunction(() => /40 rows in styles\.csv/.test(document.querySelector('#catalogue-plan').textContent));
    assert.match(await page.textContent('#catalogue-why'), /Train a model or load weights/);

    await train(page);
    await page.waitForFunction(() => !document.querySelector('#catalogue-evaluate').disabled);
    await page.click('#catalogue-evaluate');
    await page.waitForFunction(() => !document.querySelector('#catalogue-results').hidden, null, { timeout: 300_000 });
    assert.match(await page.textContent('#catalogue-progress-text'), /Done: \d+ photos evaluated/);

    const summary = await page.textContent('#catalogue-summary');
    assert.match(summary, /Top-1 accuracy \d+\.\d\d %/, summary);
    const report = page.locator('#catalogue-report tbody tr');
    assert.equal(await report.count(), 13, 'ten classes, accuracy, macro and weighted averages');
    assert.match(await page.textContent('#catalogue-report'), /no photos/, 'classes without photos say so');
    assert.equal(await page.locator('#catalogue-confusion button').count(), 100, 'confusion matrix has 100 cells');
    assert.match(await page.textContent('#catalogue-unmapped'), /Watches: \d+ rows?/);
    assert.match(await page.textContent('#catalogue-skipped'), new RegExp(`${junkId}: not an image`));
    assert.match(await page.textContent('#catalogue-text'), /precision/);
    const mistakes = page.locator('#mistakes li.mistake');
    assert.ok(await mistakes.count() > 0, 'a short run makes mistakes');
    assert.match(await mistakes.first().textContent(), /→.*% sure/s);
    assert.equal(await mistakes.first().locator('img.model-input').count(), 1, 'the 28x28 input');
    await page.waitForFunction(() => document.querySelector('#mistakes li.mistake img:not(.model-input)')?.naturalWidth > 0, null, { timeout: 30_000 });
    await page.locator('#catalogue').screenshot({ path: join(SHOTS, 'catalogue.png') });

    // A confusion cell off the diagonal lists its mistakes only.
    const cellButton = page.locator('#catalogue-confusion button.miss').filter({ hasNotText: /^0$/ }).first();
    const [t, p] = [await cellButton.getAttribute('data-t'), await cellButton.getAttribute('data-p')];
    await cellButton.click();
    await page.waitForFunction(() => /predicted as/.test(document.querySelector('#mistakes-note').textContent));
    const shown = await page.locator('#mistakes li.mistake').count();
    assert.ok(shown >= 1, `cell ${t},${p} lists its mistakes`);
    await page.click('#mistakes-all');
    assert.ok(await page.locator('#mistakes li.mistake').count() >= shown);
    // The matrix is one tab stop; arrow keys move inside, Enter chooses a cell.
    await page.locator('#catalogue-confusion button[data-t="0"][data-p="0"]').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    assert.deepEqual(await page.evaluate(() => [document.activeElement.dataset.t, document.activeElement.dataset.p]), ['1', '1']);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /Correct predictions of Trouser are not listed/.test(document.querySelector('#mistakes-note').textContent));
    await page.click('#mistakes-all');

    // Evaluating again with the same catalogue reuses the photos already read.
    await page.click('#catalogue-evaluate');
    await page.waitForFunction(() => /Done:/.test(document.querySelector('#catalogue-progress-text').textContent)
      && !document.querySelector('#catalogue-evaluate').disabled, null, { timeout: 120_000 });

    // The whole sample as a folder: progress with photos/s, and Cancel stops it; the page goes on.
    await page.setInputFiles('#catalogue-folder', PRODUCTS);
    await page.waitForFunction(() => /\(folder\).*styles\.csv and [\d,]+ photos/.test(document.querySelector('#catalogue-source').textContent),
      null, { timeout: 120_000 });
    await page.click('#catalogue-evaluate');
    await page.waitForFunction(() => /^[1-9][\d,]*\/[\d,]+ photos · [\d.]+ photos\/s · ETA/.test(document.querySelector('#catalogue-progress-text').textContent),
      null, { timeout: 120_000 });
    await page.locator('#catalogue-progress-block').screenshot({ path: join(SHOTS, 'catalogue-progress.png') });
    await page.click('#catalogue-cancel');
    assert.equal(await page.textContent('#catalogue-progress-text'), 'Cancelled.');
    await page.waitForFunction(() => !document.querySelector('#catalogue-evaluate').disabled);
    assert.ok(!(await page.isHidden('#catalogue-results')), 'the earlier results stay');

    // A styles.csv without articleType: a message that names the column.
    const broken = zipSync({ 'styles.csv': strToU8('id,gender,type\n1,Men,Shirts\n'), 'images/1.jpg': files[`images/${PHOTOS[0]}.jpg`] ?? strToU8('x') });
    const brokenPath = join(SHOTS, 'broken-catalogue.zip');
    writeFileSync(brokenPath, broken);
    await page.setInputFiles('#catalogue-zip', brokenPath);
    await page.waitForFunction(() => /no 'articleType' column/.test(document.querySelector('#catalogue-error').textContent),
      null, { timeout: 60_000 });
    assert.match(await page.textContent('#catalogue-error'), /styles\.csv: no 'articleType' column \(the header is: id,gender,type\)/);

    // Not a zip at all.
    const notZip = join(SHOTS, 'not-a-zip.zip');
    writeFileSync(notZip, 'plain text');
    await page.setInputFiles('#catalogue-zip', notZip);
    await page.waitForFunction(() => /not a \.zip file/.test(document.querySelector('#catalogue-source').textContent));
    await page.locator('#catalogue').screenshot({ path: join(SHOTS, 'catalogue-error.png') });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.setInputFiles('#catalogue-zip', zipPath);
    await page.waitForFunction(() => /products\/styles\.csv/.test(document.querySelector('#catalogue-source').textContent));
    await page.click('#catalogue-evaluate');
    await page.waitForFunction(() => /Done:/.test(document.querySelector('#catalogue-progress-text').textContent)
      && !document.querySelector('#catalogue-evaluate').disabled, null, { timeout: 300_000 });
    await page.locator('#catalogue').screenshot({ path: join(SHOTS, 'catalogue-narrow.png') });

    assert.deepEqual(outside, [], 'no request leaves 127.0.0.1');
    assert.deepEqual(errors, [], 'no uncaught page errors');
  } finally {
    await browser.close();
  }
});
