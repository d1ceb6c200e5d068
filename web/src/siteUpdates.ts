/**
 * The service worker's registration (workbox-window) and word of a newer site build.
 *
 * A returning visitor gets a new deploy's page from the network (sw/sw.ts), so a newer build
 * only needs announcing to a page that was already open when the deploy's worker took over.
 */
import { Workbox } from 'workbox-window';

/**
 * Register the worker; call `onNewerBuild(build)` when a worker of another build takes over,
 * and `onNoOffline(why)` when this browser keeps no service worker for the site (Firefox's
 * private windows, a browser with them switched off, a page not served over HTTPS or
 * localhost), so the person can be told that a reload needs the network.
 */
export function registerServiceWorker(onNewerBuild: (build: string) => void, onNoOffline: (why: string) => void): void {
  if ((navigator as Partial<Navigator>).serviceWorker === undefined) {
    onNoOffline('this browser window keeps no offline copy of sites, as private windows in some browsers do');
    return;
  }
  const wb = new Workbox('./sw.js');
  wb.addEventListener('controlling', (event) => {
    if (!event.isUpdate) return;
    void (wb.messageSW({ type: 'SITE_BUILD' }) as Promise<unknown>).then((build) => {
      if (typeof build === 'string' && build !== __SITE_BUILD__) onNewerBuild(build);
    });
  });
  wb.register().catch((error: unknown) => {
    console.warn('offline support unavailable:', error);
    onNoOffline(`this browser refused to keep an offline copy of the site: ${error instanceof Error ? error.message : String(error)}`);
  });
}
