/**
 * Why the wasm runtime could not start, in words a person can act on: a missing file (which
 * one, which HTTP status), a file that is an HTML page (a server's 404 or index page instead
 * of the file), WebAssembly switched off, or else the runtime's own message. Never the model.
 */

export class RuntimeUnavailableError extends Error {
  override name = 'RuntimeUnavailableError';
  constructor(readonly detail: string) {
    super(
      `The recognition runtime could not start: ${detail}. ` +
        'This is not a fault of any model: stored models are kept. Reload the page once it is fixed.',
    );
  }
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
 * WebAssembly or a runtime file at `urls`, else the runtime's own message.
 */
export async function diagnoseRuntime(
  cause: unknown,
  urls: readonly string[],
  hasWebAssembly: boolean = typeof WebAssembly === 'object',
  fetchImpl?: typeof fetch,
): Promise<RuntimeUnavailableError> {
  if (!hasWebAssembly) return new RuntimeUnavailableError('WebAssembly is disabled in this browser');
  for (const url of urls) {
    const problem = await checkRuntimeFile(url, fetchImpl);
    if (problem !== null) return new RuntimeUnavailableError(problem);
  }
  return new RuntimeUnavailableError(
    `onnxruntime-web failed to start (${cause instanceof Error ? cause.message : String(cause)})`,
  );
}
