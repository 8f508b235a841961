// What every end-to-end test shares: where the page, Chromium, the photos and the native CLI
// are, and a page opened in Debian's headless Chromium (playwright-core, never a downloaded
// browser) that records every request leaving 127.0.0.1, every uncaught page error and every
// Content-Security-Policy violation (the page's or its worker's).
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = process.env.PAGE_URL ?? 'http://127.0.0.1:8080/';
export const SHOTS = process.env.SCREENSHOTS ?? new URL('./screenshots', import.meta.url).pathname;
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ROOT = new URL('../../', import.meta.url).pathname;
export const PRODUCTS = process.env.PRODUCTS_DIR ?? join(ROOT, '..', 'shared', 'data', 'fashion-products');
const TARGET = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache', 'fashion-trainer', 'target');
export const CLI = join(TARGET, 'release', 'fashion-trainer');
mkdirSync(SHOTS, { recursive: true });

/** Chromium, with SwiftShader's WebGPU adapter when `webgpu`, its fake camera when `camera`. */
export function launch({ webgpu = false, camera = false } = {}) {
  const args = ['--no-sandbox'];
  if (webgpu) args.push('--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader');
  if (camera) args.push('--use-fake-device-for-media-stream');
  return chromium.launch({ executablePath: CHROMIUM, args });
}

/**
 * A page of `browser` at 1280x800 that accepts downloads; `outside` collects the requests that
 * leave 127.0.0.1 and `errors` the uncaught page errors and CSP violations (both must stay
 * empty). `context` opens another page of the same browser profile (`addPage`).
 */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  // Chromium logs a violation to the console too; the event also names what was blocked.
  await context.addInitScript(() => {
    self.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline code'}`);
    });
  });
  const outside = [];
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (!['127.0.0.1', 'localhost'].includes(url.hostname) && !['data:', 'blob:'].includes(url.protocol)) {
      outside.push(request.url());
    }
  });
  const errors = [];
  const watch = (page) => {
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      console.log('[page console]', m.text());
      if (/Content[- ]Security[- ]Policy|CSP violation/i.test(m.text())) errors.push(`CSP: ${m.text()}`);
    });
    return page;
  };
  const page = watch(await context.newPage());
  const addPage = async () => watch(await context.newPage());
  return { page, outside, errors, context, addPage };
}

/** Opens `url` and waits until the page is ready to train. */
export async function openReady(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 180_000 });
}

/** Trains a short run on the CPU (`preset` and `label` when given) and waits until it finished. */
export async function trainShort(page, { epochs, preset, label } = {}) {
  await page.selectOption('#backend', 'cpu');
  if (preset) await page.selectOption('#preset', preset);
  if (epochs) await page.fill('#epochs', String(epochs));
  if (label) await page.fill('#label', label);
  await page.click('#start');
  await page.waitForFunction(() => /finished/.test(document.querySelector('#status').textContent), null, { timeout: 300_000 });
}

/** The newest run the page keeps in IndexedDB. */
export const newestRun = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('fashion-trainer');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const all = open.result.transaction('runs').objectStore('runs').getAll();
    all.onsuccess = () => resolve(all.result.sort((a, b) => b.createdAt - a.createdAt)[0]);
  };
}));

/** Evaluates the model on the test set and opens the first image of the confusion matrix's first cell. */
export async function openFirstTestImage(page) {
  await page.click('#evaluate');
  // The status says "Evaluating…" from the click until this evaluation is shown (a report already
  // on the page from an earlier one would not wait, and its end would close the gallery).
  await page.waitForFunction(() => /^Test top-1 of/.test(document.querySelector('#status').textContent), null, { timeout: 300_000 });
  await page.locator('#confusion button').first().click();
  await page.waitForFunction(() => document.querySelectorAll('#gallery-images button').length > 0, null, { timeout: 60_000 });
  await page.locator('#gallery-images button').first().click();
}
