/// <reference lib="webworker" />
/**
 * The site's service worker (Workbox): keeps this build of the site (HTML, JS, CSS, the
 * onnxruntime wasm) so the app opens and runs with the network off. Models are not here: the
 * app keeps them in IndexedDB.
 *
 * Updates: pages come from the network when it answers within 3 s, so a returning visitor
 * gets a new deploy on the first visit after it; this worker installs the new build's files in
 * the background, takes over at once, and drops the old build's files. Offline, or when the
 * origin answers 5xx, a page is this build's precached index.html, which always matches the
 * precached scripts.
 */
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, matchPrecache, precacheAndRoute, type PrecacheEntry } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { NetworkFirst, NetworkOnly } from 'workbox-strategies';
import { ModelStore } from '../src/modelStore';
import { storedReportResponse, storedReportSha } from '../src/storedReport';
import { precachedAppOnFailure } from './navigation';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | PrecacheEntry)[] };
declare const __SITE_BUILD__: string;

void self.skipWaiting();
clientsClaim();
cleanupOutdatedCaches();

// A stored model's run report, from this browser's copy, in a sandbox that cannot read the
// site's storage (src/storedReport.ts). Before the navigation route, which would answer it.
const models = new ModelStore();
registerRoute(
  ({ url }) => storedReportSha(url, self.registration.scope) !== null,
  ({ url }) => storedReportResponse(models, storedReportSha(url, self.registration.scope) ?? ''),
);

// Registered before the precache's own route, which would answer "/" from the cache first.
// No answer, or a 5xx, opens this build's precached app (navigation.ts).
const appWhenTheOriginFails = precachedAppOnFailure(() => matchPrecache('index.html'));
registerRoute(new NavigationRoute(new NetworkOnly({ networkTimeoutSeconds: 3, plugins: [appWhenTheOriginFails] })));
precacheAndRoute(self.__WB_MANIFEST);

// Every route here matches GET only (registerRoute's default), so a correction's
// POST /feedback never meets a cache: it goes to the network, and while offline the page
// keeps it in IndexedDB (src/feedbackQueue.ts) instead.

// The API's address: the latest one the server gave, else the last one seen. Fetched once at
// install too: the first visit's own request came before this worker, and an offline reload
// must not meet an empty cache.
const CONFIG_CACHE = 'config';
registerRoute(
  ({ url, sameOrigin }) => sameOrigin && url.pathname.endsWith('/config.json'),
  new NetworkFirst({ cacheName: CONFIG_CACHE, networkTimeoutSeconds: 3 }),
);
self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CONFIG_CACHE)
      .then((cache) => cache.add(new Request('config.json', { cache: 'no-store' })))
      .catch(() => undefined), // no config.json (a build served without one): nothing to keep
  );
});

// The hand-written worker before this one kept the site in caches of its own; free that space.
self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('digit-recogniser-site-')).map((k) => caches.delete(k)))),
  );
});

// A page asks which build this worker serves, to offer a reload when it is newer than itself.
self.addEventListener('message', (event) => {
  const data: unknown = event.data;
  if (typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'SITE_BUILD') {
    event.ports[0]?.postMessage(__SITE_BUILD__);
  }
});
