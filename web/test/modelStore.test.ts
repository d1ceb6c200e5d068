import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IDBObjectStore as FakeObjectStore } from 'fake-indexeddb';
import { ModelStore, StorageError, type StoredModel } from '../src/modelStore';

function meta(version: number, sha: string): StoredModel {
  return {
    sha256: sha.repeat(64),
    version,
    created_at: '2026-11-26T19:00:00Z',
    test_accuracy: 0.97,
    size_bytes: 4,
    quantized: false,
    input_spec: { version: 1, name: 'input', shape: ['N', 1, 28, 28], output: { name: 'logits', shape: ['N', 10] } },
    stored_at: '2026-11-26T19:10:00Z',
  };
}

/** fake-indexeddb's own IDBObjectStore.put, to call from a mock in its place. */
const realStorePut = () =>
  Object.getOwnPropertyDescriptor(FakeObjectStore.prototype, 'put')?.value as (
    this: IDBObjectStore,
    value: unknown,
    key?: IDBValidKey,
  ) => IDBRequest<IDBValidKey>;

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('models stored in the browser', () => {
  it('keeps models with their metadata, lists them newest first, and removes one', async () => {
    const store = new ModelStore(new IDBFactory());
    await store.put(meta(1, 'a'), new Uint8Array([1, 2, 3, 4]));
    await store.put(meta(2, 'b'), new Uint8Array([5, 6, 7, 8]));
    expect((await store.list()).map((m) => m.version)).toEqual([2, 1]);
    expect(Array.from((await store.bytes('a'.repeat(64))) ?? [])).toEqual([1, 2, 3, 4]);
    await store.remove('a'.repeat(64));
    expect((await store.list()).map((m) => m.version)).toEqual([2]);
    expect(await store.bytes('a'.repeat(64))).toBeNull();
  });

  it('marks a stored model withdrawn with the reason, keeps it across a reload, and clears the mark', async () => {
    const factory = new IDBFactory();
    const store = new ModelStore(factory);
    await store.put(meta(3, 'c'), new Uint8Array([1]));
    const withdrawal = { noticed_at: '2026-11-27T08:00:00Z', reason: 'reads 7 as 1' };
    expect(await store.setWithdrawn('c'.repeat(64), withdrawal)).toBe(true);
    expect((await new ModelStore(factory).list())[0]?.withdrawn).toEqual(withdrawal);
    expect(Array.from((await store.bytes('c'.repeat(64))) ?? [])).toEqual([1]);
    expect(await store.setWithdrawn('c'.repeat(64), null)).toBe(true);
    expect((await store.list())[0]).toEqual(meta(3, 'c'));
    expect(await store.setWithdrawn('d'.repeat(64), withdrawal)).toBe(false);
    expect(await store.list()).toHaveLength(1);
  });

  it('survives a reload: a new store on the same database sees the models', async () => {
    const factory = new IDBFactory();
    await new ModelStore(factory).put(meta(3, 'c'), new Uint8Array([9]));
    expect((await new ModelStore(factory).list())[0]?.version).toBe(3);
  });

  it('keeps the details and their pictures with the model, across a reload, and removes them with it', async () => {
    const factory = new IDBFactory();
    const picture = new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: 'image/png' });
    const report = new Blob(['<!doctype html><title>run</title>'], { type: 'text/html;charset=utf-8' });
    const model = { ...meta(5, 'e'), attachments: ['report', 'confusion_matrix'] as const };
    await new ModelStore(factory).put(model, new Uint8Array([7]), { report, confusion_matrix: picture });

    const reloaded = new ModelStore(factory);
    const kept = await reloaded.attachments('e'.repeat(64));
    expect(Object.keys(kept).sort()).toEqual(['confusion_matrix', 'report']);
    expect(kept.confusion_matrix?.type).toBe('image/png');
    expect(Array.from(new Uint8Array((await kept.confusion_matrix?.arrayBuffer()) ?? new ArrayBuffer(0)))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(await kept.report?.text()).toBe('<!doctype html><title>run</title>');
    // Listing reads no picture; the model's own bytes are unchanged by its attachments.
    expect((await reloaded.list())[0]?.attachments).toEqual(['report', 'confusion_matrix']);
    expect(Array.from((await reloaded.bytes('e'.repeat(64))) ?? [])).toEqual([7]);

    await reloaded.remove('e'.repeat(64));
    expect(await reloaded.attachments('e'.repeat(64))).toEqual({});
  });

  it('keeps a model and its report in a WebKit private window, which aborts any Blob put without an error', async () => {
    // WebKit's ephemeral sessions abort a transaction that stores a Blob; its error is null.
    const realPut = realStorePut();
    vi.spyOn(FakeObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value, key) {
      if (value instanceof Blob) {
        this.transaction.abort();
        return {} as IDBRequest<IDBValidKey>;
      }
      return realPut.call(this, value, key);
    });
    const factory = new IDBFactory();
    const report = new Blob(['<!doctype html><title>run</title>'], { type: 'text/html;charset=utf-8' });
    await new ModelStore(factory).put({ ...meta(6, 'f'), attachments: ['report'] }, new Uint8Array([9]), { report });

    const reloaded = new ModelStore(factory);
    expect((await reloaded.list()).map((m) => m.version)).toEqual([6]);
    expect(Array.from((await reloaded.bytes('f'.repeat(64))) ?? [])).toEqual([9]);
    const kept = await reloaded.attachments('f'.repeat(64));
    expect(kept.report?.type).toBe('text/html;charset=utf-8');
    expect(await kept.report?.text()).toBe('<!doctype html><title>run</title>');
  });

  it('says in plain words, never "(null)", when the browser refuses without a reason', async () => {
    const realPut = realStorePut();
    vi.spyOn(FakeObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value, key) {
      const tx = this.transaction;
      queueMicrotask(() => {
        try {
          tx.abort();
        } catch {
          // aborted by an earlier put of the same transaction
        }
      });
      return realPut.call(this, value, key);
    });
    const put = new ModelStore(new IDBFactory()).put(meta(1, 'a'), new Uint8Array([1]));
    await expect(put).rejects.toMatchObject({ problem: 'unavailable' });
    await expect(put).rejects.toThrow(/refused without giving a reason.*private windows.*works until this page is closed/);
    await expect(put).rejects.not.toThrow(/null/);
  });

  it('counts the pictures in the space a model needs', async () => {
    vi.stubGlobal('navigator', { storage: { estimate: () => Promise.resolve({ quota: 1000, usage: 990 }) } });
    const store = new ModelStore(new IDBFactory());
    const put = store.put(meta(1, 'a'), new Uint8Array(4), { training_curves: new Blob([new Uint8Array(8)]) });
    await expect(put).rejects.toThrow(/12 B needed, 10 B free/);
    expect(await store.list()).toEqual([]);
  });

  it('says storage is full when the model does not fit the quota', async () => {
    vi.stubGlobal('navigator', { storage: { estimate: () => Promise.resolve({ quota: 1000, usage: 998 }) } });
    const store = new ModelStore(new IDBFactory());
    const put = store.put(meta(1, 'a'), new Uint8Array(4));
    await expect(put).rejects.toMatchObject({ problem: 'full' });
    await expect(put).rejects.toThrow(/not enough storage space.*4 B needed, 2 B free/);
    expect(await store.list()).toEqual([]);
  });

  it('says storage is denied when the browser forbids it', async () => {
    const denied = {
      open: () => {
        throw new DOMException('access to IndexedDB is denied', 'SecurityError');
      },
    } as unknown as IDBFactory;
    const listing = new ModelStore(denied).list();
    await expect(listing).rejects.toBeInstanceOf(StorageError);
    await expect(listing).rejects.toThrow(/does not allow the app to store models/);
  });

  it('says storage is unavailable without IndexedDB', async () => {
    const listing = new ModelStore(null).list();
    await expect(listing).rejects.toMatchObject({ problem: 'unavailable' });
  });
});
