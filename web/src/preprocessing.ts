/**
 * The input preprocessing spec (contracts/preprocessing.md, version 2), in TypeScript.
 *
 * A drawing (white ink on black, values in [0, 1]) becomes the model's `input` tensor with
 * MNIST's geometry and stroke width, whatever the size of the drawing and the pen: the ink's
 * box is resampled onto a 64-pixel working grid, thinned to its centre line (Zhang-Suen), and
 * the centre line is drawn again with MNIST's pen into 20x20, centred by mass in 28x28. Ink
 * whose centre line is shorter than 8% of the image (a tap, a dot) is `not_a_digit`.
 *
 * API for the app:
 * - `prepare(image)` -> `{ status: 'digit' | 'not_a_digit' | 'empty', input, extent }`:
 *   run the model only when status is `digit`; otherwise show "draw a digit".
 * - `preprocess(image)` -> the input tensor alone (zeros unless a digit).
 * - `isSure(probabilities)` -> false when the top probability is below MIN_CONFIDENCE: show
 *   the answer as "not sure".
 *
 * The Python twin is `pipelines.mnist.preprocessing`; both are checked against
 * contracts/fixtures/preprocessing.json, so every step keeps the spec's order and float64
 * arithmetic.
 */

export const SPEC_VERSION = 2;
export const INK_THRESHOLD = 0.1;
export const PLACEMENT_EPSILON = 1e-6;
export const BOX = 20;
export const SIZE = 28;
export const WORK = 64;
export const STROKE_RADIUS = 1.3;
export const MIN_EXTENT = 0.08;
export const MIN_CONFIDENCE = 0.6;

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

export type Status = 'digit' | 'not_a_digit' | 'empty';

/** What the procedure made of one image: feed `input` to the model only for a digit. */
export interface Prepared {
  readonly status: Status;
  /** float32 [1, 1, 28, 28] row-major, values in [0, 1]; all zeros unless a digit. */
  readonly input: Float32Array;
  /** The centre line's longer side in input pixels (0 when empty). */
  readonly extent: number;
}

/** Steps 1-3: the ink's box resampled so its longer side is WORK; null when there is no ink. */
function workingGrid(image: GrayImage): { grid: Float64Array; nh: number; nw: number; scale: number } | null {
  const { height, width, data } = image;
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
  if (bottom < 0) return null;
  const h = bottom - top + 1;
  const w = right - left + 1;
  const scale = WORK / Math.max(h, w);
  const nh = Math.max(1, Math.floor(h * scale + 0.5));
  const nw = Math.max(1, Math.floor(w * scale + 0.5));

  // Area resampling, rows first, then columns.
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
  const grid = new Float64Array(nh * nw);
  for (let i = 0; i < nh; i++) {
    for (let j = 0; j < nw; j++) {
      const { start, weights } = colWeights[j] ?? { start: 0, weights: [] };
      let sum = 0;
      for (let k = 0; k < weights.length; k++) {
        sum += (weights[k] ?? 0) * (rowsDone[i * w + start + k] ?? 0);
      }
      grid[i * nw + j] = sum;
    }
  }
  return { grid, nh, nw, scale };
}

/**
 * Step 4: Zhang-Suen thinning, in place, of a 0/1 mask (h x w). Each sub-iteration judges
 * every pixel on the mask as it was before it; outside the mask is background.
 */
export function thin(mask: Uint8Array, h: number, w: number): Uint8Array {
  const at = (r: number, c: number) => (r < 0 || c < 0 || r >= h || c >= w ? 0 : (mask[r * w + c] ?? 0));
  const remove: number[] = [];
  for (;;) {
    let changed = false;
    for (const first of [true, false]) {
      remove.length = 0;
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < w; c++) {
          if (mask[r * w + c] !== 1) continue;
          const p = [
            at(r - 1, c),
            at(r - 1, c + 1),
            at(r, c + 1),
            at(r + 1, c + 1),
            at(r + 1, c),
            at(r + 1, c - 1),
            at(r, c - 1),
            at(r - 1, c - 1),
          ];
          let count = 0;
          let transitions = 0;
          for (let k = 0; k < 8; k++) {
            count += p[k] ?? 0;
            if (p[k] === 0 && p[(k + 1) % 8] === 1) transitions += 1;
          }
          const [p2, , p4, , p6, , p8] = p;
          const open = first
            ? (p2 ?? 0) * (p4 ?? 0) * (p6 ?? 0) === 0 && (p4 ?? 0) * (p6 ?? 0) * (p8 ?? 0) === 0
            : (p2 ?? 0) * (p4 ?? 0) * (p8 ?? 0) === 0 && (p2 ?? 0) * (p6 ?? 0) * (p8 ?? 0) === 0;
          if (count >= 2 && count <= 6 && transitions === 1 && open) remove.push(r * w + c);
        }
      }
      for (const k of remove) mask[k] = 0;
      if (remove.length > 0) changed = true;
    }
    if (!changed) return mask;
  }
}

/** Steps 6-7: the skeleton's centre line drawn with MNIST's pen into 28x28, box centred. */
function redraw(skeleton: Uint8Array, h: number, w: number, box: { top: number; left: number; spanH: number; spanW: number }): Float64Array {
  const k = (BOX - 2 * STROKE_RADIUS) / Math.max(box.spanH, box.spanW);
  const offY = SIZE / 2 - (box.spanH * k) / 2;
  const offX = SIZE / 2 - (box.spanW * k) / 2;
  const segments: number[] = []; // y0, x0, y1, x1 repeated
  const add = (r0: number, c0: number, r1: number, c1: number) => {
    segments.push(offY + (r0 - box.top) * k, offX + (c0 - box.left) * k, offY + (r1 - box.top) * k, offX + (c1 - box.left) * k);
  };
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      if (skeleton[r * w + c] !== 1) continue;
      add(r, c, r, c);
      for (const [dr, dc] of NEIGHBOURS) {
        const rr = r + dr;
        const cc = c + dc;
        if (rr < h && cc >= 0 && cc < w && skeleton[rr * w + cc] === 1) add(r, c, rr, cc);
      }
    }
  }
  const out = new Float64Array(SIZE * SIZE);
  for (let i = 0; i < SIZE; i++) {
    for (let j = 0; j < SIZE; j++) {
      const py = i + 0.5;
      const px = j + 0.5;
      let best = Infinity;
      for (let s = 0; s < segments.length; s += 4) {
        const y0 = segments[s] ?? 0;
        const x0 = segments[s + 1] ?? 0;
        const dy = (segments[s + 2] ?? 0) - y0;
        const dx = (segments[s + 3] ?? 0) - x0;
        const length2 = dy * dy + dx * dx;
        const t = length2 > 0 ? clamp(((py - y0) * dy + (px - x0) * dx) / length2, 0, 1) : 0;
        const ey = py - (y0 + t * dy);
        const ex = px - (x0 + t * dx);
        const d2 = ey * ey + ex * ex;
        if (d2 < best) best = d2;
      }
      out[i * SIZE + j] = clamp(STROKE_RADIUS + 0.5 - Math.sqrt(best), 0, 1);
    }
  }
  return out;
}

// E, S, SE, SW: each neighbouring pair of skeleton pixels once.
const NEIGHBOURS: readonly (readonly [number, number])[] = [
  [0, 1],
  [1, 0],
  [1, 1],
  [1, -1],
];

/** Step 8: whole-pixel shift putting the centre of mass at (14, 14), ink kept inside. */
function place(drawn: Float64Array): Float64Array {
  let mass = 0;
  let my = 0;
  let mx = 0;
  let firstRow = SIZE;
  let lastRow = -1;
  let firstCol = SIZE;
  let lastCol = -1;
  const rowSums = new Float64Array(SIZE);
  const colSums = new Float64Array(SIZE);
  for (let i = 0; i < SIZE; i++) {
    for (let j = 0; j < SIZE; j++) {
      const v = drawn[i * SIZE + j] ?? 0;
      rowSums[i] = (rowSums[i] ?? 0) + v;
      colSums[j] = (colSums[j] ?? 0) + v;
      if (v > 0) {
        firstRow = Math.min(firstRow, i);
        lastRow = Math.max(lastRow, i);
        firstCol = Math.min(firstCol, j);
        lastCol = Math.max(lastCol, j);
      }
    }
  }
  for (let i = 0; i < SIZE; i++) {
    mass += rowSums[i] ?? 0;
    my += (rowSums[i] ?? 0) * (i + 0.5);
    mx += (colSums[i] ?? 0) * (i + 0.5);
  }
  const dy = clamp(Math.floor(SIZE / 2 - my / mass + 0.5 + PLACEMENT_EPSILON), -firstRow, SIZE - 1 - lastRow);
  const dx = clamp(Math.floor(SIZE / 2 - mx / mass + 0.5 + PLACEMENT_EPSILON), -firstCol, SIZE - 1 - lastCol);
  const out = new Float64Array(SIZE * SIZE);
  for (let i = 0; i < SIZE; i++) {
    for (let j = 0; j < SIZE; j++) {
      const si = i - dy;
      const sj = j - dx;
      if (si >= 0 && si < SIZE && sj >= 0 && sj < SIZE) out[i * SIZE + j] = drawn[si * SIZE + sj] ?? 0;
    }
  }
  return out;
}

/** Turn one grayscale image into the model's input, or say why it is not a digit. */
export function prepare(image: GrayImage): Prepared {
  validate(image);
  const zeros = new Float32Array(SIZE * SIZE);
  const work = workingGrid(image);
  if (work === null) return { status: 'empty', input: zeros, extent: 0 };
  const { grid, nh, nw, scale } = work;
  const mask = new Uint8Array(nh * nw);
  for (let k = 0; k < mask.length; k++) mask[k] = (grid[k] ?? 0) > INK_THRESHOLD ? 1 : 0;
  const skeleton = thin(mask, nh, nw);

  // 5. Is it a digit? The centre line's span, against the image's longer side.
  let top = nh;
  let bottom = -1;
  let left = nw;
  let right = -1;
  for (let r = 0; r < nh; r++) {
    for (let c = 0; c < nw; c++) {
      if (skeleton[r * nw + c] === 1) {
        top = Math.min(top, r);
        bottom = Math.max(bottom, r);
        left = Math.min(left, c);
        right = Math.max(right, c);
      }
    }
  }
  const span = bottom < 0 ? 0 : Math.max(bottom - top, right - left);
  const extent = span / scale;
  if (span === 0 || extent < MIN_EXTENT * Math.max(image.height, image.width)) {
    return { status: 'not_a_digit', input: zeros, extent };
  }
  const placed = place(redraw(skeleton, nh, nw, { top, left, spanH: bottom - top, spanW: right - left }));
  // 9. Range.
  const input = new Float32Array(SIZE * SIZE);
  for (let k = 0; k < input.length; k++) input[k] = clamp(placed[k] ?? 0, 0, 1);
  return { status: 'digit', input, extent };
}

/** The model's input alone, float32 [1, 1, 28, 28] row-major: zeros unless a digit. */
export function preprocess(image: GrayImage): Float32Array {
  return prepare(image).input;
}

/** Whether an answer is sure enough to show as the reading (spec, Answers). */
export function isSure(probabilities: ArrayLike<number>): boolean {
  let best = 0;
  for (let k = 0; k < probabilities.length; k++) best = Math.max(best, probabilities[k] ?? 0);
  return best >= MIN_CONFIDENCE;
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
