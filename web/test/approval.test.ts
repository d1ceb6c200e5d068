import { describe, expect, it } from 'vitest';
import { ApiError, ApiUnreachableError, type ModelVersion } from '../src/api/client';
import { checkStanding, newerApproved, newestUsable, replacementFor } from '../src/approval';
import type { StoredModel } from '../src/modelStore';

const spec = { version: 1, name: 'input', shape: ['N', 1, 28, 28], output: { name: 'logits', shape: ['N', 10] } };

function listed(version: number, sha = String(version)): ModelVersion {
  return {
    version,
    created_at: '2026-11-26T19:00:00Z',
    metrics: { test_accuracy: 0.98, per_class: null },
    size_bytes: 100,
    sha256: sha.repeat(64),
    quantized: true,
    input_spec: spec,
    provenance: { dataset_hash: 'd', git_commit: 'g', pipeline_execution_id: 'e', dataset_version: null },
    download_url: 'http://s3.test/m',
    download_url_expires_at: '2026-11-26T19:05:00Z',
    report: null,
    pictures: { confusion_matrix: null, training_curves: null },
  };
}

function stored(version: number, withdrawn = false): StoredModel {
  return {
    sha256: String(version).repeat(64),
    version,
    created_at: '2026-11-26T19:00:00Z',
    test_accuracy: 0.98,
    size_bytes: 100,
    quantized: true,
    input_spec: spec,
    stored_at: '2026-11-26T19:10:00Z',
    ...(withdrawn ? { withdrawn: { noticed_at: '2026-11-27T00:00:00Z', reason: null } } : {}),
  };
}

const never = () => Promise.reject(new Error('the listing should have answered'));
const notFound = (reason: string | null) => () =>
  Promise.reject(new ApiError(404, 'not_found', 'model version 3 is not an approved version', reason));

describe('standing of a stored model', () => {
  it('is approved when the listing has the same file, without asking again', async () => {
    expect(await checkStanding(stored(3), [listed(4), listed(3)], never)).toEqual({ kind: 'approved' });
  });

  it('is withdrawn, with the reason, when the service answers 404 for it', async () => {
    expect(await checkStanding(stored(3), [listed(4)], notFound('reads 7 as 1'))).toEqual({
      kind: 'withdrawn',
      reason: 'reads 7 as 1',
    });
    expect(await checkStanding(stored(3), [], notFound(null))).toEqual({ kind: 'withdrawn', reason: null });
  });

  it('is approved when the version answers with the same file (a listing a moment old)', async () => {
    expect(await checkStanding(stored(3), [], () => Promise.resolve(listed(3)))).toEqual({ kind: 'approved' });
  });

  it('is withdrawn when the service serves another file under the same version', async () => {
    const standing = await checkStanding(stored(3), [listed(3, 'f')], never);
    expect(standing).toMatchObject({ kind: 'withdrawn', reason: expect.stringContaining('another file') as unknown });
  });

  it('stays unknown, never withdrawn, when the service is down or unreachable', async () => {
    const down = () => Promise.reject(new ApiError(503, 'registry_unavailable', 'retry later'));
    const away = () => Promise.reject(new ApiUnreachableError('http://api.test', new TypeError('Failed to fetch')));
    expect((await checkStanding(stored(3), [], down)).kind).toBe('unknown');
    expect((await checkStanding(stored(3), [], away)).kind).toBe('unknown');
  });
});

describe('what to use instead', () => {
  it('picks the newest stored version that is not withdrawn and not the one being replaced', () => {
    expect(newestUsable([stored(5, true), stored(4), stored(2)])?.version).toBe(4);
    expect(newestUsable([stored(4), stored(2)], stored(4).sha256)?.version).toBe(2);
    expect(newestUsable([stored(5, true)])).toBeNull();
  });

  it('switches to the newest usable stored version, else offers the newest approved one', () => {
    expect(replacementFor(stored(5), [stored(5), stored(3), stored(2)], [listed(6)])).toMatchObject({ use: { version: 3 }, offer: null });
    expect(replacementFor(stored(5), [stored(5), stored(3, true)], [listed(4), listed(6)])).toMatchObject({ use: null, offer: { version: 6 } });
    expect(replacementFor(stored(5), [stored(5)], [])).toEqual({ use: null, offer: null });
  });

  it('announces only an approved version newer than the one in use', () => {
    expect(newerApproved([listed(4), listed(6), listed(5)], 4)?.version).toBe(6);
    expect(newerApproved([listed(4)], 4)).toBeNull();
    expect(newerApproved([], 1)).toBeNull();
  });
});
