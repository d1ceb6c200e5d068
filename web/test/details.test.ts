import { describe, expect, it } from 'vitest';
import type { ModelVersion } from '../src/api/client';
import { fetchAttachments, isFresh, linksOf } from '../src/details';
import { detailsOf, storedDetails, toStoredModel } from '../src/modelStore';

const link = (name: string, expires = '2026-11-26T19:05:00Z') => ({ url: `http://s3.test/models/mnist/abc/${name}?X-Amz-Signature=x`, expires_at: expires });

function listed(over: Partial<ModelVersion> = {}): ModelVersion {
  return {
    version: 4,
    created_at: '2026-11-26T19:00:00Z',
    metrics: { test_accuracy: 0.9891, per_class: [{ digit: 0, precision: 0.99, recall: 0.97 }] },
    size_bytes: 71_394,
    sha256: 'a'.repeat(64),
    quantized: true,
    input_spec: { version: 2, name: 'input', shape: ['N', 1, 28, 28], output: { name: 'logits', shape: ['N', 10] } },
    provenance: { dataset_hash: 'd'.repeat(64), git_commit: 'c'.repeat(40), pipeline_execution_id: 'exec-9', dataset_version: 'cd27dd7af04e1ad2' },
    download_url: 'http://s3.test/models/mnist/abc/model.onnx?X-Amz-Signature=x',
    download_url_expires_at: '2026-11-26T19:05:00Z',
    report: link('report.html'),
    pictures: { confusion_matrix: link('confusion_matrix.png'), training_curves: null },
    ...over,
  };
}

/** A fake S3: answers each URL from `files` (status 200) or 404, and records what was asked. */
function s3(files: Record<string, string | Uint8Array<ArrayBuffer>>, asked: string[] = []): typeof fetch {
  return (input) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    asked.push(url.pathname);
    const name = url.pathname.split('/').pop() ?? '';
    const body = files[name];
    return Promise.resolve(body === undefined ? new Response('NoSuchKey', { status: 404 }) : new Response(body, { status: 200 }));
  };
}

describe('details of a model version', () => {
  it('take what the view shows from the listing, and keep it with the stored model', () => {
    const model = listed();
    const stored = toStoredModel(model, new Date('2026-11-26T19:10:00Z'), { report: new Blob(['x']) });
    expect(stored.details).toEqual(detailsOf(model));
    expect(stored.details?.per_class).toEqual([{ digit: 0, precision: 0.99, recall: 0.97 }]);
    expect(stored.details?.provenance?.dataset_version).toBe('cd27dd7af04e1ad2');
    expect(stored.attachments).toEqual(['report']);
    expect(storedDetails(stored)).toBe(stored.details);
  });

  it('of a model stored before details were kept come from its own metadata', () => {
    const { details: _none, attachments: _neither, ...older } = toStoredModel(listed());
    expect(storedDetails(older)).toEqual({ ...detailsOf(listed()), per_class: null, provenance: null });
  });

  it('link only the files the API links', () => {
    expect(linksOf(listed())).toEqual({
      report: link('report.html'),
      confusion_matrix: link('confusion_matrix.png'),
      training_curves: null,
    });
  });

  it('call a link stale within 10 s of its expiry', () => {
    const expiry = Date.parse('2026-11-26T19:05:00Z');
    expect(isFresh(link('r'), expiry - 60_000)).toBe(true);
    expect(isFresh(link('r'), expiry - 5_000)).toBe(false);
    expect(isFresh(link('r'), expiry + 1)).toBe(false);
  });
});

describe('fetching the attachments to keep', () => {
  it('fetches each linked file once, as a Blob of its kind, and never an unlinked one', async () => {
    const asked: string[] = [];
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    const got = await fetchAttachments(listed(), s3({ 'report.html': '<html>', 'confusion_matrix.png': png, 'training_curves.png': png }, asked));
    expect(asked.sort()).toEqual(['/models/mnist/abc/confusion_matrix.png', '/models/mnist/abc/report.html']);
    expect(Object.keys(got).sort()).toEqual(['confusion_matrix', 'report']);
    expect(got.confusion_matrix?.type).toBe('image/png');
    expect(got.report?.type).toBe('text/html;charset=utf-8');
    expect(Array.from(new Uint8Array((await got.confusion_matrix?.arrayBuffer()) ?? new ArrayBuffer(0)))).toEqual(Array.from(png));
  });

  it('leaves out a file S3 refuses or a network that fails, and still answers', async () => {
    const refused = await fetchAttachments(listed(), s3({ 'report.html': '<html>' }));
    expect(Object.keys(refused)).toEqual(['report']);
    const offline = await fetchAttachments(listed(), () => Promise.reject(new TypeError('Failed to fetch')));
    expect(offline).toEqual({});
  });

  it('asks nothing for a version without links', async () => {
    const asked: string[] = [];
    const bare = listed({ report: null, pictures: { confusion_matrix: null, training_curves: null } });
    expect(await fetchAttachments(bare, s3({}, asked))).toEqual({});
    expect(asked).toEqual([]);
  });
});
