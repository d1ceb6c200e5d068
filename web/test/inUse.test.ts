import { afterEach, describe, expect, it, vi } from 'vitest';
import { recallInUse, rememberInUse } from '../src/inUse';

function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => {
      items.clear();
    },
    getItem: (key) => items.get(key) ?? null,
    key: (n) => [...items.keys()][n] ?? null,
    removeItem: (key) => {
      items.delete(key);
    },
    setItem: (key, value) => {
      items.set(key, value);
    },
  };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the model in use across visits', () => {
  it('is remembered with whether it was chosen knowingly, and forgotten', () => {
    vi.stubGlobal('localStorage', memoryStorage());
    rememberInUse({ sha256: 'a'.repeat(64), knowingly: true });
    expect(recallInUse()).toEqual({ sha256: 'a'.repeat(64), knowingly: true });
    rememberInUse(null);
    expect(recallInUse()).toBeNull();
  });

  it('is nothing when the stored value is damaged or storage is denied', () => {
    const storage = memoryStorage();
    vi.stubGlobal('localStorage', storage);
    storage.setItem('digit-recogniser.model-in-use', '{not json');
    expect(recallInUse()).toBeNull();
    storage.setItem('digit-recogniser.model-in-use', JSON.stringify({ knowingly: true }));
    expect(recallInUse()).toBeNull();
    vi.stubGlobal('localStorage', {
      getItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      setItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
    });
    expect(recallInUse()).toBeNull();
    expect(() => {
      rememberInUse({ sha256: 'b'.repeat(64), knowingly: false });
    }).not.toThrow();
  });
});
