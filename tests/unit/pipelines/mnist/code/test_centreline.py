"""centreline.py: the preprocessing spec's centre line and round pen, batched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch


def validation_inputs(prepared: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(prepared / "validation/validation.npz") as data:
        images, labels = data["images"], data["labels"]
    return (images.astype(np.float32) / 255)[:, None], labels


def test_thinning_is_the_preprocessing_specs_own(
    prepared: Path, code_modules: Callable[[], Any]
) -> None:
    """The batched thinning gives exactly the spec's (pipelines.mnist.preprocessing)."""
    from pipelines.mnist.export_preprocessing_fixture import draw_strokes
    from pipelines.mnist.preprocessing import thin as spec_thin

    inputs, _ = validation_inputs(prepared)
    thick_seven = draw_strokes(28, 28, [[(5.0, 6.0), (5.0, 22.0), (24.0, 11.0)]], radius=3.0)
    masks = np.concatenate([inputs[:100, 0], thick_seven[None] / 255.0]) > 0.1
    with code_modules() as load:
        batched = load("centreline").thin(torch.from_numpy(masks)).numpy()

    expected = np.stack([spec_thin(mask) for mask in masks])
    assert np.array_equal(batched, expected)
    assert batched.sum() < masks.sum() / 2  # lines one pixel wide are left


def test_redrawn_digits_have_the_specs_stroke_whatever_the_pen(
    prepared: Path, code_modules: Callable[[], Any]
) -> None:
    """A seven drawn with a thin or a thick pen, and MNIST's digits, come out with one width."""
    from pipelines.mnist.export_preprocessing_fixture import draw_strokes

    seven = [[(5.0, 6.0), (5.0, 22.0), (24.0, 11.0)]]
    pens = np.stack([draw_strokes(28, 28, seven, radius=r) / 255.0 for r in (0.8, 1.5, 3.0)])
    inputs, _ = validation_inputs(prepared)
    batch = torch.from_numpy(np.concatenate([pens[:, None], inputs[:50]]).astype(np.float32))
    with code_modules() as load:
        centreline = load("centreline")
        redrawn = centreline.redraw(batch)

        def width(images: torch.Tensor) -> torch.Tensor:
            """Ink per pixel of centre line, about the stroke's width in pixels."""
            return images.flatten(1).sum(1) / centreline.thin(images[:, 0] > 0.5).flatten(1).sum(1)

        drawn_widths, width = width(batch), width(redrawn)

    assert float(drawn_widths[2] / drawn_widths[0]) > 2.5  # thin pen against thick pen
    assert float(width[:3].max() / width[:3].min()) < 1.35  # redrawn: about the same width
    assert float(width[3:].median()) == pytest.approx(float(width[:3].mean()), rel=0.25)
    assert float(redrawn.min()) >= 0.0
    assert float(redrawn.max()) <= 1.0


def test_a_pen_of_any_radius_draws_the_line_that_wide(code_modules: Callable[[], Any]) -> None:
    line = torch.zeros(3, 1, 28, 28)
    line[:, :, 4:24, 14] = 1.0  # a vertical centre line 20 px long
    with code_modules() as load:
        pen = load("centreline").pen
        drawn = pen(line, torch.tensor([0.75, 1.3, 2.3]))
        spec = pen(line[1:2])  # the spec's pen, STROKE_RADIUS 1.3

    widths = drawn[:, 0, 14].sum(1)  # ink across the middle row
    assert widths.tolist() == pytest.approx([1.5, 2.6, 4.6], abs=0.01)
    assert torch.equal(drawn[1:2], spec)
