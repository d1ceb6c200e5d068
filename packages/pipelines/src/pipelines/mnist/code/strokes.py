"""Synthetic drawn digits: stroke shapes in the styles people draw, rendered as spec v2 does.

MNIST was written on paper by American Census staff and students, so some styles that are
common elsewhere are rare in it: a 1 with a flag and a base (the "serif" 1 of Europe and of
typefaces), a 4 closed at the top, a 7 with a bar through its stem, a 2 with a loop. A model
trained on MNIST alone reads them poorly, or not surely. This module draws every digit from
a few stroke skeletons per style, each control point moved at random, so training can show
the model those styles too.

The shapes are written from general handwriting conventions (school scripts and common
variants), not from any benchmark's drawings; ``bench/drawn/templates.py`` is a separate,
held-out set that training never reads.

A drawing is a list of strokes, each an array of (x, y) points in a unit box, y downwards.
``render`` turns drawings into 28x28 images the way the preprocessing spec (version 2,
contracts/preprocessing.md, steps 6-8) draws a centre line: its box fitted so the longer side
plus the pen is 20 px, centred, drawn with a round pen of radius 1.3 px and a one-pixel
anti-aliased edge, then shifted by whole pixels to put the centre of mass at the centre.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import torch
from idx import IMAGE_SIDE as SIZE  # contracts/preprocessing.md: side of the output
from idx import NUM_CLASSES

BOX = 20  # contracts/preprocessing.md: longer side of the redrawn digit, pen included
STROKE_RADIUS = 1.3  # contracts/preprocessing.md: half the redrawn pen's width, output pixels
PLACEMENT_EPSILON = 1e-6  # contracts/preprocessing.md, step 8
JITTER = 0.035  # largest move of a control point, as a fraction of the digit's height

Stroke = np.ndarray  # float [K, 2]: (x, y) in the unit box, y downwards
Drawing = list[Stroke]


def _line(*points: tuple[float, float], n: int = 2) -> Stroke:
    """A polyline through ``points``, each leg cut into ``n`` pieces."""
    out = [np.array(points[0], dtype=np.float64)[None]]
    for a, b in itertools.pairwise(points):
        t = np.linspace(0, 1, n + 1)[1:, None]
        out.append(np.array(a) * (1 - t) + np.array(b) * t)
    return np.concatenate(out)


def _arc(
    cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 16
) -> Stroke:
    """Part of an ellipse, from angle ``start`` to ``stop`` in radians.

    y points down, so an increasing angle turns clockwise on the screen; 0 is the right-most
    point, -pi/2 the top.
    """
    t = np.linspace(start, stop, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def _bezier(
    p0: tuple[float, float],
    p1: tuple[float, float],
    p2: tuple[float, float],
    p3: tuple[float, float],
    n: int = 8,
) -> Stroke:
    """A cubic Bezier curve."""
    t = np.linspace(0, 1, n)[:, None]
    p = [np.array(p, dtype=np.float64) for p in (p0, p1, p2, p3)]
    return (
        (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2] + t**3 * p[3]
    )


def _join(*parts: Stroke) -> Stroke:
    """One stroke made of several pieces drawn without lifting the pen."""
    return np.concatenate(parts)


# Each style takes a random generator and returns one drawing. ``u(a, b)`` is uniform.


def _zero(r: np.random.Generator) -> Drawing:
    """An oval, started near the top, closed with a small gap or overlap, either way round."""
    u = r.uniform
    sweep = 2 * math.pi + u(-0.3, 0.45)
    start = -math.pi / 2 + u(-0.6, 0.6)
    turn = 1 if r.random() < 0.5 else -1
    return [_arc(0.5, 0.5, u(0.22, 0.42), 0.5, start, start + turn * sweep, n=20)]


def _one(r: np.random.Generator) -> Drawing:
    """A stem; with a flag at the top (most of them), a base, both, or neither."""
    u = r.uniform
    lean = u(-0.08, 0.08)  # the stem's bottom against its top
    top, bottom = (0.5, 0.0), (0.5 + lean, 1.0)
    kind = r.choice(["plain", "flag", "flag_base", "base"], p=[0.3, 0.35, 0.28, 0.07])
    strokes: Drawing = []
    if kind in ("flag", "flag_base"):
        length, angle = u(0.14, 0.42), math.radians(u(15, 65))  # below the horizontal
        flag = (0.5 - length * math.cos(angle), length * math.sin(angle))
        bend = (
            0.5 - 0.5 * length * math.cos(angle),
            0.5 * length * math.sin(angle) + u(-0.04, 0.02),
        )
        strokes.append(_join(_line(flag, bend, top), _line(top, bottom)[1:]))
    else:
        strokes.append(_line(top, bottom))
    if kind in ("flag_base", "base"):
        half = u(0.1, 0.36)
        tilt = u(-0.04, 0.04)
        y = 1.0 + u(-0.02, 0.03)
        strokes.append(
            _line((bottom[0] - half * u(0.7, 1.3), y - tilt), (bottom[0] + half, y + tilt))
        )
    return strokes


def _two(r: np.random.Generator) -> Drawing:
    """A hook over a diagonal onto a flat base; sometimes with a loop where they meet."""
    u = r.uniform
    cx, cy, rx, ry = 0.5, u(0.24, 0.32), u(0.3, 0.4), u(0.22, 0.3)
    hook = _arc(cx, cy, rx, ry, -math.pi * u(0.85, 1.05), u(0.0, 0.45), n=14)
    corner = (u(0.0, 0.12), 1.0)
    end = (u(0.85, 1.0), 1.0 + u(-0.06, 0.03))
    if r.random() < 0.3:  # a loop at the bottom left
        radius = u(0.14, 0.22)
        into = (corner[0] + radius, corner[1] - radius)
        loop = _arc(into[0], into[1] + radius * 0.2, radius, radius, math.pi * 0.25, math.pi * 2.1)
        return [_join(hook, _line(tuple(hook[-1]), into), loop, _line(tuple(loop[-1]), end))]
    return [_join(hook, _line(tuple(hook[-1]), corner, end))]


def _three(r: np.random.Generator) -> Drawing:
    """Two bowls open to the left, or a flat top with a diagonal into the lower bowl."""
    u = r.uniform
    middle = u(0.42, 0.52)
    lower = _arc(
        0.5, (1 + middle) / 2, u(0.3, 0.42), (1 - middle) / 2, -math.pi / 2, math.pi * u(0.7, 0.95)
    )
    lower[:, 0] += 0.5 - lower[0, 0] + u(-0.08, 0.0)  # the bowl starts at the waist
    waist = tuple(lower[0])
    if r.random() < 0.75:
        upper = _arc(
            0.5, middle / 2, u(0.26, 0.38), middle / 2, -math.pi * u(0.85, 1.0), math.pi / 2
        )
        upper[:, 0] += waist[0] - upper[-1, 0]
        return [_join(upper, lower[1:])]
    flat = _line((u(0.05, 0.2), 0.0), (u(0.8, 0.95), u(-0.03, 0.03)), waist)
    return [_join(flat, lower[1:])]


def _four(r: np.random.Generator) -> Drawing:
    """Open (diagonal and bar, then a stem), closed at the top, or square (an L and a stem)."""
    u = r.uniform
    stem_x, bar_y = u(0.55, 0.78), u(0.55, 0.72)
    left, right = u(0.0, 0.12), u(0.85, 1.0)
    stem = _line((stem_x + u(-0.03, 0.03), u(0.0, 0.3)), (stem_x + u(-0.06, 0.03), 1.0))
    kind = r.choice(["open", "closed", "square"], p=[0.4, 0.35, 0.25])
    if kind == "closed":  # the diagonal starts at the stem's top
        stem[0] = (stem_x, 0.0)
        stem = _line(tuple(stem[0]), tuple(stem[-1]))
        first = _line(tuple(stem[0]), (left, bar_y), (right, bar_y + u(-0.04, 0.04)))
    elif kind == "open":
        first = _line((u(0.25, 0.5), 0.0), (left, bar_y), (right, bar_y + u(-0.04, 0.04)))
    else:
        first = _line((u(0.05, 0.2), 0.0), (u(0.05, 0.2), bar_y), (right, bar_y))
    return [first, stem]


def _five(r: np.random.Generator) -> Drawing:
    """A stem, a bowl open to the left, and a flag on top (drawn first, last, or joined)."""
    u = r.uniform
    stem_top, stem_bottom = (u(0.15, 0.3), 0.0), (u(0.1, 0.25), u(0.38, 0.5))
    cy = (1 + stem_bottom[1]) / 2
    bowl = _arc(
        0.5, cy, u(0.32, 0.42), (1 - stem_bottom[1]) / 2, -math.pi * 0.8, math.pi * u(0.7, 0.95)
    )
    bowl += np.array(stem_bottom) - bowl[0]
    flag_end = (u(0.8, 1.0), u(-0.04, 0.04))
    body = _join(_line(stem_top, stem_bottom), bowl[1:])
    if r.random() < 0.35:  # one stroke: the flag from the right, then down
        return [_join(_line(flag_end, stem_top), body[1:])]
    return [body, _line(stem_top, flag_end)]


def _six(r: np.random.Generator) -> Drawing:
    """A curve down the left side into a loop at the bottom."""
    u = r.uniform
    cy, ry, rx = u(0.66, 0.74), u(0.22, 0.3), u(0.28, 0.4)
    left = 0.5 - rx
    start = (u(0.6, 0.85), u(0.0, 0.05))
    entry = (left, cy)
    down = _bezier(start, (u(0.3, 0.5), 0.0), (left - u(0.0, 0.08), u(0.25, 0.45)), entry)
    loop = _arc(0.5, cy, rx, ry, math.pi, math.pi - 2 * math.pi * u(0.8, 1.0), n=20)
    return [_join(down, loop[1:])]


def _seven(r: np.random.Generator) -> Drawing:
    """A bar and a stem (straight or curved); sometimes a bar through the stem or a tick."""
    u = r.uniform
    corner = (u(0.85, 1.0), u(-0.03, 0.03))
    foot = (u(0.25, 0.5), 1.0)
    start = (u(0.0, 0.1), u(-0.03, 0.03))
    if r.random() < 0.5:
        stem = _line(corner, foot)
    else:
        bow = u(-0.12, 0.08)
        stem = _bezier(corner, (corner[0] - 0.15, 0.35), (foot[0] + bow, 0.7), foot)
    head = _line(start, corner)
    if r.random() < 0.2:  # a tick down at the left end of the bar
        head = _join(_line((start[0], u(0.1, 0.2)), start), head[1:])
    strokes = [_join(head, stem[1:])]
    if r.random() < 0.35:  # the bar through the stem (continental European)
        y = u(0.45, 0.6)
        x = float(np.interp(y, stem[:, 1], stem[:, 0]))
        strokes.append(_line((x - u(0.15, 0.3), y), (x + u(0.15, 0.3), y + u(-0.04, 0.04))))
    return strokes


def _eight(r: np.random.Generator) -> Drawing:
    """One stroke crossing itself at the waist, or two loops drawn one on the other."""
    u = r.uniform
    waist = u(0.4, 0.5)
    top_w, bottom_w = u(0.22, 0.36), u(0.28, 0.42)
    if r.random() < 0.7:
        t = np.linspace(0, 2 * math.pi, 32)
        x = 0.5 + np.sin(2 * t) * np.where(np.cos(t) > 0, top_w, bottom_w)
        y = np.where(np.cos(t) > 0, waist * (1 - np.cos(t)), waist + (1 - waist) * (-np.cos(t)))
        path = np.stack([x, y], 1)
        overshoot = u(-0.1, 0.15)  # where the pen stops: short of the start, or past it
        extra = int(abs(overshoot) * 32 / (2 * math.pi))
        path = (
            path[: len(path) - extra]
            if overshoot < 0
            else np.concatenate([path, path[1 : 1 + extra]])
        )
        return [path]
    upper = _arc(0.5, waist / 2, top_w, waist / 2, -math.pi / 2, 1.5 * math.pi, n=20)
    lower = _arc(0.5, (1 + waist) / 2, bottom_w, (1 - waist) / 2, -math.pi / 2, 1.5 * math.pi, n=22)
    return [upper, lower]


def _nine(r: np.random.Generator) -> Drawing:
    """A loop at the top and a stem from its right side, straight or curling left."""
    u = r.uniform
    cy, ry, rx = u(0.24, 0.32), u(0.22, 0.3), u(0.28, 0.4)
    right = 0.5 + rx
    loop = _arc(0.5, cy, rx, ry, u(-0.2, 0.3), u(-0.2, 0.3) - 2 * math.pi, n=22)
    joint = (right, cy + u(-0.05, 0.1))
    foot = (right - u(0.0, 0.15), 1.0)
    if r.random() < 0.6:
        stem = _line(joint, foot)
    else:
        stem = _bezier(joint, (right, 0.75), (right - 0.05, 1.0), (u(0.15, 0.4), u(0.92, 1.0)))
    return [_join(loop, stem)]


STYLES: dict[int, Callable[[np.random.Generator], Drawing]] = {
    0: _zero,
    1: _one,
    2: _two,
    3: _three,
    4: _four,
    5: _five,
    6: _six,
    7: _seven,
    8: _eight,
    9: _nine,
}


def draw(digit: int, r: np.random.Generator) -> Drawing:
    """One random drawing of ``digit``: a style's shape, every point moved by up to JITTER."""
    strokes = STYLES[digit](r)
    # Smooth moves: the same offset for neighbouring points, so lines wobble but do not fray.
    out = []
    for stroke in strokes:
        knots = r.uniform(-JITTER, JITTER, size=(3, 2))
        t = np.linspace(0, 2, len(stroke))
        offset = np.stack([np.interp(t, [0, 1, 2], knots[:, k]) for k in range(2)], 1)
        out.append(stroke + offset)
    return out


def segments(drawing: Drawing) -> np.ndarray:
    """The drawing's centre line as segments [S, 4] (y0, x0, y1, x1) in output pixels.

    Fitted as the spec's step 6 places a skeleton: the longer side of its box plus the pen
    is BOX, the box centred on the 28x28 image. A drawing with no extent (one point) is
    placed as a dot at the centre.
    """
    points = np.concatenate(drawing)
    low, high = points.min(0), points.max(0)
    span = float((high - low).max())
    k = (BOX - 2 * STROKE_RADIUS) / span if span > 0 else 0.0
    origin = SIZE / 2 - (high - low) * k / 2
    parts = []
    for stroke in drawing:
        p = (stroke - low) * k + origin  # (x, y)
        p = p[:, ::-1]  # (y, x)
        if len(p) == 1:
            p = np.concatenate([p, p])
        parts.append(np.concatenate([p[:-1], p[1:]], 1))
    return np.concatenate(parts)


def _points(segs: np.ndarray, spacing: float) -> np.ndarray:
    """Points [P, 2] (y, x) along segments [S, 4], no two neighbours more than ``spacing`` apart."""
    a, b = segs[:, :2], segs[:, 2:]
    pieces = np.maximum(1, np.ceil(np.linalg.norm(b - a, axis=1) / spacing)).astype(int)
    owner = np.repeat(np.arange(len(segs)), pieces + 1)
    first = np.repeat(np.cumsum(pieces + 1) - (pieces + 1), pieces + 1)
    t = ((np.arange(len(owner)) - first) / pieces[owner])[:, None]
    return a[owner] * (1 - t) + b[owner] * t


def render(drawings: list[Drawing], spacing: float = 0.3) -> torch.Tensor:
    """Images [N, 1, 28, 28] of the drawings, drawn and placed as the spec's steps 6-8 do.

    The pen is stamped at points along the centre line ``spacing`` pixels apart, each pixel
    keeping its largest value ``clamp(STROKE_RADIUS + 0.5 - d, 0, 1)``, ``d`` its distance to
    the point. Against the spec's distance to the segments this is off by at most
    ``sqrt(0.8^2 + (spacing / 2)^2) - 0.8`` (0.014 at 0.3; below 0.8 the value is 1 either
    way), and it touches the 5x5 pixels around each point instead of every pixel for every
    segment: 5,000 digits take about a second.
    """
    points = [_points(segments(d), spacing) for d in drawings]
    owner = torch.from_numpy(np.repeat(np.arange(len(points)), [len(p) for p in points]))
    yx = torch.from_numpy(np.concatenate(points)).float()  # [P, 2]
    cell = yx.floor()
    oy, ox = (
        o.flatten()
        for o in torch.meshgrid(torch.arange(-2.0, 3.0), torch.arange(-2.0, 3.0), indexing="ij")
    )
    dy = cell[:, :1] + oy + 0.5 - yx[:, :1]  # [P, 25]: to the centres of the 5x5 pixels
    dx = cell[:, 1:] + ox + 0.5 - yx[:, 1:]
    value = (STROKE_RADIUS + 0.5 - torch.hypot(dy, dx)).clamp(0, 1)
    # Before placement the drawing's box is centred and at most BOX wide, so every stamped
    # pixel is inside the image.
    base = owner * SIZE * SIZE + cell[:, 0].long() * SIZE + cell[:, 1].long()
    index = base[:, None] + (oy * SIZE + ox).long()
    images = torch.zeros(len(drawings) * SIZE * SIZE)
    images.scatter_reduce_(0, index.flatten(), value.flatten(), reduce="amax")
    images = images.reshape(-1, SIZE, SIZE)
    return torch.stack([_place(img) for img in images])[:, None]


def _place(img: torch.Tensor) -> torch.Tensor:
    """The spec's step 8: shift by whole pixels to centre the mass, ink kept inside."""
    mass = img.sum()
    centre = torch.arange(SIZE, dtype=img.dtype) + 0.5
    cy = float((img.sum(1) * centre).sum() / mass)
    cx = float((img.sum(0) * centre).sum() / mass)
    rows, cols = torch.nonzero(img.sum(1) > 0)[:, 0], torch.nonzero(img.sum(0) > 0)[:, 0]
    dy = math.floor(SIZE / 2 - cy + 0.5 + PLACEMENT_EPSILON)
    dx = math.floor(SIZE / 2 - cx + 0.5 + PLACEMENT_EPSILON)
    dy = min(max(dy, -int(rows[0])), SIZE - 1 - int(rows[-1]))
    dx = min(max(dx, -int(cols[0])), SIZE - 1 - int(cols[-1]))
    return torch.roll(img, (dy, dx), (0, 1))  # nothing wraps: the ink stays inside


def synthesise(per_digit: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_digit`` drawings of every digit: images [10 * per_digit, 1, 28, 28], labels."""
    r = np.random.default_rng(seed)
    labels = np.repeat(np.arange(NUM_CLASSES), per_digit)
    drawings = [draw(int(digit), r) for digit in labels]
    return render(drawings), torch.from_numpy(labels.astype(np.int64))
