// @ts-check
// Fashion-MNIST for the worker: the manifest, every shard downloaded with byte progress (or
// taken from the Cache API's offline copy), verified by the core and kept in one DataStore.

import { messageOf, post, wasm } from './core.js';

const CACHE_NAME = 'fashion-shards-v1';
const DATA_DIR = new URL('../data/', import.meta.url);
const MANIFEST_URL = new URL('manifest.json', DATA_DIR).href;
const PROGRESS_INTERVAL_MS = 100;

/** @type {import('../pkg/fashion_trainer.js').DataStore | null} */
let store = null;

/** The verified data set; an error until every shard is in. */
export function dataStore() {
  if (!store) throw new Error('the data is not loaded yet');
  return store;
}

/** True once the data set is loaded. */
export const hasData = () => store !== null;

/** A shard that could not be used; the message names it once. */
export class ShardError extends Error {
  /** @param {string} shard @param {string} message */
  constructor(shard, message) {
    // The wasm errors already name the shard; say it once.
    super(message.includes(shard) ? message : `data shard ${shard}: ${message}`);
    /** The shard (or shards) at fault. */
    this.shard = shard;
  }
}

async function openCache() {
  try {
    return 'caches' in self ? await caches.open(CACHE_NAME) : null;
  } catch {
    return null; // storage disabled or an insecure origin: work without an offline copy
  }
}

// Network first so a new data release is seen; the cached copy keeps the page working offline.
async function loadManifest(cache) {
  let networkError;
  try {
    const response = await fetch(MANIFEST_URL, { cache: 'no-cache' });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    const text = await response.text();
    const manifest = JSON.parse(text);
    await cache
      ?.put(MANIFEST_URL, new Response(text, { headers: { 'content-type': 'application/json' } }))
      .catch(() => {});
    return manifest;
  } catch (error) {
    networkError = error;
  }
  const cached = await cache?.match(MANIFEST_URL);
  if (cached) return cached.json();
  throw new Error(`could not load data/manifest.json (${messageOf(networkError)})`);
}

function checkManifest(manifest) {
  if (manifest?.version !== 1) {
    throw new Error(`data/manifest.json has version ${manifest?.version}, this page reads version 1`);
  }
  const shards = manifest.shards;
  if (!Array.isArray(shards) || shards.length === 0) {
    throw new Error('data/manifest.json lists no shards');
  }
  for (const shard of shards) {
    if (typeof shard?.file !== 'string' || typeof shard?.sha256 !== 'string') {
      throw new Error('data/manifest.json has a shard without "file" or "sha256"');
    }
  }
  return shards;
}

// Sums byte progress over shards that download at the same time, posting at most every 100 ms.
class ByteMeter {
  constructor(shards) {
    this.files = shards.map((s) => s.file);
    this.loaded = shards.map(() => 0);
    this.total = shards.map((s) => (Number.isFinite(s.bytes) ? s.bytes : null));
    this.done = shards.map(() => false);
    this.lastPost = 0;
  }

  update(i, loaded, total, { done = false, fromCache = false } = {}) {
    this.loaded[i] = loaded;
    // A gzip-encoded response reports its compressed length, so never let total fall below loaded.
    if (total != null) this.total[i] = Math.max(total, loaded);
    this.done[i] = done;
    const now = performance.now();
    if (!done && now - this.lastPost < PROGRESS_INTERVAL_MS) return;
    this.lastPost = now;
    const totalKnown = this.total.every((t) => t != null);
    post('data-progress', {
      loaded: this.loaded.reduce((a, b) => a + b, 0),
      total: this.total.reduce((a, t, j) => a + (t ?? this.loaded[j]), 0),
      totalKnown,
      shard: this.files[i],
      shardsDone: this.done.filter(Boolean).length,
      shardCount: this.files.length,
      fromCache,
    });
  }
}

// `refetch` skips both the Cache API and the HTTP cache, for a cached copy that failed to verify.
async function getShard(shard, i, cache, meter, signal, { refetch = false } = {}) {
  const url = new URL(shard.file, DATA_DIR).href;
  const cached = refetch ? undefined : await cache?.match(url);
  if (cached) {
    const bytes = new Uint8Array(await cached.arrayBuffer());
    meter.update(i, bytes.length, bytes.length, { done: true, fromCache: true });
    return { bytes, fromCache: true };
  }
  let response;
  try {
    // With our own Cache API copy, the HTTP cache would only hold a second (possibly stale) one.
    const mode = refetch ? 'reload' : cache ? 'no-store' : 'default';
    response = await fetch(url, { signal, cache: mode });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new ShardError(shard.file, `download failed (${messageOf(error)})`);
  }
  if (!response.ok) {
    throw new ShardError(shard.file, `download failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
  const length = Number(response.headers.get('content-length')) || null;
  const chunks = [];
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    meter.update(i, loaded, length);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  meter.update(i, loaded, loaded, { done: true });
  return { bytes, fromCache: false };
}

/** Downloads (or takes from the offline copy), verifies and keeps every shard. */
export async function loadData() {
  const cache = await openCache();
  const shards = checkManifest(await loadManifest(cache));
  const meter = new ByteMeter(shards);
  const abort = new AbortController();
  // Start every download at once so the total size is known early. Shards are added below in
  // manifest order, because that order decides which training images are the validation set.
  /** @type {Promise<any>[]} */
  const downloads = shards.map((shard, i) =>
    getShard(shard, i, cache, meter, abort.signal).then(
      (value) => ({ value }),
      (error) => ({ error }),
    ),
  );
  const fresh = new (wasm().DataStore)();
  const failures = [];
  try {
    for (const [i, shard] of shards.entries()) {
      const url = new URL(shard.file, DATA_DIR).href;
      try {
        const got = await downloads[i];
        if (got.error) throw got.error;
        let { bytes, fromCache } = got.value;
        try {
          await fresh.addShard(shard.file, bytes, shard.sha256);
        } catch (error) {
          if (!fromCache) throw new ShardError(shard.file, messageOf(error));
          // A stale or damaged offline copy: drop it and fetch the shard once more.
          await cache.delete(url);
          ({ bytes, fromCache } = await getShard(shard, i, cache, meter, abort.signal, { refetch: true }));
          try {
            await fresh.addShard(shard.file, bytes, shard.sha256);
          } catch (retryError) {
            throw new ShardError(shard.file, messageOf(retryError));
          }
        }
        // Only verified bytes are cached, so the cache never serves a corrupt shard twice.
        if (!fromCache) await cache?.put(url, new Response(bytes)).catch(() => {});
      } catch (error) {
        // Keep going: the other shards get verified and cached, and the error names every bad one.
        await cache?.delete(url).catch(() => {});
        failures.push(error instanceof ShardError ? error : new ShardError(shard.file, messageOf(error)));
      }
    }
  } catch (error) {
    abort.abort();
    fresh.free?.();
    throw error;
  }
  if (failures.length > 0) {
    fresh.free?.();
    throw new ShardError(failures.map((f) => f.shard).join(', '), failures.map((f) => f.message).join('; '));
  }
  store?.free?.();
  store = fresh;
}

/**
 * Whether the browser offers a WebGPU adapter: a hint for the notice before any run (the
 * trainer makes the real choice and says why); null when the answer takes too long.
 * @returns {Promise<boolean | null>}
 */
export async function probeAdapter() {
  const gpu = /** @type {any} */ (navigator).gpu;
  const probe = (async () => {
    try {
      return !!(gpu && (await gpu.requestAdapter()));
    } catch {
      return false;
    }
  })();
  // Some drivers take long to answer; the page must not wait on a hint.
  /** @type {Promise<null>} */
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 3000));
  return Promise.race([probe, timeout]);
}
