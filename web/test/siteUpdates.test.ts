import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerServiceWorker } from '../src/siteUpdates';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('a browser window that keeps no service worker', () => {
  it('is told in plain words that a reload needs the network (Firefox private windows, policies)', () => {
    vi.stubGlobal('navigator', {});
    const said: string[] = [];
    registerServiceWorker(
      () => undefined,
      (why) => said.push(why),
    );
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/keeps no offline copy of sites, as private windows in some browsers do/);
    expect(said[0]).not.toMatch(/undefined|null/);
  });
});
