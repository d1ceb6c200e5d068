/**
 * A stored model's run report, opened where it cannot reach the site's storage.
 *
 * The report is HTML that came from the model bucket. Opened as a Blob URL of the site it would
 * run in the site's origin and could read the models and queued corrections in IndexedDB. So
 * the service worker (sw/sw.ts) answers `stored-report/<sha256>` from the stored copy with a
 * Content Security Policy of its own: `sandbox` without `allow-same-origin` gives the page an
 * opaque origin (no IndexedDB, no cookies, no service worker of the site) and, without
 * `allow-scripts`, runs none of its scripts; the report needs only its inline styles and its
 * `data:` pictures (packages/pipelines/src/pipelines/mnist/code/report.py).
 */
import type { ModelStore } from './modelStore';

export const STORED_REPORT_PATH = 'stored-report/';
export const STORED_REPORT_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const SHA256 = /^[0-9a-f]{64}$/;

/** The address of a stored model's report, under the site's base (`document.baseURI`). */
export function storedReportUrl(sha256: string, base: string): string {
  return new URL(`${STORED_REPORT_PATH}${sha256}`, base).href;
}

/** The sha256 a `stored-report/<sha256>` address under `scope` names, else null. */
export function storedReportSha(url: URL, scope: string): string | null {
  const prefix = new URL(STORED_REPORT_PATH, scope);
  if (url.origin !== prefix.origin || !url.pathname.startsWith(prefix.pathname)) return null;
  const sha = url.pathname.slice(prefix.pathname.length);
  return SHA256.test(sha) ? sha : null;
}

/** The service worker's answer for a stored report: the page, sandboxed, or a plain 404. */
export async function storedReportResponse(store: Pick<ModelStore, 'attachments'>, sha256: string): Promise<Response> {
  const common = {
    'Content-Security-Policy': STORED_REPORT_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  };
  let report: Blob | undefined;
  try {
    report = (await store.attachments(sha256)).report;
  } catch {
    report = undefined;
  }
  if (report === undefined) {
    return new Response('No run report of this model is stored in this browser.', {
      status: 404,
      headers: { ...common, 'Content-Type': 'text/plain; charset=utf-8' },
    });
  }
  return new Response(report, { status: 200, headers: { ...common, 'Content-Type': 'text/html; charset=utf-8' } });
}
