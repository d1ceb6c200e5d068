import { describe, expect, it } from 'vitest';
import {
  checkRuntimeFile,
  diagnoseRuntime,
  probeWebAssembly,
  RuntimeUnavailableError,
  SUPPORTED_BROWSERS,
} from '../src/runtimeCheck';

const WASM = 'http://site.test/assets/ort-abc/ort-wasm-simd-threaded.wasm';
const GLUE = 'http://site.test/assets/ort-abc/ort-wasm-simd-threaded.mjs';
const wasmBytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

const serve = (answers: Record<string, () => Response>): typeof fetch => (input) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const answer = answers[url];
  return answer === undefined ? Promise.reject(new TypeError('Failed to fetch')) : Promise.resolve(answer());
};
const good = {
  [GLUE]: () => new Response('export default 1;', { headers: { 'Content-Type': 'text/javascript' } }),
  [WASM]: () => new Response(wasmBytes, { headers: { 'Content-Type': 'application/wasm' } }),
};
const html = '<!doctype html><html><body>Not found</body></html>';

describe('why the runtime did not start', () => {
  it('names the missing file and its HTTP status', async () => {
    const fetchImpl = serve({ ...good, [WASM]: () => new Response('gone', { status: 404 }) });
    const error = await diagnoseRuntime(new Error('no available backend'), [GLUE, WASM], true, fetchImpl);
    expect(error).toBeInstanceOf(RuntimeUnavailableError);
    expect(error.message).toMatch(/runtime file ort-wasm-simd-threaded\.wasm could not be loaded \(HTTP 404/);
    expect(error.message).toMatch(/not a fault of any model: stored models are kept/);
  });

  it('says when the file served as the wasm is an HTML page, even sent as 200 with a wasm type', async () => {
    for (const type of ['text/html; charset=utf-8', 'application/wasm']) {
      const fetchImpl = serve({ ...good, [WASM]: () => new Response(html, { headers: { 'Content-Type': type } }) });
      const error = await diagnoseRuntime(new Error('expected magic word'), [GLUE, WASM], true, fetchImpl);
      expect(error.message).toContain('the file served as ort-wasm-simd-threaded.wasm is an HTML page');
    }
  });

  it('says when the glue script is an HTML page', async () => {
    const fetchImpl = serve({ ...good, [GLUE]: () => new Response(html, { headers: { 'Content-Type': 'text/html' } }) });
    expect((await diagnoseRuntime(new Error('x'), [GLUE, WASM], true, fetchImpl)).message).toContain(
      'the file served as ort-wasm-simd-threaded.mjs is an HTML page',
    );
  });

  it('says WebAssembly is disabled before looking at any file', async () => {
    const error = await diagnoseRuntime(new Error('x'), [GLUE, WASM], false, () => Promise.reject(new Error('not called')));
    expect(error.message).toContain('WebAssembly is disabled in this browser');
  });

  it('names a file that cannot be downloaded at all', async () => {
    expect(await checkRuntimeFile(WASM, serve({}))).toMatch(/could not be downloaded \(Failed to fetch\)/);
  });

  it('finds nothing wrong with good files and passes on the runtime\'s own message', async () => {
    expect(await checkRuntimeFile(WASM, serve(good))).toBeNull();
    const error = await diagnoseRuntime(new Error('out of memory'), [GLUE, WASM], true, serve(good));
    expect(error.message).toContain('onnxruntime-web failed to start (out of memory)');
  });

  it('says a wasm file without the WebAssembly header is not WebAssembly', async () => {
    const fetchImpl = serve({ [WASM]: () => new Response(new Uint8Array([1, 2, 3, 4, 5])) });
    expect(await checkRuntimeFile(WASM, fetchImpl)).toContain('is not WebAssembly');
  });
});

describe('a browser too old for the site', () => {
  const notCalled = () => Promise.reject(new Error('not called'));
  // What Chromium says when the page's policy lacks 'wasm-unsafe-eval', as Safari 15's does.
  const refused =
    "WebAssembly.Module(): Refused to compile or instantiate WebAssembly module because 'unsafe-eval' is not an allowed source of script";

  it('says a security policy blocks WebAssembly, which browsers run the site, and that models stay', async () => {
    const error = await diagnoseRuntime(new Error('no available backend found'), [GLUE, WASM], true, notCalled, () => ({
      compileBlocked: refused,
      simd: false,
    }));
    expect(error.message).toMatch(/does not let the site run WebAssembly under the site's security policy, as Safari before version 16 does/);
    expect(error.message).toContain(refused);
    expect(error.message).toContain('stored models are kept');
    expect(error.message).toMatch(/Models can be listed here but not run\. Open this site in Safari 16\.4 or later .*Chrome or Edge 97 or later, or Firefox 102 or later\.$/);
    expect(error.message).not.toContain('Reload the page once it is fixed');
  });

  it('says WebAssembly without SIMD is too old, naming the browsers that work', async () => {
    const error = await diagnoseRuntime(new Error('x'), [GLUE, WASM], true, notCalled, () => ({ compileBlocked: null, simd: false }));
    expect(error.message).toContain('lacks the SIMD instructions the runtime is built with, as Safari before 16.4 does');
    expect(error.message).toContain(SUPPORTED_BROWSERS);
  });

  it('finds a compile refused by the policy, and SIMD where the engine has it', () => {
    // Node's V8 has SIMD and no policy.
    expect(probeWebAssembly()).toEqual({ compileBlocked: null, simd: true });
    const blocked = {
      ...WebAssembly,
      Module: function Module() {
        throw new WebAssembly.CompileError(refused);
      },
    } as unknown as typeof WebAssembly;
    expect(probeWebAssembly(blocked)).toEqual({ compileBlocked: refused, simd: false });
    const noSimd = { Module: WebAssembly.Module, validate: () => false } as unknown as typeof WebAssembly;
    expect(probeWebAssembly(noSimd).simd).toBe(false);
  });
});
