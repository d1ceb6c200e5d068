import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  ApiContractError,
  ApiError,
  ApiUnreachableError,
  MODEL_VERSION_FIELDS,
  ModelApi,
  type ModelVersion,
} from '../src/api/client';

const WEB = fileURLToPath(new URL('..', import.meta.url));
const CONTRACT = join(WEB, '..', 'contracts', 'openapi.yaml');

interface OpenApi {
  components: { schemas: Record<string, { required?: string[] }> };
}
const openapi = load(readFileSync(CONTRACT, 'utf8')) as OpenApi;

function version(n: number, over: Partial<ModelVersion> = {}): ModelVersion {
  return {
    version: n,
    created_at: '2026-11-26T19:00:00Z',
    metrics: { test_accuracy: 0.97, per_class: [{ digit: 0, precision: 0.99, recall: 0.98 }] },
    size_bytes: 425_000,
    sha256: 'a'.repeat(64),
    quantized: false,
    input_spec: { version: 1, name: 'input', shape: ['N', 1, 28, 28], output: { name: 'logits', shape: ['N', 10] } },
    provenance: { dataset_hash: 'b'.repeat(64), git_commit: 'unknown', pipeline_execution_id: 'exec-1', dataset_version: null },
    download_url: `http://127.0.0.1:4566/models/mnist/${n}/model.onnx?X-Amz-Signature=x`,
    download_url_expires_at: '2026-11-26T19:05:00Z',
    report: { url: `http://127.0.0.1:4566/models/mnist/${n}/report.html?X-Amz-Signature=x`, expires_at: '2026-11-26T19:05:00Z' },
    pictures: { confusion_matrix: null, training_curves: null },
    ...over,
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function server(pages: Record<string, Response | (() => Response)>, seen: string[] = []): typeof fetch {
  return (input) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const key = url.pathname + url.search;
    seen.push(key);
    const answer = pages[key];
    if (answer === undefined) return Promise.resolve(json(404, { error: { code: 'not_found', message: `no ${key}` } }));
    return Promise.resolve(typeof answer === 'function' ? answer() : answer);
  };
}

describe('API client against contracts/openapi.yaml', () => {
  it('checks exactly the fields the contract requires of a model version', () => {
    expect([...MODEL_VERSION_FIELDS].sort()).toEqual([...(openapi.components.schemas.ModelVersion?.required ?? [])].sort());
  });

  it('uses types generated from the current contract (npm run gen:api)', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'schema-')), 'schema.d.ts');
    execFileSync(process.execPath, [join(WEB, 'node_modules/openapi-typescript/bin/cli.js'), CONTRACT, '-o', out], {
      stdio: 'ignore',
    });
    expect(readFileSync(join(WEB, 'src/api/schema.d.ts'), 'utf8')).toBe(readFileSync(out, 'utf8'));
  }, 60_000);

  it('lists every approved version across pages, newest first', async () => {
    const seen: string[] = [];
    const api = new ModelApi(
      'http://api.test',
      server(
        {
          '/models?limit=100': json(200, { models: [version(3), version(2)], next_token: 'page2' }),
          '/models?limit=100&next_token=page2': json(200, { models: [version(1)], next_token: null }),
        },
        seen,
      ),
    );
    const models = await api.listModels();
    expect(models.map((m) => m.version)).toEqual([3, 2, 1]);
    expect(seen).toHaveLength(2);
    expect(models[0]).toEqual(version(3));
  });

  it('gets one version, and reports 404 with the contract error code', async () => {
    const api = new ModelApi('http://api.test', server({ '/models/2': json(200, version(2)) }));
    expect((await api.getModel(2)).version).toBe(2);
    const missing = api.getModel(9);
    await expect(missing).rejects.toBeInstanceOf(ApiError);
    await expect(missing).rejects.toMatchObject({ status: 404, code: 'not_found', reason: null });
  });

  it('carries the reason a version was withdrawn when the 404 gives one', async () => {
    const body = { error: { code: 'not_found', message: 'model version 3 is not an approved version', reason: 'reads 7 as 1' } };
    const api = new ModelApi('http://api.test', server({ '/models/3': json(404, body) }));
    await expect(api.getModel(3)).rejects.toMatchObject({ status: 404, reason: 'reads 7 as 1' });
  });

  it('turns a 503 into a message for a person', async () => {
    const api = new ModelApi(
      'http://api.test',
      server({
        '/models?limit=100': json(503, { error: { code: 'registry_unavailable', message: 'the model registry cannot be reached' } }),
      }),
    );
    await expect(api.listModels()).rejects.toThrow('The model service refused the request: the model registry cannot be reached');
  });

  it('says the service is unreachable and that stored models still work', async () => {
    const api = new ModelApi('http://127.0.0.1:9', () => Promise.reject(new TypeError('Failed to fetch')));
    const listing = api.listModels();
    await expect(listing).rejects.toBeInstanceOf(ApiUnreachableError);
    await expect(listing).rejects.toThrow(/cannot be reached \(Failed to fetch\).*stored in this browser can still be used/);
  });

  it.each([
    ['a missing sha256', (() => { const { sha256: _drop, ...rest } = version(1); return rest; })(), /"sha256" is missing/],
    ['a short sha256', version(1, { sha256: 'abc' }), /"sha256" must be 64 lowercase hex/],
    ['a string size', { ...version(1), size_bytes: '12' }, /"size_bytes" must be a positive integer/],
    ['a bad date', version(1, { created_at: 'yesterday' }), /"created_at" must be a date-time/],
    ['a bad URL', version(1, { download_url: 'not a url' }), /"download_url" must be a URL/],
    ['a recall above 1', version(1, { metrics: { test_accuracy: 0.9, per_class: [{ digit: 0, precision: 0.9, recall: 1.2 }] } }), /"metrics.per_class" items need/],
    ['no per_class at all', version(1, { metrics: { test_accuracy: 0.9 } as ModelVersion['metrics'] }), /"metrics.per_class" must be an array or null/],
    ['a report link without expiry', { ...version(1), report: { url: 'http://s3.test/report.html' } }, /"report" must be null or \{url, expires_at\}/],
    ['a picture that is a bare string', { ...version(1), pictures: { confusion_matrix: 'http://s3.test/c.png', training_curves: null } }, /"pictures.confusion_matrix" must be null/],
  ])('refuses a listing with %s', async (_what, model, problem) => {
    const api = new ModelApi('http://api.test', server({ '/models?limit=100': json(200, { models: [model], next_token: null }) }));
    const listing = api.listModels();
    await expect(listing).rejects.toBeInstanceOf(ApiContractError);
    await expect(listing).rejects.toThrow(problem);
  });
});
