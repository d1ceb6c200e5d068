"""The input preprocessing spec (contracts/preprocessing.md, version 2), in Python.

A drawing or any grayscale digit image (white ink on black, values in [0, 1]) becomes the
model's ``input`` tensor with MNIST's geometry and MNIST's stroke width, whatever the size of
the drawing and the pen: the ink is cropped, resampled onto a 64-pixel working grid, thinned
to its centre line (Zhang-Suen), and the centre line is drawn again with a pen of MNIST's
width, fitted into 20x20 and placed so its centre of mass sits at the centre of 28x28.
Ink whose centre line is shorter than 8% of the image's longer side (a tap, a dot, a tiny
scribble) is not a digit: the result says so and the tensor is all zeros.

The TypeScript twin is ``web/src/preprocessing.ts``; both are checked against
``contracts/fixtures/preprocessing.json``. Keep every step in the spec's order and arithmetic
so the two stay equal to 1e-6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from pipelines.mnist.code.idx import IMAGE_SIDE

SPEC_VERSION = 2
INK_THRESHOLD = 0.1
# Exact half-pixel centres are common (any symmetric drawing); this keeps summation-order
# noise from rounding them to different pixels in the two implementations.
PLACEMENT_EPSILON = 1e-6
BOX = 20
SIZE = IMAGE_SIDE
# The working grid's longer side: fine enough that an 8 px pen on a 280 px pad keeps its
# loops, coarse enough that thinning takes a few milliseconds in a browser.
WORK = 64
# Half the redrawn stroke's width in output pixels: MNIST's digits hold on average 138 units
# of ink (sum of byte/255 over 28x28, first 500 of the offline sample); their centre lines
# redrawn with this radius hold 137.
STROKE_RADIUS = 1.3
# A centre line shorter than this fraction of the image's longer side is not a digit
# (22 px on the 280 px pad; the smallest digit the benchmark draws, 15% of the pad, is 42).
MIN_EXTENT = 0.08
# An answer whose top probability is below this is shown as "not sure" (spec, Answers).
MIN_CONFIDENCE = 0.6

Status = Literal["digit", "not_a_digit", "empty"]


class PreprocessingError(ValueError):
    """The image cannot be preprocessed (wrong shape or values); the message says why."""


@dataclass(frozen=True)
class Prepared:
    """What the procedure made of one image.

    Attributes:
        status: ``digit`` (feed ``input`` to the model), ``not_a_digit`` (ink too small to be
            a digit: a tap, a dot, a short scribble) or ``empty`` (no ink).
        input: float32 (1, 1, 28, 28), values in [0, 1]; all zeros unless ``status`` is digit.
        extent: the centre line's longer side in input pixels (0.0 when empty).
    """

    status: Status
    input: npt.NDArray[np.float32]
    extent: float


def _area_weights(n_out: int, n_in: int) -> npt.NDArray[np.float64]:
    """Row i: overlap of output cell i's source interval with each source pixel, / cell size."""
    weights = np.zeros((n_out, n_in), dtype=np.float64)
    cell = n_in / n_out
    for i in range(n_out):
        lo = i * n_in / n_out
        hi = (i + 1) * n_in / n_out
        for r in range(math.floor(lo), min(n_in, math.ceil(hi))):
            overlap = min(hi, r + 1) - max(lo, r)
            if overlap > 0:
                weights[i, r] = overlap / cell
    return weights


def _validate(image: npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(image)
    if array.ndim != 2:
        raise PreprocessingError(
            f"expected a 2-D grayscale image (height, width), got shape {array.shape}"
        )
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise PreprocessingError(f"the image is empty: shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise PreprocessingError(f"expected numbers, got dtype {array.dtype}")
    values = array.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise PreprocessingError("the image holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        raise PreprocessingError(
            f"values must be in [0, 1] (white ink on black), got [{low:g}, {high:g}]; "
            "divide 8-bit images by 255"
        )
    return values


def working_grid(src: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], float] | None:
    """Steps 1-3: the ink's box resampled so its longer side is WORK pixels, and that scale.

    Returns None when no pixel is ink.
    """
    rows, cols = np.nonzero(src > INK_THRESHOLD)
    if rows.size == 0:
        return None
    crop = src[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = crop.shape
    scale = WORK / max(h, w)
    nh = max(1, math.floor(h * scale + 0.5))
    nw = max(1, math.floor(w * scale + 0.5))
    return _area_weights(nh, h) @ crop @ _area_weights(nw, w).T, scale


def thin(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Step 4: Zhang-Suen thinning (1984) of a binary image to one-pixel-wide lines.

    Each pass has two sub-iterations; a sub-iteration decides every pixel from the image as
    it was before it (so it is exact to vectorise), outside the image counts as background.
    """
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for first in (True, False):
            centre = img[1:-1, 1:-1]
            # Neighbours P2..P9 clockwise from north.
            p = [
                img[:-2, 1:-1],
                img[:-2, 2:],
                img[1:-1, 2:],
                img[2:, 2:],
                img[2:, 1:-1],
                img[2:, :-2],
                img[1:-1, :-2],
                img[:-2, :-2],
            ]
            count = sum(n.astype(np.int32) for n in p)
            transitions = sum(
                ((p[k] == 0) & (p[(k + 1) % 8] == 1)).astype(np.int32) for k in range(8)
            )
            p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
            if first:
                open_side = ((p2 & p4 & p6) == 0) & ((p4 & p6 & p8) == 0)
            else:
                open_side = ((p2 & p4 & p8) == 0) & ((p2 & p6 & p8) == 0)
            delete = (centre == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & open_side
            if delete.any():
                centre[delete] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def _segments(skeleton: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], ...]:
    """Step 6's line pieces: every skeleton pixel to itself and to its E, S, SE, SW neighbours.

    Returns (row0, col0, row1, col1) arrays.
    """
    rows, cols = np.nonzero(skeleton)
    h, w = skeleton.shape
    r0, c0, r1, c1 = [rows], [cols], [rows], [cols]
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        rr, cc = rows + dr, cols + dc
        inside = (rr < h) & (cc >= 0) & (cc < w)
        linked = np.zeros_like(inside)
        linked[inside] = skeleton[rr[inside], cc[inside]]
        r0.append(rows[linked])
        c0.append(cols[linked])
        r1.append(rr[linked])
        c1.append(cc[linked])
    return tuple(np.concatenate(a) for a in (r0, c0, r1, c1))


def redraw(skeleton: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Steps 5-7: the centre line drawn with MNIST's pen in 28x28, box centred, before placement.

    Args:
        skeleton: boolean working-grid image with at least two skeleton pixels apart.

    Returns:
        float64 (28, 28) in [0, 1].
    """
    rows, cols = np.nonzero(skeleton)
    top, left = int(rows.min()), int(cols.min())
    span_h, span_w = int(rows.max()) - top, int(cols.max()) - left
    k = (BOX - 2 * STROKE_RADIUS) / max(span_h, span_w)
    off_y = SIZE / 2 - span_h * k / 2
    off_x = SIZE / 2 - span_w * k / 2
    r0, c0, r1, c1 = _segments(skeleton)
    y0 = off_y + (r0 - top) * k
    x0 = off_x + (c0 - left) * k
    y1 = off_y + (r1 - top) * k
    x1 = off_x + (c1 - left) * k
    dy, dx = y1 - y0, x1 - x0
    length2 = dy * dy + dx * dx
    centres = np.arange(SIZE, dtype=np.float64) + 0.5
    py = np.repeat(centres, SIZE)[:, None]
    px = np.tile(centres, SIZE)[:, None]
    safe = np.where(length2 > 0, length2, 1.0)
    t = np.where(length2 > 0, np.clip(((py - y0) * dy + (px - x0) * dx) / safe, 0.0, 1.0), 0.0)
    ey = py - (y0 + t * dy)
    ex = px - (x0 + t * dx)
    distance = np.sqrt((ey * ey + ex * ex).min(axis=1)).reshape(SIZE, SIZE)
    return np.clip(STROKE_RADIUS + 0.5 - distance, 0.0, 1.0)


def _shift(centre: float) -> int:
    # Python's round() rounds halves to even; the spec rounds halves up, as floor(x + 0.5).
    return math.floor(SIZE / 2 - centre + 0.5 + PLACEMENT_EPSILON)


def _centre_of_mass(image: npt.NDArray[np.float64]) -> tuple[float, float]:
    centres = np.arange(SIZE) + 0.5
    mass = float(image.sum())
    return (
        float((image.sum(axis=1) * centres).sum()) / mass,
        float((image.sum(axis=0) * centres).sum()) / mass,
    )


def place(drawn: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Step 8: shift by whole pixels so the centre of mass sits at (14, 14), ink kept inside."""
    cy, cx = _centre_of_mass(drawn)
    rows = np.nonzero(drawn.max(axis=1) > 0)[0]
    cols = np.nonzero(drawn.max(axis=0) > 0)[0]
    dy = min(max(_shift(cy), -int(rows.min())), SIZE - 1 - int(rows.max()))
    dx = min(max(_shift(cx), -int(cols.min())), SIZE - 1 - int(cols.max()))
    out = np.zeros_like(drawn)
    out[max(dy, 0) : SIZE + min(dy, 0), max(dx, 0) : SIZE + min(dx, 0)] = drawn[
        max(-dy, 0) : SIZE + min(-dy, 0), max(-dx, 0) : SIZE + min(-dx, 0)
    ]
    return out


def _zeros() -> npt.NDArray[np.float32]:
    return np.zeros((1, 1, SIZE, SIZE), dtype=np.float32)


def prepare(image: npt.ArrayLike) -> Prepared:
    """Turn one grayscale image into the model's input, or say why it is not a digit.

    Args:
        image: 2-D array (height, width), values in [0, 1], white ink on black.

    Returns:
        The status, the float32 (1, 1, 28, 28) input (zeros unless a digit) and the extent.

    Raises:
        PreprocessingError: the image is not 2-D, is empty, or has values outside [0, 1].
    """
    src = _validate(image)
    grid = working_grid(src)
    if grid is None:
        return Prepared("empty", _zeros(), 0.0)
    work, scale = grid
    skeleton = thin(work > INK_THRESHOLD)
    rows, cols = np.nonzero(skeleton)
    span = max(int(np.ptp(rows)), int(np.ptp(cols))) if rows.size else 0
    extent = span / scale
    if span == 0 or extent < MIN_EXTENT * max(src.shape):
        return Prepared("not_a_digit", _zeros(), extent)
    out = place(redraw(skeleton))
    tensor = np.clip(out, 0.0, 1.0).astype(np.float32).reshape(1, 1, SIZE, SIZE)
    return Prepared("digit", tensor, extent)


def preprocess(image: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The model input for one image: float32 (1, 1, 28, 28), zeros unless it is a digit.

    Raises:
        PreprocessingError: as :func:`prepare`.
    """
    return prepare(image).input


def is_sure(probabilities: npt.ArrayLike) -> bool:
    """Whether an answer is confident enough to show as one (spec, Answers).

    Args:
        probabilities: the softmax of one image's logits, shape (10,).
    """
    return float(np.max(np.asarray(probabilities))) >= MIN_CONFIDENCE


def decision_margins(image: npt.ArrayLike) -> dict[str, float]:
    """How far the procedure's discrete decisions are from flipping, for the parity fixture.

    ``ink``: the working-grid value nearest the thinning mask's threshold (distance to it);
    ``placement``: how far the placement's rounding is from a tie, in pixels; ``extent``:
    the relative distance of the extent from the not-a-digit limit. The fixture exporter
    keeps only images with comfortable margins, so float rounding differences between the
    two implementations cannot change a decision.
    """
    src = _validate(image)
    grid = working_grid(src)
    if grid is None:
        return {"ink": 1.0, "placement": 0.5, "extent": 1.0}
    work, _ = grid
    margins = {"ink": float(np.abs(work - INK_THRESHOLD).min()), "placement": 0.5, "extent": 1.0}
    prepared = prepare(src)
    limit = MIN_EXTENT * max(src.shape)
    margins["extent"] = abs(prepared.extent - limit) / limit
    if prepared.status == "digit":
        skeleton = thin(work > INK_THRESHOLD)
        cy, cx = _centre_of_mass(redraw(skeleton))
        fractions = [(SIZE / 2 - c + 0.5 + PLACEMENT_EPSILON) % 1.0 for c in (cy, cx)]
        margins["placement"] = min(min(f, 1.0 - f) for f in fractions)
    return margins
