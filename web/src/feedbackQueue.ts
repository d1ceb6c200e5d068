/**
 * Corrections (contracts/feedback.md): built from the model's input, sent to `POST /feedback`,
 * and kept in IndexedDB while they cannot be sent, so an offline correction goes out once the
 * browser is online again.
 *
 * Each correction is keyed by its id, the SHA-256 of its canonical JSON (the server's id too),
 * so queueing the same correction twice keeps one. A queued correction is removed once the
 * server answered it (202 stored or duplicate, or a refusal that a retry cannot change);
 * should the page close between the answer and the removal, the next send is answered
 * `duplicate` and stores nothing new.
 */
import type { components } from './api/schema';
import { IMAGE_PIXELS } from './contract';

export type Correction = components['schemas']['Correction'];
export type Receipt = components['schemas']['FeedbackReceipt'];

/** What became of one correction, for the person. */
export type Outcome =
  | { readonly status: 'sent'; readonly id: string; readonly duplicate: boolean }
  | { readonly status: 'queued'; readonly id: string }
  | { readonly status: 'refused'; readonly id: string; readonly message: string };

export const PIXELS = IMAGE_PIXELS;
const DB_NAME = 'digit-recogniser-feedback';
const STORE = 'pending';
const TIMEOUT_MS = 10_000;

/**
 * A correction of the prediction made from `input` (the float32 28x28 tensor the model saw).
 * Pixels are the bytes round(255 * v), row-major, as standard base64.
 */
export function correctionFrom(
  input: Float32Array,
  predicted: number,
  label: number,
  model: { readonly version: number; readonly sha256: string },
  inputSpecVersion: number,
): Correction {
  if (input.length !== PIXELS) throw new Error(`the model input has ${input.length} values, not ${PIXELS}`);
  const bytes = new Uint8Array(PIXELS);
  for (let k = 0; k < PIXELS; k++) bytes[k] = Math.min(255, Math.max(0, Math.round(255 * (input[k] ?? 0))));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return {
    pixels: btoa(binary),
    predicted,
    label,
    model_version: model.version,
    model_sha256: model.sha256,
    input_spec_version: inputSpecVersion,
  };
}

/** The canonical JSON of a correction: keys sorted, no spaces (Python's sort_keys form). */
export function canonicalJson(correction: Correction): string {
  const record = correction as unknown as Record<string, unknown>;
  const sorted = Object.keys(record)
    .sort()
    .map((key) => [key, record[key]]);
  return JSON.stringify(Object.fromEntries(sorted));
}

/** The correction's id: SHA-256 (hex) of its canonical JSON, as the server computes it. */
export async function correctionId(correction: Correction): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonicalJson(correction)));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

interface Queued {
  readonly id: string;
  readonly correction: Correction;
  readonly queued_at: string;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => {
      resolve(req.result);
    };
    req.onerror = () => {
      reject(req.error ?? new Error('IndexedDB request failed'));
    };
  });
}

/** Corrections waiting to be sent, in IndexedDB (one object store keyed by id). */
export class FeedbackQueue {
  private db: Promise<IDBDatabase> | null = null;

  constructor(private readonly factory: IDBFactory = indexedDB) {}

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = this.factory.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(STORE, { keyPath: 'id' });
      };
      req.onsuccess = () => {
        resolve(req.result);
      };
      req.onerror = () => {
        reject(req.error ?? new Error('cannot open the feedback queue'));
      };
    });
    return this.db;
  }

  private async store(mode: IDBTransactionMode): Promise<IDBObjectStore> {
    return (await this.open()).transaction(STORE, mode).objectStore(STORE);
  }

  /** Keep `correction` until it is sent; the same correction again is kept once. */
  async add(id: string, correction: Correction, at: Date = new Date()): Promise<void> {
    const item: Queued = { id, correction, queued_at: at.toISOString() };
    await request((await this.store('readwrite')).put(item));
  }

  /** Every waiting correction, oldest first. */
  async list(): Promise<Queued[]> {
    const all = await request((await this.store('readonly')).getAll() as IDBRequest<Queued[]>);
    return all.sort((a, b) => a.queued_at.localeCompare(b.queued_at));
  }

  async remove(id: string): Promise<void> {
    await request((await this.store('readwrite')).delete(id));
  }
}

/** The answer of one POST: done (stored, duplicate, or refused for good) or try later. */
type Delivery =
  | { readonly done: true; readonly receipt: Receipt | null; readonly message: string | null }
  | { readonly done: false };

/** Sends corrections, queueing those that cannot go now, and sends the queue once online. */
export class FeedbackSender {
  private flushing: Promise<number> | null = null;

  constructor(
    readonly feedbackUrl: string,
    readonly queue: FeedbackQueue = new FeedbackQueue(),
    private readonly fetchImpl: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  /** Send one correction now, or queue it when the service cannot be reached. */
  async send(correction: Correction): Promise<Outcome> {
    const id = await correctionId(correction);
    const delivery = await this.deliver(correction);
    if (!delivery.done) {
      await this.queue.add(id, correction);
      return { status: 'queued', id };
    }
    if (delivery.receipt === null) return { status: 'refused', id, message: delivery.message ?? 'refused' };
    return { status: 'sent', id, duplicate: delivery.receipt.duplicate };
  }

  /**
   * Send every queued correction, oldest first, each once; stops at the first that cannot
   * be delivered (still offline). Concurrent calls share one run.
   *
   * @returns how many corrections left the queue.
   */
  flush(): Promise<number> {
    this.flushing ??= this.flushAll().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async flushAll(): Promise<number> {
    let sent = 0;
    for (const item of await this.queue.list()) {
      const delivery = await this.deliver(item.correction);
      if (!delivery.done) break;
      await this.queue.remove(item.id);
      sent += 1;
    }
    return sent;
  }

  private async deliver(correction: Correction): Promise<Delivery> {
    // Always tried: navigator.onLine says nothing about this service (a LAN or the local
    // playground answers with the Wi-Fi off), and offline the fetch fails at once.
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.feedbackUrl}/feedback`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(correction),
        cache: 'no-store',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch {
      return { done: false }; // offline, refused by CORS, or no answer in time
    }
    // Too many requests or a service that is down: the same correction may go later.
    if (response.status === 429 || response.status >= 500) return { done: false };
    const body: unknown = await response.json().catch(() => null);
    if (response.status === 202 && isReceipt(body)) return { done: true, receipt: body, message: null };
    return { done: true, receipt: null, message: errorMessage(body, response.status) };
  }
}

function isReceipt(body: unknown): body is Receipt {
  if (typeof body !== 'object' || body === null) return false;
  const fields = body as Record<string, unknown>;
  return typeof fields.id === 'string' && /^[0-9a-f]{64}$/.test(fields.id) && typeof fields.duplicate === 'boolean';
}

function errorMessage(body: unknown, status: number): string {
  const error = (body as { error?: { message?: unknown } } | null)?.error;
  return typeof error?.message === 'string' ? error.message : `the feedback service answered ${status}`;
}
