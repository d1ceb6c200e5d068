"""The input preprocessing spec (contracts/preprocessing.md, version 1), in Python.

A drawing or any grayscale digit image (white ink on black, values in [0, 1]) becomes the
model's ``input`` tensor: the ink's bounding box fitted into 20x20 keeping the aspect ratio
with area resampling, then placed so its centre of mass sits at the centre of 28x28.

The TypeScript twin is ``web/src/preprocessing.ts``; both are checked against
``contracts/fixtures/preprocessing.json``. Keep every step in the spec's order and arithmetic
so the two stay equal to 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

SPEC_VERSION = 1
INK_THRESHOLD = 0.1
# Exact half-pixel centres are common (any symmetric drawing); this keeps summation-order
# noise from rounding them to different pixels in the two implementations.
PLACEMENT_EPSILON = 1e-6
BOX = 20
SIZE = 28


class PreprocessingError(ValueError):
    """The image cannot be preprocessed (wrong shape or values); the message says why."""


def _placement(centre: float) -> int:
    # Python's round() rounds halves to even; the spec rounds halves up, as floor(x + 0.5).
    return math.floor(SIZE / 2 - centre + 0.5 + PLACEMENT_EPSILON)


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


def _fit(src: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], float, float] | None:
    """Steps 1-5: the resampled patch and its centre of mass (row, column); None when no ink."""
    rows, cols = np.nonzero(src > INK_THRESHOLD)
    if rows.size == 0:
        return None
    crop = src[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    nh = max(1, math.floor(h * scale + 0.5))
    nw = max(1, math.floor(w * scale + 0.5))
    patch = _area_weights(nh, h) @ crop @ _area_weights(nw, w).T
    mass = float(patch.sum())
    cy = float((patch.sum(axis=1) * (np.arange(nh) + 0.5)).sum()) / mass
    cx = float((patch.sum(axis=0) * (np.arange(nw) + 0.5)).sum()) / mass
    return patch, cy, cx


def preprocess(image: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Turn one grayscale image into the model's input tensor.

    Args:
        image: 2-D array (height, width), values in [0, 1], white ink on black.

    Returns:
        float32 array of shape (1, 1, 28, 28); all zeros when the image holds no ink.

    Raises:
        PreprocessingError: the image is not 2-D, is empty, or has values outside [0, 1].
    """
    out = np.zeros((SIZE, SIZE), dtype=np.float64)
    fitted = _fit(_validate(image))
    if fitted is not None:
        patch, cy, cx = fitted
        nh, nw = patch.shape
        top = min(max(_placement(cy), 0), SIZE - nh)
        left = min(max(_placement(cx), 0), SIZE - nw)
        out[top : top + nh, left : left + nw] = patch
    return np.clip(out, 0.0, 1.0).astype(np.float32).reshape(1, 1, SIZE, SIZE)


def placement_margin(image: npt.ArrayLike) -> float:
    """How far the placement's rounding is from flipping, in pixels (0 = exactly on a tie).

    The fixture exporter keeps only images with a comfortable margin, so float rounding
    differences between the two implementations cannot move the patch by a pixel.
    """
    fitted = _fit(_validate(image))
    if fitted is None:
        return 0.5
    _, cy, cx = fitted
    fractions = [(SIZE / 2 - c + 0.5 + PLACEMENT_EPSILON) % 1.0 for c in (cy, cx)]
    return min(min(f, 1.0 - f) for f in fractions)
