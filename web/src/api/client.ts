/**
 * Client of the model listing API (contracts/openapi.yaml). Types come from the generated
 * schema.d.ts; every response is also checked at run time, because a wrong shape from a
 * server must become a clear message, not a broken page.
 */
import type { components } from './schema';

export type ModelVersion = components['schemas']['ModelVersion'];
export type ModelList = components['schemas']['ModelList'];
export type InputSpec = components['schemas']['InputSpec'];
export type Link = components['schemas']['Link'];
export type Pictures = components['schemas']['Pictures'];
export type ClassMetrics = components['schemas']['ClassMetrics'];
export type Provenance = components['schemas']['Provenance'];
export type ApiErrorBody = components['schemas']['Error'];

/** The server could not be reached at all (offline, wrong URL, CORS refused, timeout). */
export class ApiUnreachableError extends Error {
  override name = 'ApiUnreachableError';
  constructor(readonly apiUrl: string, cause: unknown) {
    super(
      `The model service at ${apiUrl} cannot be reached (${describe(cause)}). ` +
        'Models already stored in this browser can still be used.',
    );
  }
}

/**
 * The server answered with an error status; `code` is the contract's error code, `reason`
 * why a version was withdrawn when the server says (404 from getModel).
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly reason: string | null = null,
  ) {
    super(message);
  }
}

/** The server answered 200 with a body that breaks the contract. */
export class ApiContractError extends Error {
  override name = 'ApiContractError';
}

const SHA256 = /^[0-9a-f]{64}$/;
const MAX_PAGES = 50;
const TIMEOUT_MS = 10_000;

export class ModelApi {
  constructor(
    readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  /** Every approved version, newest first, following next_token across pages. */
  async listModels(): Promise<ModelVersion[]> {
    const models: ModelVersion[] = [];
    let token: string | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = new URLSearchParams({ limit: '100' });
      if (token !== null) query.set('next_token', token);
      const body = parseModelList(await this.get(`/models?${query.toString()}`));
      models.push(...body.models);
      token = body.next_token;
      if (token === null) return models;
    }
    throw new ApiContractError(`the model list did not end after ${MAX_PAGES} pages`);
  }

  /** One approved version (fresh download URL), or ApiError 404 `not_found`. */
  async getModel(version: number): Promise<ModelVersion> {
    return parseModelVersion(await this.get(`/models/${version}`), `model ${version}`);
  }

  private async get(path: string): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        headers: { Accept: 'application/json' },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new ApiUnreachableError(this.baseUrl, error);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new ApiContractError(
        `the model service answered ${response.status} without a JSON body`,
      );
    }
    if (!response.ok) {
      const error = (body as Partial<ApiErrorBody> | null)?.error;
      throw new ApiError(
        response.status,
        typeof error?.code === 'string' ? error.code : 'unknown',
        typeof error?.message === 'string'
          ? `The model service refused the request: ${error.message}`
          : `The model service answered ${response.status}.`,
        typeof error?.reason === 'string' && error.reason.trim() !== '' ? error.reason : null,
      );
    }
    return body;
  }
}

function describe(cause: unknown): string {
  if (cause instanceof DOMException && cause.name === 'TimeoutError') return 'no answer in 10 s';
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

function fail(where: string, what: string): never {
  throw new ApiContractError(`The model service sent an invalid ${where}: ${what}.`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Required keys of ModelVersion, in the contract's order (a test compares with the YAML). */
export const MODEL_VERSION_FIELDS = [
  'version',
  'created_at',
  'metrics',
  'size_bytes',
  'sha256',
  'quantized',
  'input_spec',
  'provenance',
  'download_url',
  'download_url_expires_at',
  'report',
  'pictures',
] as const;

export function parseModelList(body: unknown): ModelList {
  if (!isObject(body) || !Array.isArray(body.models)) fail('model list', 'no "models" array');
  const token = body.next_token;
  if (!(token === null || (typeof token === 'string' && token.length > 0))) {
    fail('model list', '"next_token" must be a non-empty string or null');
  }
  return {
    models: body.models.map((m: unknown, i) => parseModelVersion(m, `model #${i + 1}`)),
    next_token: token,
  };
}

const isFraction = (value: unknown): value is number => typeof value === 'number' && value >= 0 && value <= 1;

function parsePerClass(value: unknown, where: string): ClassMetrics[] | null {
  if (value === null) return null;
  if (!Array.isArray(value)) fail(where, '"metrics.per_class" must be an array or null');
  return value.map((item: unknown) => {
    if (
      !isObject(item) ||
      typeof item.digit !== 'number' ||
      !Number.isInteger(item.digit) ||
      item.digit < 0 ||
      !isFraction(item.precision) ||
      !isFraction(item.recall)
    ) {
      return fail(where, '"metrics.per_class" items need a digit and precision and recall in [0, 1]');
    }
    return { digit: item.digit, precision: item.precision, recall: item.recall };
  });
}

function parseLink(value: unknown, where: string, field: string): Link | null {
  if (value === null) return null;
  if (
    !isObject(value) ||
    typeof value.url !== 'string' ||
    !URL.canParse(value.url) ||
    typeof value.expires_at !== 'string' ||
    Number.isNaN(Date.parse(value.expires_at))
  ) {
    return fail(where, `"${field}" must be null or {url, expires_at}`);
  }
  return { url: value.url, expires_at: value.expires_at };
}

function parsePictures(value: unknown, where: string): Pictures {
  if (!isObject(value)) fail(where, '"pictures" must be an object');
  return {
    confusion_matrix: parseLink(value.confusion_matrix, where, 'pictures.confusion_matrix'),
    training_curves: parseLink(value.training_curves, where, 'pictures.training_curves'),
  };
}

function parseShape(value: unknown, where: string): (number | string)[] {
  if (!Array.isArray(value) || value.length === 0) fail(where, 'shape must be a non-empty array');
  return value.map((d: unknown) => {
    if ((typeof d === 'number' && Number.isInteger(d) && d >= 1) || typeof d === 'string') return d;
    return fail(where, `bad dimension ${JSON.stringify(d)}`);
  });
}

export function parseModelVersion(value: unknown, where = 'model'): ModelVersion {
  if (!isObject(value)) fail(where, 'not an object');
  for (const key of MODEL_VERSION_FIELDS) {
    if (!(key in value)) fail(where, `"${key}" is missing`);
  }
  const { version, created_at, metrics, size_bytes, sha256, quantized } = value;
  const { input_spec, provenance, download_url, download_url_expires_at } = value;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    fail(where, '"version" must be a positive integer');
  }
  if (typeof created_at !== 'string' || Number.isNaN(Date.parse(created_at))) {
    fail(where, '"created_at" must be a date-time');
  }
  if (!isObject(metrics) || typeof metrics.test_accuracy !== 'number') {
    fail(where, '"metrics.test_accuracy" must be a number');
  }
  if (typeof size_bytes !== 'number' || !Number.isInteger(size_bytes) || size_bytes < 1) {
    fail(where, '"size_bytes" must be a positive integer');
  }
  if (typeof sha256 !== 'string' || !SHA256.test(sha256)) {
    fail(where, '"sha256" must be 64 lowercase hex digits');
  }
  if (typeof quantized !== 'boolean') fail(where, '"quantized" must be true or false');
  if (
    !isObject(input_spec) ||
    typeof input_spec.version !== 'number' ||
    typeof input_spec.name !== 'string' ||
    !isObject(input_spec.output) ||
    typeof input_spec.output.name !== 'string'
  ) {
    fail(where, '"input_spec" must have version, name, shape and output {name, shape}');
  }
  if (
    !isObject(provenance) ||
    typeof provenance.dataset_hash !== 'string' ||
    typeof provenance.git_commit !== 'string' ||
    typeof provenance.pipeline_execution_id !== 'string'
  ) {
    fail(where, '"provenance" must have dataset_hash, git_commit and pipeline_execution_id');
  }
  const datasetVersion = provenance.dataset_version;
  if (datasetVersion !== null && typeof datasetVersion !== 'string') {
    fail(where, '"provenance.dataset_version" must be a string or null');
  }
  if (typeof download_url !== 'string' || !URL.canParse(download_url)) {
    fail(where, '"download_url" must be a URL');
  }
  if (typeof download_url_expires_at !== 'string' || Number.isNaN(Date.parse(download_url_expires_at))) {
    fail(where, '"download_url_expires_at" must be a date-time');
  }
  return {
    version,
    created_at,
    metrics: { test_accuracy: metrics.test_accuracy, per_class: parsePerClass(metrics.per_class, where) },
    size_bytes,
    sha256,
    quantized,
    input_spec: {
      version: input_spec.version,
      name: input_spec.name,
      shape: parseShape(input_spec.shape, where),
      output: { name: input_spec.output.name, shape: parseShape(input_spec.output.shape, where) },
    },
    provenance: {
      dataset_hash: provenance.dataset_hash,
      git_commit: provenance.git_commit,
      pipeline_execution_id: provenance.pipeline_execution_id,
      dataset_version: datasetVersion,
    },
    download_url,
    download_url_expires_at,
    report: parseLink(value.report, where, 'report'),
    pictures: parsePictures(value.pictures, where),
  };
}
