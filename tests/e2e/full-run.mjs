// Manual check for the web-page issue (not part of ./build.sh test: it takes minutes, or hours on
// SwiftShader's WebGPU): trains a preset for all its epochs on the full data in headless Chromium
// and prints every epoch and the test accuracy.
// Usage: node tests/e2e/full-run.mjs [preset] [backend] [workers]; PAGE_URL as for the test.
// `workers`: the CPU workers sharing each batch (default: the page's, every core).
// With USER_DATA_DIR the browser profile (and so the page's IndexedDB) lives there: a run cut off
// by a stop (a killed process, a closed session) is resumed from its last finished epoch by the
// next call with the same directory and page origin, instead of starting a new one.
import { chromium } from 'playwright-core';

const [preset = 'base', backend = 'cpu', workers = ''] = process.argv.slice(2);
const BASE = process.env.PAGE_URL ?? 'http://127.0.0.1:8080/';
const options = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'],
  viewport: { width: 1280, height: 800 },
};
// Without a profile directory, closing the context would leave the browser (and node) running.
const browser = process.env.USER_DATA_DIR ? null : await chromium.launch(options);
const context = browser
  ? await browser.newContext({ viewport: options.viewport })
  : await chromium.launchPersistentContext(process.env.USER_DATA_DIR, options);
const page = await context.newPage();
const started = Date.now();
await page.goto(BASE);
await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 300_000 });
console.log(`ready to train after ${((Date.now() - started) / 1000).toFixed(1)} s`);
const t0 = Date.now();
const resume = page.locator('#results button[data-action="resume-run"]:not([disabled])');
if (await resume.count() > 0) {
  console.log(`resuming: ${(await page.textContent('#results tbody tr')).replace(/\s+/g, ' ')}`);
  await resume.first().click();
} else {
  await page.selectOption('#preset', preset);
  await page.selectOption('#backend', backend);
  if (workers) {
    await page.fill('#workers', workers);
    await page.dispatchEvent('#workers', 'change');
  }
  await page.click('#start');
}
let last = '';
let lastPrinted = 0;
while (true) {
  await page.waitForTimeout(5000);
  const status = await page.textContent('#status');
  const progress = await page.textContent('#progress-text');
  // Status changes at once, progress once a minute (an epoch on SwiftShader takes ~8 minutes).
  if (status !== last || Date.now() - lastPrinted > 60_000) {
    console.log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${status} | ${progress}`);
    last = status;
    lastPrinted = Date.now();
  }
  const done = await page.evaluate(() => !document.querySelector('#start').disabled && document.querySelector('#cancel').disabled);
  if (done) break;
}
console.log((await page.textContent('#results tbody tr')).replace(/\s+/g, ' '));
await page.click('#evaluate');
await page.waitForFunction(() => /precision/.test(document.querySelector('#report').textContent), null, { timeout: 300_000 });
console.log(await page.textContent('#report'));
await page.screenshot({ path: process.env.SCREENSHOT ?? '/tmp/full-run.png', fullPage: true });
console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
await context.close();
await browser?.close();
