"""variations.py: each variation does what its source says, the same way every run."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.mnist.code.gates import GATES

NAMES = [
    "shift",
    "scale",
    "rotation",
    "shear",
    "thin",
    "thick",
    "broken",
    "blur",
    "low_resolution",
    "noise",
]


def bar(width: int = 3, top: int = 4, bottom: int = 24) -> np.ndarray:
    """A vertical stroke ``width`` px wide in the middle of the frame: [1, 1, 28, 28]."""
    image = np.zeros((1, 1, 28, 28), np.float32)
    left = 14 - width // 2
    image[0, 0, top:bottom, left : left + width] = 1.0
    return image


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    """(row, column) of the ink's centre of mass, in pixels."""
    rows, cols = np.indices(image.shape[-2:])
    ink = image.reshape(28, 28)
    return np.array([(rows * ink).sum(), (cols * ink).sum()]) / ink.sum()


def slant_degrees(image: np.ndarray) -> float:
    """How far the ink's main axis leans from the vertical (second moments), in degrees."""
    rows, cols = np.indices((28, 28))
    ink = image.reshape(28, 28)
    r0, c0 = centre_of_mass(image)
    mrr = (ink * (rows - r0) ** 2).sum()
    mcc = (ink * (cols - c0) ** 2).sum()
    mrc = (ink * (rows - r0) * (cols - c0)).sum()
    return abs(math.degrees(0.5 * math.atan2(2 * mrc, mrr - mcc)))


@pytest.fixture(scope="module")
def variations(code_modules: Callable[[], Any]) -> Any:
    with code_modules() as load:
        yield load("variations")


@pytest.fixture(scope="module")
def digits(prepared: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(prepared / "validation/validation.npz") as data:
        return (data["images"].astype(np.float32) / 255)[:, None], data["labels"]


def test_every_variation_has_its_gate_in_the_same_order(variations: Any) -> None:
    assert [v.name for v in variations.VARIATIONS] == NAMES
    gated = [g for g in GATES if g.parameter == "MinVariationAccuracy"]
    assert [g.measured for g in gated] == [f"robustness.{name}.accuracy" for name in NAMES]
    assert all(g.comparison == ">=" for g in gated)


@pytest.mark.parametrize("name", NAMES)
def test_each_variation_is_repeatable_bounded_and_changes_the_digits(
    name: str, variations: Any, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images = digits[0][:40]
    first = variations.vary(name, images)
    again = variations.vary(name, images)

    assert first.shape == images.shape
    assert first.dtype == np.float32
    assert np.array_equal(first, again)  # seeded by its name: every run sees the same digits
    assert float(first.min()) >= 0.0
    assert float(first.max()) <= 1.0
    assert (np.abs(first - images).reshape(40, -1).max(1) > 0.1).all()  # every digit changed


def test_shift_moves_the_ink_two_pixels(variations: Any) -> None:
    moved = [variations.vary("shift", bar())]
    moves = [np.linalg.norm(centre_of_mass(m) - centre_of_mass(bar())) for m in moved]

    assert moves == pytest.approx([2.0], abs=0.05) or moves == pytest.approx([2.83], abs=0.05)


def test_scale_makes_the_digit_a_fifth_larger_or_smaller(
    variations: Any, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images = digits[0][:60]
    scaled = variations.vary("scale", images)

    def height(batch: np.ndarray) -> np.ndarray:
        rows = batch[:, 0].max(2) > 0.3
        return np.array([np.flatnonzero(r)[-1] - np.flatnonzero(r)[0] + 1 for r in rows])

    ratio = height(scaled) / height(images)
    assert set(np.round(ratio, 1)) <= {0.7, 0.8, 0.9, 1.1, 1.2, 1.3}  # a pixel either way
    assert (ratio < 1).sum() > 10
    assert (ratio > 1).sum() > 10


@pytest.mark.parametrize(("name", "degrees"), [("rotation", 10.0), ("shear", 16.7)])
def test_rotation_and_shear_lean_an_upright_stroke(
    name: str, degrees: float, variations: Any
) -> None:
    assert slant_degrees(bar()) == pytest.approx(0.0, abs=0.01)
    assert slant_degrees(variations.vary(name, bar())) == pytest.approx(degrees, abs=1.0)


@pytest.mark.parametrize(("name", "width"), [("thin", 1.5), ("thick", 5.0)])
def test_thin_and_thick_change_a_strokes_width(name: str, width: float, variations: Any) -> None:
    varied = variations.vary(name, bar(width=3))

    assert float(varied[0, 0, 14].sum()) == pytest.approx(width, abs=0.01)  # across the middle


def test_broken_wipes_three_gaps_across_a_stroke(variations: Any) -> None:
    varied = variations.vary("broken", bar(width=2, top=2, bottom=26))
    column = varied[0, 0, :, 13:15].max(1)  # along the stroke
    inked = column[2:26] > 0.5
    runs = np.flatnonzero(np.diff(inked.astype(int)) == 1)  # where ink starts again

    assert 1 <= len(runs) <= 3  # gaps that cut the stroke (two may touch)
    assert 0.6 < float(varied.sum() / bar(width=2, top=2, bottom=26).sum()) < 0.95


def test_blur_and_low_resolution_keep_the_ink_and_soften_it(
    variations: Any, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images = digits[0][:20]
    checkerboard = (np.indices((28, 28)).sum(0) % 2).astype(np.float32)[None, None]
    for name in ("blur", "low_resolution"):
        varied = variations.vary(name, images)
        ink = varied.reshape(20, -1).sum(1) / images.reshape(20, -1).sum(1)
        assert ink == pytest.approx(np.ones(20), abs=0.03)
        assert float(varied.max()) < float(images.max())
        flat = variations.vary(name, checkerboard)[0, 0, 4:24, 4:24]
        assert float(np.abs(flat - 0.5).max()) < 0.05  # one-pixel detail is gone


def test_noise_has_sigma_a_tenth(variations: Any) -> None:
    grey = np.full((4, 1, 28, 28), 0.5, np.float32)
    varied = variations.vary("noise", grey)

    assert float((varied - grey).std()) == pytest.approx(0.1, abs=0.005)
    assert float((varied - grey).mean()) == pytest.approx(0.0, abs=0.005)


def test_an_unknown_variation_is_named(variations: Any) -> None:
    with pytest.raises(KeyError, match="smudge"):
        variations.vary("smudge", bar())


def test_robustness_reports_accuracy_and_agreement_per_variation(variations: Any) -> None:
    inputs = np.concatenate([bar(), bar(width=5), bar(width=1)])
    labels = np.array([1, 1, 7])

    def predict(batch: np.ndarray) -> np.ndarray:
        """Reads a digit as 1 when the middle row holds more than 2.5 px of ink, else 7."""
        return np.where(batch[:, 0, 14].sum(1) > 2.5, 1, 7)

    figures = variations.robustness(predict, inputs, labels)

    assert list(figures) == NAMES
    assert figures["shift"] == {
        "accuracy": 1.0,
        "agreement": 1.0,
        "description": "moved 2 px (bounding box against centre of mass)",
        "images": 3,
    }
    assert figures["thin"]["accuracy"] == pytest.approx(1 / 3)  # the 1s now look like 7s
    assert figures["thin"]["agreement"] == pytest.approx(1 / 3)
    assert figures["thick"]["accuracy"] == pytest.approx(2 / 3)  # the thin 7 now looks like a 1
