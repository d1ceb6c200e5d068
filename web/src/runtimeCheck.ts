/**
 * Why the wasm runtime could not start, in words a person can act on: a missing file (which
 * one, which HTTP status), a file that is an HTML page (a server's 404 or index page instead
 * of the file), WebAssembly switched off, WebAssembly blocked by the site's security policy or
 * lacking SIMD (a browser too old for this site: which ones work), or else the runtime's own
 * message. Never the model.
 */

/**
 * The browsers the site runs in: the first versions with both WebAssembly SIMD (the only wasm
 * build onnxruntime-web ships, ort-wasm-simd-threaded; caniuse "wasm-simd": Chrome 91, Firefox
 * 89, Safari 16.4) and the Content Security Policy keyword 'wasm-unsafe-eval' the site's
 * policy allows WebAssembly with (MDN, CSP script-src: Chrome 97, Firefox 102, Safari 16).
 * README.md lists the same.
 */
export const SUPPORTED_BROWSERS =
  'Safari 16.4 or later (on iPhone and iPad: iOS 16.4 or later), Chrome or Edge 97 or later, or Firefox 102 or later';

const STORED_KEPT = 'This is not a fault of any model: stored models are kept.';

export class RuntimeUnavailableError extends Error {
  override name = 'RuntimeUnavailableError';
  /** `advice`: what to do, by default reloading once the cause (a file, a setting) is fixed. */
  constructor(
    readonly detail: string,
    advice = 'Reload the page once it is fixed.',
  ) {
    super(`The recognition runtime could not start: ${detail}. ${STORED_KEPT} ${advice}`);
  }
}

/** What this browser's WebAssembly can do for the runtime, found without the runtime. */
export interface WasmProbe {
  /** Why this page may not compile WebAssembly at all (the browser's words), or null. */
  readonly compileBlocked: string | null;
  /** Whether WebAssembly SIMD instructions validate. */
  readonly simd: boolean;
}

// The smallest module ("\0asm", version 1): compiling it fails only when compiling is refused.
const EMPTY_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
// One function returning i8x16.popcnt(i8x16.splat(0)): types (-> v128), one function, its
// code `i32.const 0; 0xfd 15 (i8x16.splat); 0xfd 98 (i8x16.popcnt); end`. The same probe as
// the wasm-feature-detect library's `simd`.
const SIMD_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0, 10, 10, 1, 8, 0, 0x41, 0,
  0xfd, 15, 0xfd, 98, 0x0b,
]);

/**
 * Try this page's WebAssembly: compile the empty module (a Content Security Policy without
 * 'wasm-unsafe-eval' refuses it, which is what Safari before 16 does with this site's policy:
 * it does not know the keyword) and validate a SIMD instruction (missing before Safari 16.4).
 */
export function probeWebAssembly(wasm: typeof WebAssembly = WebAssembly): WasmProbe {
  try {
    new wasm.Module(EMPTY_MODULE);
  } catch (error) {
    return { compileBlocked: error instanceof Error ? error.message : String(error), simd: false };
  }
  return { compileBlocked: null, simd: wasm.validate(SIMD_MODULE) };
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d]; // "\0asm"

/** The first bytes of a body, without reading the whole (12 MB) file. */
async function head(response: Response, count: number): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(await response.arrayBuffer()).slice(0, count);
  const reader = response.body.getReader();
  const bytes: number[] = [];
  while (bytes.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes.push(...value.subarray(0, count - bytes.length));
  }
  await reader.cancel();
  return Uint8Array.from(bytes);
}

const looksLikeHtml = (type: string, start: Uint8Array): boolean =>
  type.includes('text/html') ||
  /^\s*<(!doctype|html|head|body|\?xml|error)/i.test(new TextDecoder().decode(start));

/**
 * What is wrong with one runtime file, or null when it looks right.
 *
 * Args: `url` of the file (its name is what the message shows), `fetchImpl` to get it.
 */
export async function checkRuntimeFile(
  url: string,
  fetchImpl: typeof fetch = (input, init) => fetch(input, init),
): Promise<string | null> {
  const name = new URL(url).pathname.split('/').pop() ?? url;
  let response: Response;
  try {
    response = await fetchImpl(url, { cache: 'no-store' });
  } catch (error) {
    return `the runtime file ${name} could not be downloaded (${error instanceof Error ? error.message : String(error)})`;
  }
  if (!response.ok) {
    await response.body?.cancel();
    return `the runtime file ${name} could not be loaded (HTTP ${response.status} from ${url})`;
  }
  const type = response.headers.get('Content-Type') ?? '';
  const start = await head(response, 64);
  if (looksLikeHtml(type, start)) {
    return `the file served as ${name} is an HTML page, not the runtime (${url})`;
  }
  if (name.endsWith('.wasm') && !WASM_MAGIC.every((b, i) => start[i] === b)) {
    return `the file served as ${name} is not WebAssembly (${url})`;
  }
  return null;
}

/**
 * The error to show when the runtime failed with `cause`: the first problem found with
 * WebAssembly (none, blocked, no SIMD: `probe` tries it) or a runtime file at `urls`, else the
 * runtime's own message.
 */
export async function diagnoseRuntime(
  cause: unknown,
  urls: readonly string[],
  hasWebAssembly: boolean = typeof WebAssembly === 'object',
  fetchImpl?: typeof fetch,
  probe: () => WasmProbe = () => probeWebAssembly(),
): Promise<RuntimeUnavailableError> {
  if (!hasWebAssembly) return new RuntimeUnavailableError('WebAssembly is disabled in this browser');
  const wasm = probe();
  const useAnother = `Models can be listed here but not run. Open this site in ${SUPPORTED_BROWSERS}.`;
  if (wasm.compileBlocked !== null) {
    return new RuntimeUnavailableError(
      'this browser does not let the site run WebAssembly under the site\'s security policy, as Safari ' +
        'before version 16 does (it does not know the policy\'s permission for WebAssembly, ' +
        `'wasm-unsafe-eval'; the browser said: ${wasm.compileBlocked})`,
      useAnother,
    );
  }
  if (!wasm.simd) {
    return new RuntimeUnavailableError(
      'this browser\'s WebAssembly lacks the SIMD instructions the runtime is built with, as Safari before 16.4 does',
      useAnother,
    );
  }
  for (const url of urls) {
    const problem = await checkRuntimeFile(url, fetchImpl);
    if (problem !== null) return new RuntimeUnavailableError(problem);
  }
  return new RuntimeUnavailableError(
    `onnxruntime-web failed to start (${cause instanceof Error ? cause.message : String(cause)})`,
  );
}
