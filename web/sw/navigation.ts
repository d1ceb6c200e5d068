/**
 * What a page navigation gets when the origin cannot serve it: this build's precached
 * index.html. A network failure (offline, DNS, a dropped connection, no answer in time) and
 * a 5xx answer (a CloudFront or S3 hiccup, a local server restarting) are the same to a
 * visitor: the server could not give the page, so the app they already have opens instead of
 * an error page. A 4xx is the server's real answer and is shown as it is.
 */
import type { WorkboxPlugin } from 'workbox-core/types.js';

/** A Workbox plugin for the navigation route; `precached` looks up the app's index.html. */
export function precachedAppOnFailure(precached: () => Promise<Response | undefined>): WorkboxPlugin {
  return {
    handlerWillRespond: async ({ response }) => (response.status >= 500 ? ((await precached()) ?? response) : response),
    handlerDidError: async () => (await precached()) ?? Response.error(),
  };
}
