"""The Python implementation of contracts/preprocessing.md and the shared parity fixture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines.mnist.export_preprocessing_fixture import (
    DATA_DIR,
    build_fixture,
    decode_case,
    draw_strokes,
    find_sample,
    mnist_cases,
    read_idx_images,
    synthetic_cases,
)
from pipelines.mnist.preprocessing import PreprocessingError, preprocess

ROOT = Path(__file__).resolve().parents[4]
FIXTURE = ROOT / "contracts" / "fixtures" / "preprocessing.json"


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    mass = image.sum()
    return float((image * (rows + 0.5)).sum() / mass), float((image * (cols + 0.5)).sum() / mass)


def test_output_is_the_models_input_tensor() -> None:
    image = draw_strokes(100, 100, [[(20.0, 50.0), (80.0, 50.0)]], radius=5.0) / 255.0
    out = preprocess(image)
    assert out.shape == (1, 1, 28, 28)
    assert out.dtype == np.float32
    assert out.min() >= 0.0
    assert out.max() <= 1.0


def test_longer_side_of_the_ink_becomes_20_pixels_and_the_mass_is_centred() -> None:
    image = draw_strokes(280, 280, [[(30.0, 200.0), (250.0, 230.0)]], radius=10.0) / 255.0
    out = preprocess(image)[0, 0]
    rows = np.nonzero(out.max(axis=1) > 0)[0]
    assert rows.max() - rows.min() + 1 == 20
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5
    assert abs(cx - 14) <= 0.5


def test_position_on_the_canvas_does_not_change_the_result() -> None:
    stroke = [[(10.0, 10.0), (40.0, 25.0), (10.0, 40.0)]]
    small = draw_strokes(60, 60, stroke, radius=3.0) / 255.0
    moved = np.zeros((200, 150))
    moved[120:180, 70:130] = small
    np.testing.assert_allclose(preprocess(small), preprocess(moved), atol=1e-7)


def test_empty_and_below_threshold_drawings_give_zeros() -> None:
    assert not preprocess(np.zeros((280, 280))).any()
    assert not preprocess(np.full((50, 50), 0.1)).any()


def test_a_single_ink_pixel_fills_the_20x20_box_in_the_centre() -> None:
    image = np.zeros((30, 30))
    image[3, 27] = 1.0
    out = preprocess(image)[0, 0]
    assert out[4:24, 4:24].min() == 1.0
    assert out.sum() == 400


def test_mnist_digits_on_a_larger_canvas_come_back_as_they_were() -> None:
    """MNIST centred its digits with a slightly different rounding: allow one pixel of shift."""
    images = read_idx_images(find_sample(DATA_DIR)[0])
    for index in (0, 1500, 3000, 4500, 6000, 7500, 9000):
        original = images[index].astype(np.float64) / 255.0
        canvas = np.pad(original, ((40, 7), (3, 61)))
        out = preprocess(canvas)[0, 0].astype(np.float64)
        best = max(
            np.corrcoef(np.roll(out, (dy, dx), axis=(0, 1)).ravel(), original.ravel())[0, 1]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
        assert best > 0.999, f"digit {index}: correlation {best:.4f}"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((1, 28, 28)), "2-D grayscale image"),
        (np.zeros((0, 5)), "empty"),
        (np.array([[0.0, np.nan]]), "NaN"),
        (np.array([[0.0, 255.0]]), r"values must be in \[0, 1\]"),
        (np.array([[-0.5, 0.5]]), r"values must be in \[0, 1\]"),
        (np.array([["a", "b"]]), "expected numbers"),
    ],
)
def test_bad_images_are_refused_with_a_clear_error(image: np.ndarray, message: str) -> None:
    with pytest.raises(PreprocessingError, match=message):
        preprocess(image)


def test_committed_fixture_matches_the_implementation() -> None:
    """The TypeScript parity test trusts this file; it must be what Python computes today."""
    fixture = json.loads(FIXTURE.read_text())
    assert fixture["spec_version"] == 1
    names = {case["name"] for case in fixture["cases"]}
    assert {"empty", "faint_only"} <= names
    assert sum(name.startswith("mnist_") for name in names) >= 3
    for case in fixture["cases"]:
        expected = np.array(case["expected"], dtype=np.float32)
        actual = preprocess(decode_case(case)).reshape(-1)
        np.testing.assert_allclose(actual, expected, atol=1e-6, err_msg=case["name"])


def test_fixture_export_is_reproducible() -> None:
    fixture = json.loads(FIXTURE.read_text())
    rebuilt = build_fixture(synthetic_cases() + mnist_cases(DATA_DIR))
    assert rebuilt == fixture
