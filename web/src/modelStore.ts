/**
 * Models kept in this browser (IndexedDB), so a chosen model is downloaded once and works
 * offline. Metadata and bytes live in two object stores so listing never reads the bytes.
 * Keyed by sha256: the file is content-addressed like in S3. What the details view showed
 * (ModelDetails) is kept in the metadata; the run report and the pictures sit in the bytes
 * store next to the model under `<sha256>/<attachment>`, so the details view works offline
 * too. They are kept as bytes with their media type, never as Blobs: WebKit's private windows
 * (Safari private browsing, WebKitGTK's ephemeral sessions) keep no Blob in IndexedDB and
 * abort the whole transaction, without an error, when asked to.
 */
import type { ClassMetrics, InputSpec, ModelVersion, Provenance } from './api/client';

export interface StoredModel {
  readonly sha256: string;
  readonly version: number;
  readonly created_at: string;
  readonly test_accuracy: number;
  readonly size_bytes: number;
  readonly quantized: boolean;
  readonly input_spec: InputSpec;
  readonly stored_at: string;
  /** Set when the API no longer approves this version (see approval.ts); absent otherwise. */
  readonly withdrawn?: Withdrawal;
  /** What the details view showed when it was stored; absent for models stored before. */
  readonly details?: ModelDetails;
  /** The attachments stored with it (their Blobs are read with `attachments`). */
  readonly attachments?: readonly Attachment[];
}

/** What the details view shows about a version (from the API's ModelVersion). */
export interface ModelDetails {
  readonly version: number;
  readonly created_at: string;
  readonly test_accuracy: number;
  /** Per digit, in digit order; null when the registry entry carries none. */
  readonly per_class: readonly ClassMetrics[] | null;
  readonly size_bytes: number;
  readonly quantized: boolean;
  /** Null for a model stored before details were kept. */
  readonly provenance: Provenance | null;
}

/** Files next to a model that the details view shows: the run report and two pictures. */
export const ATTACHMENTS = ['report', 'confusion_matrix', 'training_curves'] as const;
export type Attachment = (typeof ATTACHMENTS)[number];
export type Attachments = Partial<Record<Attachment, Blob>>;

const attachmentKey = (sha256: string, name: Attachment) => `${sha256}/${name}`;

/** A stored version the model service no longer serves. */
export interface Withdrawal {
  /** When this browser found out (ISO 8601). */
  readonly noticed_at: string;
  /** Why, when the service gave a reason. */
  readonly reason: string | null;
}

export type StorageProblem = 'full' | 'denied' | 'unavailable';

export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly problem: StorageProblem,
    detail: string,
  ) {
    super(
      {
        full: `There is not enough storage space in this browser to keep the model (${detail}). Remove a stored model or free some space.`,
        denied: `This browser does not allow the app to store models (${detail}). Allow site storage, or leave private browsing.`,
        unavailable: `Model storage is not available in this browser (${detail}).`,
      }[problem],
    );
  }
}

const DB_NAME = 'digit-recogniser';
const DB_VERSION = 1;
const META = 'models';
const BYTES = 'model-bytes';

export function detailsOf(model: ModelVersion): ModelDetails {
  return {
    version: model.version,
    created_at: model.created_at,
    test_accuracy: model.metrics.test_accuracy,
    per_class: model.metrics.per_class,
    size_bytes: model.size_bytes,
    quantized: model.quantized,
    provenance: model.provenance,
  };
}

/** The details of a stored model: what was kept, or what its metadata says (older entries). */
export function storedDetails(model: StoredModel): ModelDetails {
  return (
    model.details ?? {
      version: model.version,
      created_at: model.created_at,
      test_accuracy: model.test_accuracy,
      per_class: null,
      size_bytes: model.size_bytes,
      quantized: model.quantized,
      provenance: null,
    }
  );
}

export function toStoredModel(
  model: ModelVersion,
  storedAt: Date = new Date(),
  attachments: Attachments = {},
): StoredModel {
  return {
    sha256: model.sha256,
    version: model.version,
    created_at: model.created_at,
    test_accuracy: model.metrics.test_accuracy,
    size_bytes: model.size_bytes,
    quantized: model.quantized,
    input_spec: model.input_spec,
    stored_at: storedAt.toISOString(),
    details: detailsOf(model),
    attachments: ATTACHMENTS.filter((name) => attachments[name] !== undefined),
  };
}

/** An attachment as stored: its bytes and media type (read back as a Blob). */
interface StoredBlob {
  readonly type: string;
  readonly bytes: ArrayBuffer;
}

const isStoredBlob = (value: unknown): value is StoredBlob =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as StoredBlob).type === 'string' &&
  (value as StoredBlob).bytes instanceof ArrayBuffer;

/** What the browser said when it refused without an error (a transaction aborted, error null). */
export const NO_REASON =
  'the browser refused without giving a reason, as some do in private windows; the model works until this page is closed';

function storageError(error: unknown): StorageError {
  if (error === null || error === undefined) return new StorageError('unavailable', NO_REASON);
  const name = error instanceof DOMException || error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  if (name === 'QuotaExceededError') return new StorageError('full', 'quota exceeded');
  if (name === 'SecurityError' || name === 'NotAllowedError' || name === 'InvalidStateError') {
    return new StorageError('denied', message || name);
  }
  return new StorageError('unavailable', message || name || 'unknown error');
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => {
      resolve(req.result);
    };
    req.onerror = () => {
      reject(storageError(req.error));
    };
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => {
      resolve();
    };
    tx.onabort = () => {
      reject(storageError(tx.error));
    };
    tx.onerror = () => {
      reject(storageError(tx.error));
    };
  });
}

export class ModelStore {
  private db: Promise<IDBDatabase> | null = null;

  // Absent in some embedded browsers and in Node: `'indexedDB' in globalThis` is the honest test.
  constructor(
    private readonly factory: IDBFactory | null = 'indexedDB' in globalThis ? globalThis.indexedDB : null,
  ) {}

  private open(): Promise<IDBDatabase> {
    if (this.db !== null) return this.db;
    const factory = this.factory;
    if (factory === null) {
      return Promise.reject(new StorageError('unavailable', 'no IndexedDB'));
    }
    this.db = new Promise<IDBDatabase>((resolve, reject) => {
      let req: IDBOpenDBRequest;
      try {
        req = factory.open(DB_NAME, DB_VERSION);
      } catch (error) {
        reject(storageError(error));
        return;
      }
      req.onupgradeneeded = () => {
        req.result.createObjectStore(META, { keyPath: 'sha256' });
        req.result.createObjectStore(BYTES);
      };
      req.onsuccess = () => {
        resolve(req.result);
      };
      req.onerror = () => {
        reject(storageError(req.error));
      };
      req.onblocked = () => {
        reject(new StorageError('unavailable', 'the database is blocked by another tab'));
      };
    });
    this.db.catch(() => {
      this.db = null;
    });
    return this.db;
  }

  /** Stored models, newest version first. */
  async list(): Promise<StoredModel[]> {
    const db = await this.open();
    const all = await request(db.transaction(META).objectStore(META).getAll() as IDBRequest<StoredModel[]>);
    return all.sort((a, b) => b.version - a.version);
  }

  async bytes(sha256: string): Promise<Uint8Array | null> {
    const db = await this.open();
    const value: unknown = await request(db.transaction(BYTES).objectStore(BYTES).get(sha256));
    return value instanceof ArrayBuffer ? new Uint8Array(value) : null;
  }

  /** The report and pictures stored with a model (none for a model stored without them). */
  async attachments(sha256: string): Promise<Attachments> {
    const db = await this.open();
    const bytes = db.transaction(BYTES).objectStore(BYTES);
    const found: Attachments = {};
    const values = await Promise.all(
      ATTACHMENTS.map((name) => request(bytes.get(attachmentKey(sha256, name)) as IDBRequest<unknown>)),
    );
    ATTACHMENTS.forEach((name, i) => {
      const value = values[i];
      // Blobs: kept by this app before attachments were stored as bytes.
      if (value instanceof Blob) found[name] = value;
      else if (isStoredBlob(value)) found[name] = new Blob([value.bytes], { type: value.type });
    });
    return found;
  }

  /**
   * Keep a model: its metadata, bytes and attachments in one transaction, never one without
   * the others.
   */
  async put(model: StoredModel, bytes: Uint8Array, attachments: Attachments = {}): Promise<void> {
    const blobs = ATTACHMENTS.flatMap((name) => {
      const blob = attachments[name];
      return blob === undefined ? [] : [[name, blob] as const];
    });
    await this.checkSpace(bytes.byteLength + blobs.reduce((sum, [, blob]) => sum + blob.size, 0));
    // Read before the transaction: it must not wait on anything else once open.
    const kept = await Promise.all(
      blobs.map(async ([name, blob]) => [name, { type: blob.type, bytes: await blob.arrayBuffer() } satisfies StoredBlob] as const),
    );
    const db = await this.open();
    let tx: IDBTransaction;
    try {
      tx = db.transaction([META, BYTES], 'readwrite');
      tx.objectStore(META).put(model);
      const store = tx.objectStore(BYTES);
      store.put(bytes.slice().buffer, model.sha256);
      for (const name of ATTACHMENTS) store.delete(attachmentKey(model.sha256, name));
      for (const [name, value] of kept) store.put(value, attachmentKey(model.sha256, name));
    } catch (error) {
      throw storageError(error);
    }
    await done(tx);
  }

  /** Mark a stored model withdrawn (or approved again with null); false when it is not stored. */
  async setWithdrawn(sha256: string, withdrawn: Withdrawal | null): Promise<boolean> {
    const db = await this.open();
    const tx = db.transaction(META, 'readwrite');
    const meta = tx.objectStore(META);
    let found = false;
    // Read and write in the read's callback: the transaction must not go idle in between.
    const read = meta.get(sha256) as IDBRequest<StoredModel | undefined>;
    read.onsuccess = () => {
      const current = read.result;
      if (current === undefined) return;
      found = true;
      const { withdrawn: _previous, ...rest } = current;
      meta.put(withdrawn === null ? rest : { ...rest, withdrawn });
    };
    await done(tx);
    return found;
  }

  async remove(sha256: string): Promise<void> {
    const db = await this.open();
    const tx = db.transaction([META, BYTES], 'readwrite');
    tx.objectStore(META).delete(sha256);
    tx.objectStore(BYTES).delete(sha256);
    for (const name of ATTACHMENTS) tx.objectStore(BYTES).delete(attachmentKey(sha256, name));
    await done(tx);
  }

  /** Refuse early, with the sizes, when the browser says the model cannot fit. */
  private async checkSpace(needed: number): Promise<void> {
    const storage = (globalThis.navigator as { storage?: StorageManager } | undefined)?.storage;
    if (storage === undefined || typeof storage.estimate !== 'function') return;
    const { quota, usage } = await storage.estimate();
    if (quota !== undefined && usage !== undefined && quota - usage < needed) {
      throw new StorageError(
        'full',
        `${formatBytes(needed)} needed, ${formatBytes(Math.max(0, quota - usage))} free`,
      );
    }
  }
}

/** How much this site keeps in the browser, and whether the browser may evict it. */
export interface StorageUsage {
  readonly bytes: number;
  readonly persisted: boolean;
}

/** The Storage API's view of this site's storage (the app's files and the models), if any. */
export async function storageUsage(): Promise<StorageUsage | null> {
  const storage = (globalThis.navigator as { storage?: StorageManager } | undefined)?.storage;
  if (storage === undefined || typeof storage.estimate !== 'function') return null;
  const { usage } = await storage.estimate();
  const persisted = typeof storage.persisted === 'function' ? await storage.persisted() : false;
  return usage === undefined ? null : { bytes: usage, persisted };
}

/**
 * Ask the browser not to clear this site's storage under pressure (the stored models and the
 * offline app). The browser decides; the answer is whether it agreed.
 */
export async function requestPersistence(): Promise<boolean> {
  const storage = (globalThis.navigator as { storage?: StorageManager & { persist?: () => Promise<boolean> } } | undefined)?.storage;
  if (storage === undefined || typeof storage.persist !== 'function') return false;
  try {
    return (await storage.persisted()) || (await storage.persist());
  } catch {
    return false;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
