/**
 * The service worker's registration (workbox-window) and word of a newer site build.
 *
 * A returning visitor gets a new deploy's page from the network (sw/sw.ts), so a newer build
 * only needs announcing to a page that was already open when the deploy's worker took over.
 */
import { Workbox } from 'workbox-window';

/** Register the worker; call `onNewerBuild(build)` when a worker of another build takes over. */
export function registerServiceWorker(onNewerBuild: (build: string) => void): void {
  if (!('serviceWorker' in navigator)) return;
  const wb = new Workbox('./sw.js');
  wb.addEventListener('controlling', (event) => {
    if (!event.isUpdate) return;
    void (wb.messageSW({ type: 'SITE_BUILD' }) as Promise<unknown>).then((build) => {
      if (typeof build === 'string' && build !== __SITE_BUILD__) onNewerBuild(build);
    });
  });
  wb.register().catch((error: unknown) => {
    console.warn('offline support unavailable:', error);
  });
}
