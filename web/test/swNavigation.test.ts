import { describe, expect, it } from 'vitest';
import { precachedAppOnFailure } from '../sw/navigation';

const app = () => Promise.resolve(new Response('<!doctype html><title>the app</title>', { status: 200 }));
const plugin = precachedAppOnFailure(app);
const request = new Request('https://site.example/');

async function answer(status: number): Promise<Response> {
  const response = new Response(`origin said ${status}`, { status });
  const respond = plugin.handlerWillRespond;
  if (respond === undefined) throw new Error('no handlerWillRespond');
  return respond({ request, response, event: {} as never, state: {} });
}

describe('a page navigation through the service worker', () => {
  it('opens the precached app when the origin answers 5xx, instead of the error page', async () => {
    for (const status of [500, 502, 503, 504]) {
      const page = await answer(status);
      expect(page.status, `after ${status}`).toBe(200);
      expect(await page.text()).toContain('the app');
    }
  });

  it('shows the origin\'s own answer when it is one (200, 404)', async () => {
    expect(await (await answer(200)).text()).toBe('origin said 200');
    expect((await answer(404)).status).toBe(404);
  });

  it('opens the precached app when the network fails, and an error when nothing is precached', async () => {
    const failed = plugin.handlerDidError;
    if (failed === undefined) throw new Error('no handlerDidError');
    const page = await failed({ request, event: {} as never, state: {}, error: new TypeError('Failed to fetch') });
    expect(page?.status).toBe(200);
    const none = precachedAppOnFailure(() => Promise.resolve(undefined)).handlerDidError;
    const nothing = await none?.({ request, event: {} as never, state: {}, error: new TypeError('x') });
    expect(nothing?.type).toBe('error');
  });
});
