// Runs the TF.js reference benchmark page (index.html beside this file) in Debian's headless
// Chromium and prints its lines ("BENCH name value" ones for benches/run.sh). TFJS_URL is the page
// as served by a local http.server rooted at benches; CHROMIUM as for the e2e test.
import { chromium } from 'playwright-core';

const url = process.env.TFJS_URL ?? 'http://127.0.0.1:8767/tfjs/index.html';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const page = await browser.newPage();
page.on('console', (msg) => console.log(msg.text()));
page.on('pageerror', (e) => console.log(`ERROR page: ${e}`));
// Nothing may come from the internet: refuse every request that is not to the local server.
const origin = new URL(url).origin;
await page.route('**/*', (route) =>
  route.request().url().startsWith(origin) ? route.continue() : route.abort());
await page.goto(url);
const result = await page.evaluate(() => window.benchDone, null);
await browser.close();
if (result !== 'ok') {
  console.error(`tfjs benchmark: ${result}`);
  process.exit(1);
}
