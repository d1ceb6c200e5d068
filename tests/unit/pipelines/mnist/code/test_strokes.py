"""strokes.py: synthetic drawn digits, in the styles MNIST lacks, drawn as spec v2 draws."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch


def test_synthetic_digits_are_seeded_balanced_and_inked(code_modules: Callable[[], Any]) -> None:
    with code_modules() as load:
        strokes = load("strokes")
        images, labels = strokes.synthesise(12, seed=1)
        again, _ = strokes.synthesise(12, seed=1)
        other, _ = strokes.synthesise(12, seed=2)

    assert images.shape == (120, 1, 28, 28)
    assert images.dtype == torch.float32
    assert np.bincount(labels.numpy()).tolist() == [12] * 10
    assert torch.equal(images, again)
    assert not torch.equal(images, other)
    assert float(images.min()) >= 0.0
    assert float(images.max()) <= 1.0
    ink = images.flatten(1).sum(1)
    # MNIST's digits hold 138 units of ink on average (contracts/preprocessing.md), a 1 about 50.
    assert float(ink.min()) > 40  # a plain 1: one line 17 px long, 2.6 px wide
    assert float(ink.max()) < 260


def test_a_synthetic_digit_is_what_the_spec_makes_of_the_same_strokes(
    code_modules: Callable[[], Any],
) -> None:
    """The same strokes drawn on a 280 px pad and put through prepare() look the same."""
    from pipelines.mnist.export_preprocessing_fixture import draw_strokes
    from pipelines.mnist.preprocessing import prepare

    rng = np.random.default_rng(5)
    overlaps, ink_ratios = [], []
    with code_modules() as load:
        strokes = load("strokes")
        for digit in range(10):
            for _ in range(2):
                drawing = strokes.draw(digit, rng)
                points = np.concatenate(drawing)
                low, span = points.min(0), float((points.max(0) - points.min(0)).max())
                pad = [
                    [(40 + (y - low[1]) / span * 180, 40 + (x - low[0]) / span * 180) for x, y in s]
                    for s in drawing
                ]
                prepared = prepare(draw_strokes(280, 280, pad, radius=4.0) / 255.0)
                assert prepared.status == "digit"
                spec = prepared.input[0, 0]
                mine = strokes.render([drawing])[0, 0].numpy()
                overlaps.append(np.minimum(spec, mine).sum() / np.maximum(spec, mine).sum())
                ink_ratios.append(mine.sum() / spec.sum())

    # Thinning on the spec's 64 px grid bends corners and ends a little, and may place the
    # digit a pixel away; the shapes and the stroke are the same.
    assert float(np.median(overlaps)) > 0.85
    assert min(ink_ratios) > 0.9
    assert max(ink_ratios) < 1.1


def test_the_pen_is_the_specs_round_pen_to_within_its_stated_error(
    code_modules: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before placement, each pixel is within 0.014 of clamp(1.8 - distance to the segments)."""
    rng = np.random.default_rng(3)
    with code_modules() as load:
        strokes = load("strokes")
        drawings = [strokes.draw(digit, rng) for digit in range(10)]
        monkeypatch.setattr(strokes, "_place", lambda image: image)
        drawn = strokes.render(drawings).numpy()[:, 0]
        centres = np.arange(28) + 0.5
        yy, xx = np.meshgrid(centres, centres, indexing="ij")
        for drawing, image in zip(drawings, drawn, strict=True):
            distance = np.full((28, 28), np.inf)
            for y0, x0, y1, x1 in strokes.segments(drawing):
                dy, dx = y1 - y0, x1 - x0
                length = dy * dy + dx * dx
                t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / max(length, 1e-12), 0, 1)
                t = t if length > 0 else np.zeros_like(t)
                distance = np.minimum(distance, np.hypot(yy - y0 - t * dy, xx - x0 - t * dx))
            exact = np.clip(strokes.STROKE_RADIUS + 0.5 - distance, 0, 1)
            assert np.abs(exact - image).max() < 0.014


def test_the_styles_mnist_lacks_are_drawn(code_modules: Callable[[], Any]) -> None:
    """Ones with a base, closed fours and barred sevens make a fair share of their digit."""
    rng = np.random.default_rng(11)
    with code_modules() as load:
        strokes = load("strokes")
        ones = [strokes.draw(1, rng) for _ in range(300)]
        fours = [strokes.draw(4, rng) for _ in range(300)]
        sevens = [strokes.draw(7, rng) for _ in range(300)]

    def flat_base(stroke: np.ndarray) -> bool:
        width, height = np.ptp(stroke, 0)
        return bool(width > 2 * height and stroke[:, 1].min() > 0.85)

    with_base = np.mean([any(flat_base(s) for s in d[1:]) for d in ones])
    # Closed: the first stroke starts where the stem starts (jitter moves each a little).
    closed = np.mean([np.hypot(*(d[0][0] - d[1][0])) < 0.1 for d in fours])
    barred = np.mean([len(d) == 2 for d in sevens])
    assert 0.25 < with_base < 0.5
    assert 0.25 < closed < 0.5
    assert 0.25 < barred < 0.5
