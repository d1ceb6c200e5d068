import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  grayFromImageData,
  isSure,
  MIN_CONFIDENCE,
  prepare,
  preprocess,
  PreprocessingError,
  SPEC_VERSION,
  type GrayImage,
} from '../src/preprocessing';

interface FixtureCase {
  name: string;
  status: string;
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
    const prepared = prepare({ height: entry.height, width: entry.width, data: decode(entry) });
    expect(prepared.status).toBe(entry.status);
    const out = prepared.input;
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

/** A 280x280 pad with round anti-aliased strokes ([x, y] in pad pixels), as a canvas draws. */
function pad(strokes: [number, number][][], pen: number): GrayImage {
  const size = 280;
  const data = new Float64Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      let best = Infinity;
      for (const stroke of strokes) {
        const points = stroke.length > 1 ? stroke : [stroke[0] ?? [0, 0], stroke[0] ?? [0, 0]];
        for (let k = 1; k < points.length; k++) {
          const [x0, y0] = points[k - 1] ?? [0, 0];
          const [x1, y1] = points[k] ?? [0, 0];
          const dx = x1 - x0;
          const dy = y1 - y0;
          const l2 = dx * dx + dy * dy;
          const t = l2 === 0 ? 0 : Math.min(1, Math.max(0, ((c + 0.5 - x0) * dx + (r + 0.5 - y0) * dy) / l2));
          best = Math.min(best, Math.hypot(c + 0.5 - (x0 + t * dx), r + 0.5 - (y0 + t * dy)));
        }
      }
      data[r * size + c] = Math.round(Math.min(1, Math.max(0, pen / 2 + 0.5 - best)) * 255) / 255;
    }
  }
  return { height: size, width: size, data };
}

/** A two in a box of `side` pixels with its top-left corner at (x, y). */
function two(x: number, y: number, side: number): [number, number][][] {
  const unit: [number, number][] = [
    [0.1, 0.25], [0.35, 0.05], [0.55, 0.0], [0.7, 0.1], [0.65, 0.3], [0.4, 0.55], [0.05, 1.0], [0.75, 1.0],
  ];
  return [unit.map(([u, v]) => [x + u * side, y + v * side])];
}

const ink = (input: Float32Array) => input.reduce((a, b) => a + b, 0);

describe('drawings as people make them', () => {
  it('reads a small two in a corner with a thick pen like a large two with a thin one', () => {
    const small = prepare(pad(two(215, 218, 56), 14));
    const large = prepare(pad(two(20, 10, 250), 3));
    expect(small.status).toBe('digit');
    expect(large.status).toBe('digit');
    // The same stroke width reaches the model: about as much ink, and nearly the same image.
    expect(ink(small.input) / ink(large.input)).toBeGreaterThan(0.85);
    expect(ink(small.input) / ink(large.input)).toBeLessThan(1.15);
    let diff = 0;
    for (let k = 0; k < 784; k++) diff += Math.abs((small.input[k] ?? 0) - (large.input[k] ?? 0));
    expect(diff / ink(large.input)).toBeLessThan(0.6);
  });

  it('says a tap is not a digit and gives the model nothing to read', () => {
    for (const pen of [8, 30]) {
      const tap = prepare(pad([[[140, 90]]], pen));
      expect(tap.status).toBe('not_a_digit');
      expect(tap.input.every((v) => v === 0)).toBe(true);
    }
  });

  it('says a scribble smaller than 8% of the pad is not a digit', () => {
    const scribble = prepare(pad([[[100, 100], [108, 104], [103, 110], [110, 112]]], 8));
    expect(scribble.status).toBe('not_a_digit');
  });

  it('reports an empty pad as empty', () => {
    expect(prepare({ height: 280, width: 280, data: new Float64Array(280 * 280) }).status).toBe('empty');
  });
});

describe('confidence of an answer', () => {
  it(`is sure at or above ${MIN_CONFIDENCE} and not below`, () => {
    expect(isSure([0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.82])).toBe(true);
    expect(isSure([0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.35, 0.25])).toBe(false);
    expect(isSure(new Array<number>(10).fill(0.1))).toBe(false);
  });
});
