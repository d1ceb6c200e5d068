import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { ModelStore, type StoredModel } from '../src/modelStore';
import { STORED_REPORT_POLICY, storedReportResponse, storedReportSha, storedReportUrl } from '../src/storedReport';

const SHA = 'ab'.repeat(32);
const model: StoredModel = {
  sha256: SHA,
  version: 4,
  created_at: '2026-11-26T19:00:00Z',
  test_accuracy: 0.97,
  size_bytes: 1,
  quantized: true,
  input_spec: { version: 1, name: 'input', shape: ['N', 1, 28, 28], output: { name: 'logits', shape: ['N', 10] } },
  stored_at: '2026-11-26T19:10:00Z',
};

describe('the stored run report', () => {
  it('is answered sandboxed: an opaque origin, no script, only its own styles and pictures', async () => {
    const store = new ModelStore(new IDBFactory());
    const html = '<!doctype html><style>h1{color:red}</style><h1>Run</h1><script>indexedDB.open("x")</script>';
    await store.put(model, new Uint8Array([1]), { report: new Blob([html], { type: 'text/html' }) });
    const answer = await storedReportResponse(store, SHA);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
    const policy = answer.headers.get('Content-Security-Policy') ?? '';
    expect(policy).toBe(STORED_REPORT_POLICY);
    const directives = policy.split('; ');
    expect(directives[0]).toBe('sandbox'); // no allow-same-origin, no allow-scripts
    expect(policy).not.toMatch(/script-src|allow-/);
    expect(await answer.text()).toBe(html);
  });

  it('answers 404 in words when the model has no stored report, or the store cannot be read', async () => {
    const store = new ModelStore(new IDBFactory());
    await store.put(model, new Uint8Array([1]));
    const missing = await storedReportResponse(store, SHA);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/No run report of this model is stored/);
    const broken = await storedReportResponse({ attachments: () => Promise.reject(new Error('blocked')) }, SHA);
    expect(broken.status).toBe(404);
  });

  it('lives under the site and takes only a sha256', () => {
    const scope = 'https://site.example/app/';
    const url = storedReportUrl(SHA, scope);
    expect(url).toBe(`https://site.example/app/stored-report/${SHA}`);
    expect(storedReportSha(new URL(url), scope)).toBe(SHA);
    expect(storedReportSha(new URL(`https://site.example/app/stored-report/${SHA}/x`), scope)).toBeNull();
    expect(storedReportSha(new URL('https://site.example/app/stored-report/../index.html'), scope)).toBeNull();
    expect(storedReportSha(new URL(`https://other.example/app/stored-report/${SHA}`), scope)).toBeNull();
    expect(storedReportSha(new URL(`https://site.example/stored-report/${SHA}`), scope)).toBeNull();
  });
});
