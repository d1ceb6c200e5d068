import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config';

describe('runtime configuration', () => {
  it('reads api_url from config.json and drops a trailing slash', async () => {
    const fetchConfig = () => Promise.resolve(new Response(JSON.stringify({ api_url: 'http://127.0.0.1:8787/' })));
    expect(await loadConfig(fetchConfig)).toEqual({ apiUrl: 'http://127.0.0.1:8787', feedbackUrl: null });
  });

  it('reads feedback_url beside api_url (in AWS another Function URL)', async () => {
    const body = { api_url: 'https://a.lambda-url.eu-west-1.on.aws/', feedback_url: 'https://f.lambda-url.eu-west-1.on.aws/' };
    const fetchConfig = () => Promise.resolve(new Response(JSON.stringify(body)));
    expect(await loadConfig(fetchConfig)).toEqual({
      apiUrl: 'https://a.lambda-url.eu-west-1.on.aws',
      feedbackUrl: 'https://f.lambda-url.eu-west-1.on.aws',
    });
    expect(() => parseConfig({ api_url: 'http://x', feedback_url: 'javascript:alert(1)' })).toThrow(/feedback_url must be an http\(s\) URL/);
  });

  it('refuses an api_url that is not http(s)', () => {
    expect(() => parseConfig({ api_url: 'ftp://x' })).toThrow(/api_url must be an http\(s\) URL/);
    expect(() => parseConfig('x')).toThrow(/must be a JSON object/);
  });

  it('has no API when nothing configures one', async () => {
    expect(await loadConfig(() => Promise.reject(new TypeError('offline')))).toEqual({ apiUrl: null, feedbackUrl: null });
  });
});
