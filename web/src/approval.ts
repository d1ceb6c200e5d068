/**
 * Whether a stored model is still approved, asked of the model service when online.
 *
 * A version in the approved listing is approved. A stored version missing from it is asked
 * about on its own (`GET /models/{version}`): a 404 means the registry no longer approves it
 * (rejected after the fact), and the 404 may say why. Anything else (service down, offline)
 * leaves the standing unknown, so a model is never marked withdrawn on a network error.
 */
import { ApiError, type ModelVersion } from './api/client';
import type { StoredModel } from './modelStore';

export type Standing =
  | { readonly kind: 'approved' }
  | { readonly kind: 'withdrawn'; readonly reason: string | null }
  | { readonly kind: 'unknown'; readonly why: string };

const otherFile = (version: number): Standing => ({
  kind: 'withdrawn',
  reason: `the model service now serves another file as version ${version}`,
});

export async function checkStanding(
  model: Pick<StoredModel, 'version' | 'sha256'>,
  approved: readonly ModelVersion[],
  getModel: (version: number) => Promise<ModelVersion>,
): Promise<Standing> {
  const listed = approved.find((m) => m.version === model.version);
  if (listed !== undefined) return listed.sha256 === model.sha256 ? { kind: 'approved' } : otherFile(model.version);
  try {
    const answer = await getModel(model.version);
    return answer.sha256 === model.sha256 ? { kind: 'approved' } : otherFile(model.version);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { kind: 'withdrawn', reason: error.reason };
    return { kind: 'unknown', why: error instanceof Error ? error.message : String(error) };
  }
}

/** The newest stored version that is not withdrawn, other than `except`; null if none. */
export function newestUsable(stored: readonly StoredModel[], except: string | null = null): StoredModel | null {
  return (
    stored
      .filter((m) => m.withdrawn === undefined && m.sha256 !== except)
      .reduce<StoredModel | null>((best, m) => (best === null || m.version > best.version ? m : best), null)
  );
}

/** The newest approved version if it is newer than `version`; null otherwise. */
export function newerApproved(approved: readonly ModelVersion[], version: number): ModelVersion | null {
  const newest = approved.reduce<ModelVersion | null>((best, m) => (best === null || m.version > best.version ? m : best), null);
  return newest !== null && newest.version > version ? newest : null;
}

/** "withdrawn: reason" or "withdrawn", for the person. */
export function describeWithdrawal(reason: string | null): string {
  return reason === null ? 'withdrawn (no reason given)' : `withdrawn: ${reason}`;
}

/** What to do when the version in use (`gone`) is withdrawn. */
export interface Replacement {
  /** The stored version to use instead, or null. */
  readonly use: StoredModel | null;
  /** When none is stored: the newest approved version to offer for download, or null. */
  readonly offer: ModelVersion | null;
}

export function replacementFor(
  gone: Pick<StoredModel, 'sha256'>,
  stored: readonly StoredModel[],
  approved: readonly ModelVersion[],
): Replacement {
  const use = newestUsable(stored, gone.sha256);
  if (use !== null) return { use, offer: null };
  const offer = approved.reduce<ModelVersion | null>((a, m) => (a === null || m.version > a.version ? m : a), null);
  return { use: null, offer: offer?.sha256 === gone.sha256 ? null : offer };
}
