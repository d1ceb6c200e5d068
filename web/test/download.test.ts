import { describe, expect, it } from 'vitest';
import { downloadWithProgress, DownloadError, type Progress } from '../src/download';

function streamed(chunks: Uint8Array[], headers: Record<string, string> = {}): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers });
}

describe('model download', () => {
  it('streams the body and reports progress up to the total', async () => {
    const seen: Progress[] = [];
    const bytes = await downloadWithProgress(
      'http://s3.test/model.onnx',
      6,
      (p) => seen.push(p),
      () => Promise.resolve(streamed([new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])])),
    );
    expect(Array.from(bytes)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen.map((p) => p.received)).toEqual([0, 3, 6]);
    expect(seen.every((p) => p.total === 6)).toBe(true);
  });

  it('explains an expired download link', async () => {
    const download = downloadWithProgress('http://s3.test/m', 1, () => undefined, () =>
      Promise.resolve(new Response('<Error/>', { status: 403 })),
    );
    await expect(download).rejects.toBeInstanceOf(DownloadError);
    await expect(download).rejects.toThrow(/expired \(403\)\. Refresh the model list/);
  });
});
