"""The Python implementation of contracts/preprocessing.md (v2) and the shared parity fixture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines.mnist.export_preprocessing_fixture import (
    DATA_DIR,
    EIGHT,
    TWO,
    all_cases,
    build_fixture,
    decode_case,
    draw_strokes,
    find_sample,
    offset,
    pad_drawing,
    read_idx_images,
)
from pipelines.mnist.preprocessing import (
    MIN_EXTENT,
    SPEC_VERSION,
    PreprocessingError,
    is_sure,
    prepare,
    preprocess,
    thin,
)

ROOT = Path(__file__).resolve().parents[4]
FIXTURE = ROOT / "contracts" / "fixtures" / "preprocessing.json"


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    mass = image.sum()
    return float((image * (rows + 0.5)).sum() / mass), float((image * (cols + 0.5)).sum() / mass)


def test_output_is_the_models_input_tensor() -> None:
    image = draw_strokes(100, 100, [[(20.0, 50.0), (80.0, 50.0)]], radius=5.0) / 255.0
    prepared = prepare(image)
    assert prepared.status == "digit"
    assert prepared.input.shape == (1, 1, 28, 28)
    assert prepared.input.dtype == np.float32
    assert prepared.input.min() >= 0.0
    assert prepared.input.max() <= 1.0
    np.testing.assert_array_equal(preprocess(image), prepared.input)


def test_longer_side_of_the_ink_becomes_20_pixels_and_the_mass_is_centred() -> None:
    image = draw_strokes(280, 280, [[(30.0, 200.0), (250.0, 230.0)]], radius=10.0) / 255.0
    out = preprocess(image)[0, 0]
    rows = np.nonzero(out.max(axis=1) >= 0.5)[0]
    assert rows.max() - rows.min() + 1 == 20
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5
    assert abs(cx - 14) <= 0.5


def test_position_on_the_canvas_does_not_change_the_result() -> None:
    stroke = [[(10.0, 10.0), (40.0, 25.0), (10.0, 40.0)]]
    small = draw_strokes(60, 60, stroke, radius=3.0) / 255.0
    moved = np.zeros((60, 60))
    moved[5:60, 2:60] = small[:55, :58]
    np.testing.assert_allclose(preprocess(small), preprocess(moved), atol=1e-7)


def best_correlation(image: np.ndarray, other: np.ndarray) -> float:
    """Pixel correlation of two 28x28 images, allowing one pixel of shift (placement rounding)."""
    return max(
        float(np.corrcoef(np.roll(image, (dy, dx), axis=(0, 1)).ravel(), other.ravel())[0, 1])
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )


def stroke_width(tensor: np.ndarray) -> float:
    """Ink per unit of centre line: the sum of the image over its thinned length."""
    image = tensor[0, 0].astype(np.float64)
    return float(image.sum() / thin(image > 0.5).sum())


@pytest.mark.parametrize(("scale", "pen"), [(0.2, 8.0), (0.2, 14.0), (0.9, 3.0), (0.9, 24.0)])
def test_any_size_and_pen_gives_mnists_stroke_width(scale: float, pen: float) -> None:
    """A small two in a corner or a large one, thin pen or thick: the same strokes as MNIST."""
    mnist = read_idx_images(find_sample(DATA_DIR)[0])[:200].astype(np.float64) / 255.0
    mnist_width = float(np.median([stroke_width(d[None, None]) for d in mnist]))
    reference = preprocess(pad_drawing(offset(TWO, 0.5, 0.5), pen=12.0, scale=0.5) / 255.0)
    where = (3.7, 3.9) if scale < 0.5 else (0.05, 0.05)
    drawn = preprocess(pad_drawing(offset(TWO, *where), pen=pen, scale=scale) / 255.0)

    assert stroke_width(drawn) == pytest.approx(mnist_width, rel=0.2)
    assert best_correlation(drawn[0, 0], reference[0, 0]) > 0.9


def test_without_stroke_normalisation_a_small_thick_eight_would_be_a_blob() -> None:
    """Why version 2 thins and redraws: the same eight keeps its two loops."""
    image = pad_drawing(offset(EIGHT, 0.1, 0.1), pen=14.0, scale=0.2) / 255.0
    out = preprocess(image)[0, 0]
    background = out < 0.5
    holes = [
        background[8:13, 11:17].any(),  # inside the top loop
        background[16:21, 11:17].any(),  # inside the bottom loop
    ]
    assert all(holes)
    assert stroke_width(out[None, None]) < 4.0


def test_empty_and_below_threshold_drawings_give_zeros() -> None:
    for image in (np.zeros((280, 280)), np.full((50, 50), 0.1)):
        prepared = prepare(image)
        assert prepared.status == "empty"
        assert not prepared.input.any()


@pytest.mark.parametrize(
    ("name", "image"),
    [
        ("a tap on the pad", pad_drawing([[(0.4, 0.6)]], pen=8.0)),
        ("a tap with a thick pen", pad_drawing([[(0.5, 0.5)]], pen=30.0)),
        ("a short scribble", pad_drawing([[(0.5, 0.5), (0.52, 0.55), (0.49, 0.53)]], pen=8.0)),
        ("one ink pixel", np.pad(np.array([[255]], dtype=np.uint8), ((3, 26), (27, 2)))),
        ("a 1x1 image", np.array([[255]], dtype=np.uint8)),
    ],
)
def test_a_tap_or_a_dot_is_not_a_digit(name: str, image: np.ndarray) -> None:
    prepared = prepare(image / 255.0)
    assert prepared.status == "not_a_digit", name
    assert not prepared.input.any(), "nothing for the model to read"


def test_the_smallest_digit_the_pad_allows_is_still_a_digit() -> None:
    """A one 10% of the pad tall (28 px): above the limit, so it is read, not refused."""
    one = pad_drawing([[(0.1, 0.5), (0.9, 0.45)]], pen=8.0, scale=0.1 / 0.8 * 1.0)
    prepared = prepare(one / 255.0)
    assert prepared.status == "digit"
    assert prepared.extent >= MIN_EXTENT * 280


def test_mnist_digits_on_a_larger_canvas_keep_their_shape() -> None:
    """MNIST's own digits come back as the same digit, redrawn (one pixel of shift allowed)."""
    images = read_idx_images(find_sample(DATA_DIR)[0])
    for index in (0, 1500, 3000, 4500, 6000, 7500, 9000):
        original = images[index].astype(np.float64) / 255.0
        canvas = np.pad(original, ((40, 7), (3, 61)))
        best = best_correlation(preprocess(canvas)[0, 0].astype(np.float64), original)
        assert best > 0.8, f"digit {index}: correlation {best:.4f}"


def test_answers_below_the_confidence_limit_are_not_sure() -> None:
    assert is_sure([0.02] * 9 + [0.82])
    assert not is_sure([0.05] * 8 + [0.35, 0.25])
    assert not is_sure(np.full(10, 0.1))


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
    assert fixture["spec_version"] == SPEC_VERSION == 2
    statuses = {case["name"]: case["status"] for case in fixture["cases"]}
    assert statuses["empty"] == statuses["faint_only"] == "empty"
    assert statuses["tap"] == statuses["short_scribble"] == statuses["dot"] == "not_a_digit"
    assert statuses["small_two_bottom_right"] == statuses["small_eight_top_left_thick"] == "digit"
    assert sum(name.startswith("mnist_") for name in statuses) >= 3
    for case in fixture["cases"]:
        expected = np.array(case["expected"], dtype=np.float32)
        prepared = prepare(decode_case(case))
        assert prepared.status == case["status"], case["name"]
        np.testing.assert_allclose(
            prepared.input.reshape(-1), expected, atol=1e-6, err_msg=case["name"]
        )


def test_fixture_export_is_reproducible() -> None:
    fixture = json.loads(FIXTURE.read_text())
    rebuilt = build_fixture(all_cases(DATA_DIR))
    assert rebuilt == fixture
