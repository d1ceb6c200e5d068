/** Download a model file, reporting progress as the body streams in. */

export class DownloadError extends Error {
  override name = 'DownloadError';
}

export interface Progress {
  readonly received: number;
  readonly total: number;
}

export async function downloadWithProgress(
  url: string,
  expectedSize: number,
  onProgress: (progress: Progress) => void,
  fetchImpl: typeof fetch = (input, init) => fetch(input, init),
): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchImpl(url);
  } catch (error) {
    throw new DownloadError(
      `The model file could not be downloaded (${error instanceof Error ? error.message : String(error)}). Check the connection and try again.`,
    );
  }
  if (!response.ok) {
    throw new DownloadError(
      response.status === 403
        ? 'The download link was refused or has expired (403). Refresh the model list and try again.'
        : `The model file could not be downloaded (HTTP ${response.status}).`,
    );
  }
  const header = Number(response.headers.get('Content-Length'));
  const total = Number.isFinite(header) && header > 0 ? header : expectedSize;
  onProgress({ received: 0, total });
  if (response.body === null) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress({ received: bytes.byteLength, total });
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.byteLength;
    onProgress({ received, total });
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
