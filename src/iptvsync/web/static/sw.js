// iptvsync's service worker, served at /sw.js so its scope is the whole site.
//
// - The app shell (page, modules, styles, icons) is precached per version; the server puts a
//   hash of the files into VERSION, so a changed file installs a new worker and drops the old
//   cache.
// - Catalogue reads (snapshot, essentials, categories, lists, series, sync status) go to the
//   network first, revalidated by ETag: the cached copy's ETag is sent as If-None-Match and a
//   304 is answered from the cache. Offline, the cached copy is the answer; with none, an
//   `offline` error in the API's envelope.
// - Everything else (writes, the SSE stream, play redirects) is not touched.

const VERSION = '__IPTVSYNC_VERSION__';
const SHELL = __IPTVSYNC_SHELL__;
const SHELL_CACHE = `iptvsync-shell-${VERSION}`;
const DATA_CACHE = 'iptvsync-data-v1';
const DATA_MAX_ENTRIES = 600;
const CACHED_API = [
  /^\/api\/providers$/,
  /^\/api\/providers\/\d+\/snapshot(\/essentials|\/categories\/[^/]+)?$/,
  /^\/api\/providers\/\d+\/(movies|series|channels|categories)$/,
  /^\/api\/providers\/\d+\/(movies|series|channels)\/[^/]+$/,
  /^\/api\/providers\/\d+\/sync$/,
];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: 'no-cache' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('iptvsync-shell-') && key !== SHELL_CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && url.pathname === '/') {
    event.respondWith(fromShell('/', request));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(fromShell(url.pathname, request));
  } else if (CACHED_API.some((re) => re.test(url.pathname))) {
    event.respondWith(revalidate(request));
  }
});

async function fromShell(path, request) {
  const cached = await caches.match(path, { cacheName: SHELL_CACHE });
  if (cached) return cached;
  return fetch(request);
}

async function revalidate(request) {
  const cache = await caches.open(DATA_CACHE);
  const cached = await cache.match(request, { ignoreVary: true });
  const headers = new Headers(request.headers);
  const etag = cached && cached.headers.get('ETag');
  if (etag) headers.set('If-None-Match', etag);
  let response;
  try {
    response = await fetch(request.url, {
      headers,
      cache: 'no-store',
      credentials: 'same-origin',
      signal: request.signal,
    });
  } catch (err) {
    if (cached) return cached;
    if (err && err.name === 'AbortError') throw err;
    return offline();
  }
  if (response.status === 304 && cached) return cached;
  if (response.ok) {
    await cache.put(request, response.clone());
    trim(cache);
  }
  return response;
}

function offline() {
  const body = {
    error: { code: 'offline', message: 'Offline, and this was not saved for offline use.' },
  };
  return new Response(JSON.stringify(body), {
    status: 503,
    headers: { 'Content-Type': 'application/json' },
  });
}

async function trim(cache) {
  const keys = await cache.keys();
  // keys() lists in insertion order; the oldest go first.
  for (const key of keys.slice(0, Math.max(0, keys.length - DATA_MAX_ENTRIES))) {
    await cache.delete(key);
  }
}
