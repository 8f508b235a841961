// End-to-end test of what the page shows from outside text, in Debian's headless Chromium through
// playwright-core: a run label, a photo's file name, a catalogue's file name and styles.csv
// fields, a label map, a weights file's label and the downloaded study report all carry HTML and
// script, which must show as text and never run. The page's Content-Security-Policy (no inline
// script or style) is on, and browser.mjs fails the test on any violation of it. Run by
// `./build.sh test-e2e`, or by hand with the page served:
//   PAGE_URL=http://127.0.0.1:8765/ CHROMIUM=$(command -v chromium) node --test tests/e2e/hostile.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { BASE, PRODUCTS, SHOTS, launch, newPage } from './browser.mjs';

// Each sets window.__pwned (and the first ones open a dialog) if it ever runs.
const LABEL = '<img src=x onerror=__pwned=1></script><script>__pwned=1</script>';
const PHOTO = '<img src=x onerror=__pwned=2>.jpg';
const ZIP = '<svg onload=__pwned=3>.zip';
const ID = '<img src=x onerror=__pwned=4>';
const TYPE = '<script>__pwned=5</script>';
const MAPPED = '<b onmouseover=__pwned=6>Shirts</b>';
const CLASS = '<img src=x onerror=alert(7)>';

const flat = (s) => s.replace(/\s+/g, ' ');

test('HTML and script in names, fields, labels and the report show as text and never run', { timeout: 300_000 }, async () => {
  const browser = await launch();
  try {
    const { page, errors } = await newPage(browser);
    const dialogs = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss();
    });
    const pwned = () => page.evaluate(() => /** @type {any} */ (window).__pwned ?? null);
    // Nothing injected became an element.
    const injected = () => page.evaluate(() => document.querySelectorAll('img[src="x"], svg[onload], b[onmouseover], script:not([src])').length);
    const visible = async (selector, what) => assert.ok(flat(await page.textContent(selector)).includes(what), `${selector} shows ${what} as text`);

    await page.goto(`${BASE}?limit=300`);
    await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 180_000 });
    await page.selectOption('#backend', 'cpu');
    await page.fill('#label', LABEL);
    assert.equal(await page.inputValue('#label'), LABEL.slice(0, 60), 'the label field keeps 60 characters');
    const label = LABEL.slice(0, 60);
    await page.fill('#epochs', '1');
    await page.click('#start');
    await page.waitForFunction(() => /finished/.test(document.querySelector('#status').textContent), null, { timeout: 120_000 });
    await visible('#results', label);
    await visible('#status', label);

    // The run's weights: downloaded, then loaded back (its label comes from inside the file).
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-weights')]);
    assert.doesNotMatch(download.suggestedFilename(), /[<>]/, 'a file-safe download name');
    const weights = join(SHOTS, 'hostile.ftw');
    writeFileSync(weights, readFileSync(await download.path()));

    // A photo whose file name is HTML.
    await page.setInputFiles('#photo-files', { name: PHOTO, mimeType: 'image/jpeg', buffer: readFileSync(join(PRODUCTS, 'images', '15984.jpg')) });
    await page.waitForFunction((name) => {
      const card = [...document.querySelectorAll('#photo-cards .photo-card')].find((c) => c.dataset.name === name);
      return card?.getAttribute('aria-busy') === 'false';
    }, PHOTO, { timeout: 60_000 });
    await visible('#photo-cards', PHOTO);
    await visible('#photo-status', PHOTO);

    // A tiny study (base, refitted): its report is checked below.
    for (const v of ['v1', 'v2', 'v3', 'v4']) await page.uncheck(`#study-variant-${v}`);
    await page.fill('#study-epochs', '1');
    await page.click('#study-start');
    await page.waitForFunction(() => document.querySelector('#study').dataset.state === 'finished', null, { timeout: 180_000 });

    // The weights file: its label names the model.
    await page.setInputFiles('#load-weights', weights);
    await page.waitForFunction(() => /Loaded/.test(document.querySelector('#weights-message').textContent), null, { timeout: 60_000 });
    await visible('#weights-message', label);

    // A catalogue whose id is HTML: refused by line (an id names a photo file), shown as text.
    const header = 'id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage\n';
    const row = (id, type) => `${id},Men,Apparel,Topwear,${type},Blue,Fall,2011,Casual\n`;
    const shirt = readFileSync(join(PRODUCTS, 'images', '15984.jpg'));
    const badIds = zipSync({ 'styles.csv': strToU8(header + row(ID, MAPPED)), [`images/${ID}.jpg`]: shirt });
    await page.setInputFiles('#catalogue-zip', { name: ZIP, mimeType: 'application/zip', buffer: Buffer.from(badIds) });
    await page.waitForFunction(() => /is not a plain name/.test(document.querySelector('#catalogue-error').textContent), null, { timeout: 60_000 });
    await visible('#catalogue-error', `line 2: product id '${ID}' is not a plain name`);

    // A catalogue whose file name and article types are HTML, with a label map that is too.
    const styles = header + row(15984, MAPPED) + row(15970, TYPE) +
      '10257,Men,Apparel,Bottomwear,Trousers,Black,Fall,2011,Casual\n' + row(11111, MAPPED);
    const zip = zipSync({
      'styles.csv': strToU8(styles),
      'images/15984.jpg': shirt,
      'images/10257.jpg': readFileSync(join(PRODUCTS, 'images', '10257.jpg')),
      'images/11111.jpg': strToU8('not a photo'),
    });
    await page.setInputFiles('#catalogue-zip', { name: ZIP, mimeType: 'application/zip', buffer: Buffer.from(zip) });
    await page.waitForFunction((name) => document.querySelector('#catalogue-source').textContent.startsWith(`${name} (.zip)`)
      && document.querySelector('#catalogue-error').hidden, ZIP, { timeout: 60_000 });
    await page.fill('#label-map', `articleType,class\n${MAPPED},${CLASS}\n`);
    await page.waitForFunction(() => !document.querySelector('#label-map-error').hidden, null, { timeout: 10_000 });
    await visible('#label-map-error', `unknown class '${CLASS}'`);
    await page.fill('#label-map', `articleType,class\n${MAPPED},Shirt\nTrousers,Trouser\n`);
    await page.waitForFunction(() => !document.querySelector('#catalogue-evaluate').disabled, null, { timeout: 10_000 });
    await page.click('#catalogue-evaluate');
    await page.waitForFunction(() => !document.querySelector('#catalogue-results').hidden, null, { timeout: 120_000 });
    await visible('#catalogue-summary', ZIP);
    await visible('#catalogue-unmapped', TYPE);
    await visible('#catalogue-skipped', '11111');
    await visible('#catalogue-text', TYPE);
    await visible('#catalogue-source', ZIP);
    await page.screenshot({ path: join(SHOTS, 'hostile.png'), fullPage: true });

    // The study report with the catalogue section, whose model is the weights file's label.
    await page.check('#study-catalogue');
    const [report] = await Promise.all([page.waitForEvent('download'), page.click('#study-report-html')]);
    const html = readFileSync(await report.path(), 'utf8');
    assert.ok(html.includes('&lt;img src=x onerror=__pwned=1&gt;'), 'the label is escaped in the report');
    assert.ok(!html.includes('<img src=x') && !html.includes('<script'), 'nothing of it is markup in the report');
    const reportPage = await browser.newPage();
    reportPage.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss();
    });
    await reportPage.setContent(html);
    assert.ok(flat(await reportPage.textContent('body')).includes(label), 'the report shows the label as text');
    assert.equal(await reportPage.evaluate(() => /** @type {any} */ (window).__pwned ?? null), null, 'the report runs nothing');
    await reportPage.close();

    assert.equal(await pwned(), null, 'nothing injected ran');
    assert.equal(await injected(), 0, 'nothing injected became an element');
    assert.deepEqual(dialogs, [], 'no dialog opened');
    assert.deepEqual(errors, [], 'no page error and no CSP violation');
  } finally {
    await browser.close();
  }
});
