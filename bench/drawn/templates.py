"""Stroke templates of the digits 0-9 as people draw them, three styles each, for the benchmark.

Every template is a list of strokes; a stroke is a list of (x, y) points in a unit box (x to
the right, y down, both in [0, 1]), in the order a pen would draw them. They are written by
hand from the common ways of writing each digit (open and closed 4, 7 with and without a bar,
1 with and without a flag, 8 in one stroke or two circles, ...), not taken from any data set.
`jittered` makes one person's version of a template: slant, rotation, proportions, wobble.
"""

from __future__ import annotations

import math

import numpy as np

Point = tuple[float, float]
Stroke = list[Point]
Template = list[Stroke]


def arc(
    cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 16
) -> Stroke:
    """Points on an ellipse from angle ``start`` to ``end`` in degrees (0 = right, 90 = down)."""
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(start, end, n)
    ]


def line(*points: Point) -> Stroke:
    """A polyline through the points."""
    return list(points)


def join(*parts: Stroke) -> Stroke:
    """One stroke made of consecutive pieces (the pen stays down)."""
    joined: Stroke = []
    for part in parts:
        joined.extend(part)
    return joined


TEMPLATES: dict[int, list[Template]] = {
    0: [
        [arc(0.5, 0.5, 0.32, 0.5, -90, 270, 28)],  # an oval from the top, clockwise
        [arc(0.5, 0.5, 0.3, 0.5, -80, -440, 28)],  # anticlockwise, overlapping at the top
        [join(arc(0.5, 0.5, 0.36, 0.48, -100, 250, 28), [(0.62, 0.08)])],  # rounder, open gap
    ],
    1: [
        [line((0.5, 0.0), (0.48, 1.0))],
        [line((0.4, 0.2), (0.55, 0.0), (0.52, 1.0))],  # with a flag
        [line((0.4, 0.2), (0.55, 0.0), (0.55, 1.0)), line((0.3, 1.0), (0.8, 1.0))],  # and a base
    ],
    2: [
        [join(arc(0.5, 0.3, 0.38, 0.3, 200, 360, 12), line((0.86, 0.4), (0.1, 1.0), (0.95, 1.0)))],
        [
            join(
                arc(0.5, 0.28, 0.36, 0.28, 190, 380, 14),
                line((0.7, 0.6), (0.25, 0.92)),
                arc(0.22, 0.88, 0.1, 0.1, -90, 180, 8),
                line((0.3, 0.95), (0.95, 0.98)),
            )
        ],  # with a loop at the bottom left
        [line((0.1, 0.12), (0.6, 0.0), (0.9, 0.2), (0.8, 0.45), (0.1, 1.0), (0.9, 1.0))],  # angular
    ],
    3: [
        [join(arc(0.45, 0.25, 0.4, 0.25, 200, 450, 16), arc(0.45, 0.75, 0.45, 0.25, -90, 160, 16))],
        [line((0.1, 0.0), (0.85, 0.0), (0.4, 0.4)), arc(0.45, 0.7, 0.42, 0.3, -80, 160, 16)],
        [
            arc(0.45, 0.25, 0.38, 0.25, 200, 450, 14),  # two strokes, the pen lifted in the middle
            arc(0.45, 0.75, 0.45, 0.25, -90, 160, 14),
        ],
    ],
    4: [
        [line((0.55, 0.0), (0.05, 0.65), (0.95, 0.65)), line((0.7, 0.3), (0.7, 1.0))],  # closed
        [line((0.15, 0.0), (0.1, 0.6), (0.9, 0.6)), line((0.7, 0.05), (0.7, 1.0))],  # open
        [line((0.75, 1.0), (0.75, 0.0), (0.05, 0.68), (0.95, 0.68))],  # one stroke, from the foot
    ],
    5: [
        [
            join(line((0.25, 0.0), (0.2, 0.45)), arc(0.48, 0.7, 0.4, 0.3, -120, 160, 16)),
            line((0.25, 0.0), (0.85, 0.0)),
        ],  # the bar drawn last
        [
            join(
                line((0.85, 0.0), (0.25, 0.0), (0.2, 0.45)), arc(0.48, 0.7, 0.4, 0.3, -120, 160, 16)
            )
        ],
        [
            line(
                (0.85, 0.0),
                (0.2, 0.0),
                (0.15, 0.42),
                (0.75, 0.45),
                (0.85, 0.85),
                (0.5, 1.0),
                (0.1, 0.88),
            )
        ],
    ],
    6: [
        [join(arc(0.8, 0.55, 0.62, 0.55, 250, 180, 10), arc(0.5, 0.72, 0.32, 0.28, 180, 540, 20))],
        [join(line((0.7, 0.0), (0.2, 0.6)), arc(0.5, 0.72, 0.3, 0.28, 200, 560, 20))],
        [join(arc(0.9, 0.6, 0.7, 0.6, 235, 180, 10), arc(0.45, 0.78, 0.25, 0.22, 180, 540, 18))],
    ],
    7: [
        [line((0.05, 0.0), (0.95, 0.0), (0.35, 1.0))],
        [line((0.05, 0.0), (0.95, 0.0), (0.4, 1.0)), line((0.3, 0.5), (0.85, 0.5))],  # with a bar
        [join(line((0.05, 0.05), (0.95, 0.0)), arc(-0.35, 0.05, 1.3, 0.95, 0, 60, 10))],  # curved
    ],
    8: [
        [arc(0.5, 0.25, 0.3, 0.25, 0, 360, 20), arc(0.5, 0.74, 0.36, 0.26, 0, 360, 20)],
        [
            join(
                arc(0.5, 0.25, 0.32, 0.25, -10, -270, 14),
                line((0.15, 0.3), (0.85, 0.7)),
                arc(0.5, 0.75, 0.35, 0.25, -20, 200, 14),
                line((0.18, 0.7), (0.82, 0.25)),
            )
        ],  # one stroke: S down, back up
        [arc(0.55, 0.24, 0.28, 0.24, 90, 450, 20), arc(0.45, 0.74, 0.38, 0.26, -90, 270, 20)],
    ],
    9: [
        [join(arc(0.45, 0.3, 0.35, 0.3, 0, -360, 20), line((0.8, 0.3), (0.75, 1.0)))],
        [join(arc(0.45, 0.28, 0.33, 0.28, 10, -350, 20), arc(0.1, 0.3, 0.68, 0.7, 0, 95, 10))],
        [arc(0.45, 0.3, 0.35, 0.3, 0, 360, 20), line((0.8, 0.2), (0.55, 1.0))],  # two strokes
    ],
}


def jittered(template: Template, rng: np.random.Generator) -> Template:
    """One person's version of a template: slant, rotation, width, wobble; fitted to [0, 1].

    Ranges: slant (x += s * (0.5 - y)) in [-0.2, 0.25], rotation within 8 degrees, width
    0.8-1.15 of the template, each point moved by up to 1.5% of the box (smooth wobble).
    """
    slant = rng.uniform(-0.2, 0.25)
    angle = math.radians(rng.uniform(-8, 8))
    width = rng.uniform(0.8, 1.15)
    cos, sin = math.cos(angle), math.sin(angle)
    strokes: Template = []
    for stroke in template:
        phase = rng.uniform(0, 2 * math.pi, size=2)
        moved = []
        for k, (x, y) in enumerate(stroke):
            x = 0.5 + (x - 0.5) * width + slant * (0.5 - y)
            dx, dy = x - 0.5, y - 0.5
            x, y = 0.5 + cos * dx - sin * dy, 0.5 + sin * dx + cos * dy
            x += 0.015 * math.sin(0.7 * k + phase[0])
            y += 0.015 * math.sin(0.9 * k + phase[1])
            moved.append((x, y))
        strokes.append(moved)
    points = np.array([p for s in strokes for p in s])
    low, high = points.min(axis=0), points.max(axis=0)
    side = float((high - low).max())
    # Fit the longer side to 1, centred in the unit box.
    centre = (low + high) / 2
    return [
        [(0.5 + (x - centre[0]) / side, 0.5 + (y - centre[1]) / side) for x, y in stroke]
        for stroke in strokes
    ]


def box_of(template: Template) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a template's points."""
    points = np.array([p for s in template for p in s])
    return (
        float(points[:, 0].min()),
        float(points[:, 1].min()),
        float(points[:, 0].max()),
        float(points[:, 1].max()),
    )
