// The page's service worker: after one visit the page, its modules, the Web Workers, the wasm
// core and the vendored libraries come from Cache Storage, so the page starts with the network
// off (the data shards are kept by the worker itself, worker/data.js). offline.js, written by
// ./build.sh, lists the files and a hash of their contents: a new build changes it, the browser
// installs this worker again, and the new copy replaces the old one.
importScripts('offline.js');

const PREFIX = 'fashion-trainer-app-';
const CACHE = `${PREFIX}${self.OFFLINE.version}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(self.OFFLINE.files.map((file) => new Request(file, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// Cache first for the page's own files; everything else, the data shards included, goes to the
// network as before. Only the page itself is matched without its query (?limit=...): a worker
// opened with one (worker.js?faults=...) must get a response of that URL, which it reads back.
self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  const ignoreSearch = request.mode === 'navigate';
  event.respondWith(
    caches.open(CACHE).then(async (cache) => (await cache.match(request, { ignoreSearch })) ?? fetch(request)),
  );
});
