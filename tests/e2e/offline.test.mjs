// Offline (issue 16): after one visit the page loads and trains with the network off (the
// browser context offline: nothing reaches the server), from the service worker's copy of the
// page and the worker's copy of the shards; a new build (another offline.js) replaces the old
// copy. The page is served from a copy of www/ by a server of this test's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { launch, newPage, openReady, trainShort } from './browser.mjs';

const WWW = new URL('../../www/', import.meta.url).pathname;
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm' };

/** A static server for `root` on a free port; `hits` counts the requests that reached it. */
async function serve(root) {
  const server = createServer((req, res) => {
    server.hits++;
    server.log.push(req.url);
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '');
    let file = join(root, path || 'index.html');
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end();
    }
  });
  server.hits = 0;
  server.log = [];
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

const appCaches = (page) => page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('fashion-trainer-app-')));

test('after one visit the page loads and trains offline; a new build replaces the copy', { timeout: 600_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'offline-'));
  cpSync(WWW, root, { recursive: true });
  const { server, url } = await serve(root);
  const browser = await launch();
  try {
    const { page, context, errors } = await newPage(browser);
    await openReady(page, `${url}?limit=1000`);
    await page.evaluate(() => navigator.serviceWorker.ready);
    const version = readFileSync(join(root, 'offline.js'), 'utf8').match(/version: "(\w+)"/)[1];
    assert.deepEqual(await appCaches(page), [`fashion-trainer-app-${version}`]);

    // Offline for the page, and the server gone too: the browser's own update check of sw.js
    // is not covered by the page's offline emulation, and must find nothing either.
    await context.setOffline(true);
    const port = server.address().port;
    await new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); });
    const hits = server.hits;
    await page.reload();
    await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 180_000 });
    await trainShort(page, { epochs: 1 });
    assert.deepEqual(server.log.slice(hits), [], 'nothing reached the server while offline');
    assert.match(await page.textContent('#results tbody tr'), /\d+(\.\d+)? %/);

    // A new build: offline.js changes, the service worker is installed again and its copy
    // replaces the old one.
    await context.setOffline(false);
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    writeFileSync(join(root, 'offline.js'), readFileSync(join(root, 'offline.js'), 'utf8').replace(version, 'newbuild0000'));
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
    await page.waitForFunction(async () => (await caches.keys()).includes('fashion-trainer-app-newbuild0000'), null, { timeout: 120_000, polling: 500 });
    await page.waitForFunction(async () => !(await caches.keys()).some((k) => k.startsWith('fashion-trainer-app-') && !k.endsWith('newbuild0000')),
      null, { timeout: 60_000, polling: 500 });
    assert.deepEqual(errors, [], 'no uncaught page errors');
  } finally {
    await browser.close();
    server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
