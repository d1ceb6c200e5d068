/**
 * The input preprocessing spec (contracts/preprocessing.md, version 1), in TypeScript.
 *
 * A drawing (white ink on black, values in [0, 1]) becomes the model's `input` tensor: the
 * ink's bounding box fitted into 20x20 keeping the aspect ratio with area resampling, then
 * placed so its centre of mass sits at the centre of 28x28. The Python twin is
 * `pipelines.mnist.preprocessing`; both are checked against contracts/fixtures/preprocessing.json,
 * so every step keeps the spec's order and float64 arithmetic.
 */

export const SPEC_VERSION = 1;
export const INK_THRESHOLD = 0.1;
export const PLACEMENT_EPSILON = 1e-6;
export const BOX = 20;
export const SIZE = 28;

/** A grayscale image, row-major, values in [0, 1], white ink on black. */
export interface GrayImage {
  readonly height: number;
  readonly width: number;
  readonly data: ArrayLike<number>;
}

export class PreprocessingError extends Error {
  override name = 'PreprocessingError';
}

/** Row i: overlap of output cell i's source interval with each source pixel, over the cell size. */
function areaWeights(nOut: number, nIn: number): { start: number; weights: number[] }[] {
  const cell = nIn / nOut;
  const rows: { start: number; weights: number[] }[] = [];
  for (let i = 0; i < nOut; i++) {
    const lo = (i * nIn) / nOut;
    const hi = ((i + 1) * nIn) / nOut;
    const start = Math.floor(lo);
    const end = Math.min(nIn, Math.ceil(hi));
    const weights: number[] = [];
    for (let r = start; r < end; r++) {
      const overlap = Math.min(hi, r + 1) - Math.max(lo, r);
      weights.push(overlap > 0 ? overlap / cell : 0);
    }
    rows.push({ start, weights });
  }
  return rows;
}

function validate(image: GrayImage): void {
  const { height, width, data } = image;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new PreprocessingError(`the image is empty or malformed: ${height}x${width}`);
  }
  if (data.length !== height * width) {
    throw new PreprocessingError(
      `expected ${height * width} pixels for ${height}x${width}, got ${data.length}`,
    );
  }
  for (let k = 0; k < data.length; k++) {
    const v = data[k] ?? Number.NaN;
    if (!(v >= 0 && v <= 1)) {
      throw new PreprocessingError(
        `values must be in [0, 1] (white ink on black), got ${v} at pixel ${k}`,
      );
    }
  }
}

/** Turn one grayscale image into the model's input, float32 [1, 1, 28, 28] row-major. */
export function preprocess(image: GrayImage): Float32Array {
  validate(image);
  const { height, width, data } = image;
  const out = new Float32Array(SIZE * SIZE);

  // 1-2. Ink mask and its bounding box.
  let top = height;
  let bottom = -1;
  let left = width;
  let right = -1;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      if ((data[r * width + c] ?? 0) > INK_THRESHOLD) {
        if (r < top) top = r;
        if (r > bottom) bottom = r;
        if (c < left) left = c;
        if (c > right) right = c;
      }
    }
  }
  if (bottom < 0) return out;
  const h = bottom - top + 1;
  const w = right - left + 1;

  // 3. Target size: the longer side becomes 20.
  const scale = BOX / Math.max(h, w);
  const nh = Math.max(1, Math.floor(h * scale + 0.5));
  const nw = Math.max(1, Math.floor(w * scale + 0.5));

  // 4. Area resampling, rows first, then columns.
  const rowWeights = areaWeights(nh, h);
  const colWeights = areaWeights(nw, w);
  const rowsDone = new Float64Array(nh * w);
  for (let i = 0; i < nh; i++) {
    const { start, weights } = rowWeights[i] ?? { start: 0, weights: [] };
    for (let k = 0; k < weights.length; k++) {
      const weight = weights[k] ?? 0;
      const srcRow = (top + start + k) * width + left;
      for (let c = 0; c < w; c++) {
        rowsDone[i * w + c] = (rowsDone[i * w + c] ?? 0) + weight * (data[srcRow + c] ?? 0);
      }
    }
  }
  const patch = new Float64Array(nh * nw);
  for (let i = 0; i < nh; i++) {
    for (let j = 0; j < nw; j++) {
      const { start, weights } = colWeights[j] ?? { start: 0, weights: [] };
      let sum = 0;
      for (let k = 0; k < weights.length; k++) {
        sum += (weights[k] ?? 0) * (rowsDone[i * w + start + k] ?? 0);
      }
      patch[i * nw + j] = sum;
    }
  }

  // 5. Centre of mass of the patch.
  let mass = 0;
  let my = 0;
  let mx = 0;
  for (let i = 0; i < nh; i++) {
    for (let j = 0; j < nw; j++) {
      const v = patch[i * nw + j] ?? 0;
      mass += v;
      my += v * (i + 0.5);
      mx += v * (j + 0.5);
    }
  }
  const cy = my / mass;
  const cx = mx / mass;

  // 6. Placement: halves round up (see the spec for the epsilon), clamped inside 28x28.
  const placeTop = clamp(Math.floor(SIZE / 2 - cy + 0.5 + PLACEMENT_EPSILON), 0, SIZE - nh);
  const placeLeft = clamp(Math.floor(SIZE / 2 - cx + 0.5 + PLACEMENT_EPSILON), 0, SIZE - nw);

  // 7. Range.
  for (let i = 0; i < nh; i++) {
    for (let j = 0; j < nw; j++) {
      out[(placeTop + i) * SIZE + placeLeft + j] = clamp(patch[i * nw + j] ?? 0, 0, 1);
    }
  }
  return out;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}

/** A canvas drawn white on black, as the spec's input: R / 255 of each pixel. */
export function grayFromImageData(image: {
  readonly width: number;
  readonly height: number;
  readonly data: ArrayLike<number>;
}): GrayImage {
  const gray = new Float64Array(image.width * image.height);
  for (let k = 0; k < gray.length; k++) {
    gray[k] = (image.data[k * 4] ?? 0) / 255;
  }
  return { height: image.height, width: image.width, data: gray };
}
