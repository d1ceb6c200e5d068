import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { canonicalJson, correctionFrom, correctionId, FeedbackQueue, FeedbackSender, type Correction } from '../src/feedbackQueue';

const MODEL = { version: 3, sha256: 'ab'.repeat(32) };

function input(): Float32Array {
  const values = new Float32Array(784);
  values[0] = 1;
  values[1] = 0.5; // round(127.5) = 128
  values[2] = 0.001; // round(0.255) = 0
  values[783] = 0.2; // round(51) = 51
  return values;
}

function bytesOf(correction: Correction): number[] {
  return Array.from(atob(correction.pixels), (c) => c.charCodeAt(0));
}

/** A feedback service that stores by id, like the real one, and can be switched off. */
class Service {
  online = true;
  status = 202;
  readonly stored = new Map<string, string>();
  posts = 0;

  readonly fetch: typeof fetch = async (_url, init) => {
    if (!this.online) throw new TypeError('Failed to fetch');
    this.posts += 1;
    if (this.status !== 202) {
      return new Response(JSON.stringify({ error: { code: 'x', message: `refused with ${this.status}` } }), { status: this.status });
    }
    const correction = JSON.parse(init?.body as string) as Correction;
    const id = await correctionId(correction);
    const duplicate = this.stored.has(id);
    this.stored.set(id, canonicalJson(correction));
    return new Response(JSON.stringify({ id, duplicate }), { status: 202 });
  };
}

describe('a correction', () => {
  it('carries the model input as bytes round(255 v), the labels, the model and the spec version', () => {
    const correction = correctionFrom(input(), 1, 7, MODEL, 2);
    const bytes = bytesOf(correction);
    expect(bytes).toHaveLength(784);
    expect([bytes[0], bytes[1], bytes[2], bytes[783]]).toEqual([255, 128, 0, 51]);
    expect(correction.pixels).toHaveLength(1048);
    expect(correction).toMatchObject({ predicted: 1, label: 7, model_version: 3, model_sha256: MODEL.sha256, input_spec_version: 2 });
    expect(Object.keys(correction).sort()).toEqual(['input_spec_version', 'label', 'model_sha256', 'model_version', 'pixels', 'predicted']);
  });

  it('has the id the server computes: SHA-256 of the JSON with sorted keys and no spaces', async () => {
    const correction = correctionFrom(new Float32Array(784), 0, 0, MODEL, 1);
    expect(canonicalJson(correction)).toMatch(/^\{"input_spec_version":1,"label":0,"model_sha256":"(ab){32}","model_version":3,"pixels":"A{1046}==","predicted":0\}$/);
    // What functions.feedback.correction (Python) computes for this correction.
    expect(await correctionId(correction)).toBe('33c52388aa6198aee20078ad0b86419c682b17c1877ca7e9c6d2c9ea02fe6955');
  });

  it('refuses an input of another size', () => {
    expect(() => correctionFrom(new Float32Array(100), 1, 1, MODEL, 2)).toThrow(/100 values, not 784/);
  });
});

describe('sending corrections', () => {
  it('sends at once when online', async () => {
    const service = new Service();
    const sender = new FeedbackSender('http://api', new FeedbackQueue(new IDBFactory()), service.fetch);
    const outcome = await sender.send(correctionFrom(input(), 1, 7, MODEL, 2));
    expect(outcome).toMatchObject({ status: 'sent', duplicate: false });
    expect(service.stored.size).toBe(1);
    expect(await sender.queue.list()).toEqual([]);
  });

  it('queues offline and sends each queued correction exactly once when online again', async () => {
    const service = new Service();
    service.online = false;
    const sender = new FeedbackSender('http://api', new FeedbackQueue(new IDBFactory()), service.fetch);
    const seven = correctionFrom(input(), 1, 7, MODEL, 2);
    const one = correctionFrom(input(), 1, 1, MODEL, 2);
    expect((await sender.send(seven)).status).toBe('queued');
    expect((await sender.send(one)).status).toBe('queued');
    expect((await sender.send(seven)).status).toBe('queued'); // the same correction, kept once
    expect(await sender.queue.list()).toHaveLength(2);
    expect(await sender.flush()).toBe(0); // still offline: nothing leaves the queue
    expect(await sender.queue.list()).toHaveLength(2);

    service.online = true;
    const [first, second] = await Promise.all([sender.flush(), sender.flush()]); // one run
    expect([first, second]).toEqual([2, 2]);
    expect(service.posts).toBe(2);
    expect(service.stored.size).toBe(2);
    expect(await sender.queue.list()).toEqual([]);
    expect(await sender.flush()).toBe(0);
    expect(service.posts).toBe(2);
  });

  it('keeps a correction queued while the service says to retry later (429, 503)', async () => {
    for (const status of [429, 503]) {
      const service = new Service();
      service.status = status;
      const sender = new FeedbackSender('http://api', new FeedbackQueue(new IDBFactory()), service.fetch);
      expect((await sender.send(correctionFrom(input(), 1, 7, MODEL, 2))).status).toBe('queued');
      service.status = 202;
      expect(await sender.flush()).toBe(1);
      expect(service.stored.size).toBe(1);
    }
  });

  it('says why a correction was refused and does not queue it (a retry cannot change a 400)', async () => {
    const service = new Service();
    service.status = 400;
    const sender = new FeedbackSender('http://api', new FeedbackQueue(new IDBFactory()), service.fetch);
    const outcome = await sender.send(correctionFrom(input(), 1, 7, MODEL, 2));
    expect(outcome).toMatchObject({ status: 'refused', message: 'refused with 400' });
    expect(await sender.queue.list()).toEqual([]);
  });

  it('sends while the browser says it is offline, when the service answers (a LAN, the local playground)', async () => {
    vi.stubGlobal('navigator', { onLine: false });
    try {
      const service = new Service();
      const sender = new FeedbackSender('http://api', new FeedbackQueue(new IDBFactory()), service.fetch);
      expect((await sender.send(correctionFrom(input(), 1, 7, MODEL, 2))).status).toBe('sent');
      expect(service.posts).toBe(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('keeps the queue across page loads (a new sender on the same database)', async () => {
    const factory = new IDBFactory();
    const service = new Service();
    service.online = false;
    await new FeedbackSender('http://api', new FeedbackQueue(factory), service.fetch).send(correctionFrom(input(), 1, 7, MODEL, 2));
    service.online = true;
    const later = new FeedbackSender('http://api', new FeedbackQueue(factory), service.fetch);
    expect(await later.flush()).toBe(1);
    expect(service.stored.size).toBe(1);
  });
});
