/**
 * The details view's data: the links the API gives for a version's report and pictures, and
 * their bytes fetched once when the model is stored, so the view works offline.
 */
import type { Link, ModelVersion } from './api/client';
import { ATTACHMENTS, type Attachment, type Attachments } from './modelStore';

const TIMEOUT_MS = 10_000;

/** The API's link for each attachment of `model` (null when the object does not exist). */
export function linksOf(model: ModelVersion): Record<Attachment, Link | null> {
  return {
    report: model.report,
    confusion_matrix: model.pictures.confusion_matrix,
    training_curves: model.pictures.training_curves,
  };
}

/** Whether a presigned link still works for at least `marginMs` (default 10 s). */
export function isFresh(link: Link, now: number = Date.now(), marginMs = 10_000): boolean {
  return Date.parse(link.expires_at) - now > marginMs;
}

/** The content type each attachment is stored with (the pipeline writes these). */
const TYPE: Record<Attachment, string> = {
  report: 'text/html;charset=utf-8',
  confusion_matrix: 'image/png',
  training_curves: 'image/png',
};

/**
 * Fetch each attachment the API links, for keeping with a stored model. One that cannot be
 * fetched (offline, expired, refused) is left out: the model is stored anyway, and its
 * details view says the picture was not kept.
 */
export async function fetchAttachments(
  model: ModelVersion,
  fetchImpl: typeof fetch = (input, init) => fetch(input, init),
): Promise<Attachments> {
  const links = linksOf(model);
  const fetched = await Promise.all(
    ATTACHMENTS.map(async (name): Promise<[Attachment, Blob] | null> => {
      const link = links[name];
      if (link === null) return null;
      try {
        const response = await fetchImpl(link.url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
        if (!response.ok) return null;
        return [name, new Blob([await response.arrayBuffer()], { type: TYPE[name] })];
      } catch {
        return null;
      }
    }),
  );
  return Object.fromEntries(fetched.filter((entry) => entry !== null));
}

export const percent = (fraction: number, digits = 2) => `${(fraction * 100).toFixed(digits)}%`;
