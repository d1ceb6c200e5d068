import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { grayFromImageData, preprocess, PreprocessingError, SPEC_VERSION } from '../src/preprocessing';

interface FixtureCase {
  name: string;
  height: number;
  width: number;
  pixels_base64: string;
  expected: number[];
}
interface Fixture {
  spec_version: number;
  tolerance: number;
  cases: FixtureCase[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../contracts/fixtures/preprocessing.json', import.meta.url), 'utf8'),
) as Fixture;

function decode(entry: FixtureCase): Float64Array {
  const bytes = Buffer.from(entry.pixels_base64, 'base64');
  return Float64Array.from(bytes, (b) => b / 255);
}

describe('preprocessing parity with the Python implementation', () => {
  it('implements the spec version the fixture was made for', () => {
    expect(fixture.spec_version).toBe(SPEC_VERSION);
    expect(fixture.cases.length).toBeGreaterThanOrEqual(10);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, entry) => {
    const out = preprocess({ height: entry.height, width: entry.width, data: decode(entry) });
    expect(out).toHaveLength(784);
    let worst = 0;
    for (let k = 0; k < 784; k++) {
      worst = Math.max(worst, Math.abs((out[k] ?? NaN) - (entry.expected[k] ?? NaN)));
    }
    expect(worst).toBeLessThanOrEqual(fixture.tolerance);
  });
});

describe('preprocessing of a canvas', () => {
  it('reads the red channel of RGBA pixels as ink', () => {
    const rgba = new Uint8ClampedArray(2 * 3 * 4);
    rgba[4] = 255;
    rgba[5] = 10;
    const gray = grayFromImageData({ width: 3, height: 2, data: rgba });
    expect(Array.from(gray.data)).toEqual([0, 1, 0, 0, 0, 0]);
  });

  it('gives zeros for an empty drawing', () => {
    const out = preprocess({ height: 280, width: 280, data: new Float64Array(280 * 280) });
    expect(out.every((v) => v === 0)).toBe(true);
  });

  it.each([
    [{ height: 0, width: 5, data: [] }, /empty or malformed/],
    [{ height: 2, width: 2, data: [0, 0, 0] }, /expected 4 pixels/],
    [{ height: 1, width: 2, data: [0, 255] }, /values must be in \[0, 1\]/],
    [{ height: 1, width: 2, data: [0, Number.NaN] }, /values must be in \[0, 1\]/],
  ])('refuses a bad image with a clear error (%#)', (image, message) => {
    expect(() => preprocess(image)).toThrow(PreprocessingError);
    expect(() => preprocess(image)).toThrow(message);
  });
});
