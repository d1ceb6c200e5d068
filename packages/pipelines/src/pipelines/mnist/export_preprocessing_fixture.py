"""Export the shared preprocessing parity fixture, contracts/fixtures/preprocessing.json.

Run once after a change to the spec or to the Python implementation:

    uv run python -m pipelines.mnist.export_preprocessing_fixture

The inputs are synthetic drawings (canvas-like anti-aliased strokes of different sizes,
aspect ratios and positions), drawings as people make them on the 280 px pad (small digits in
corners, thick and thin pens, a tap, a tiny scribble), a few real MNIST digits from the
offline sample placed on larger canvases, and empty images. The outputs come from
``pipelines.mnist.preprocessing``; the TypeScript implementation (web/src/preprocessing.ts)
is tested against them.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import itertools
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.mnist.code.idx import IMAGE_SIDE, PIXELS
from pipelines.mnist.preprocessing import (
    INK_THRESHOLD,
    MIN_CONFIDENCE,
    MIN_EXTENT,
    SPEC_VERSION,
    decision_margins,
    prepare,
)

TOLERANCE = 1e-6
# Keep every discrete decision (ink or not on the working grid, the placement's rounding, the
# not-a-digit limit) away from its flip point so that summation-order noise (about 1e-12)
# cannot change it in one implementation only. Exact half-pixel centres sit
# PLACEMENT_EPSILON (1e-6) from a tie by design, which is enough.
MIN_MARGINS = {"ink": 1e-9, "placement": 1e-7, "extent": 1e-6}
DATA_DIR = Path(__file__).parent / "data"
DEFAULT_OUTPUT = Path("contracts/fixtures/preprocessing.json")

Point = tuple[float, float]


@dataclass(frozen=True)
class Case:
    """One fixture input: an 8-bit image (white ink on black) and what it exercises."""

    name: str
    description: str
    pixels: npt.NDArray[np.uint8]


def draw_strokes(
    height: int, width: int, strokes: list[list[Point]], radius: float
) -> npt.NDArray[np.uint8]:
    """Rasterise polylines (row, col points) as round, anti-aliased strokes, like a canvas."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    distance = np.full((height, width), np.inf)
    for stroke in strokes:
        points = stroke if len(stroke) > 1 else [stroke[0], stroke[0]]
        for (y0, x0), (y1, x1) in itertools.pairwise(points):
            dy, dx = y1 - y0, x1 - x0
            length2 = dy * dy + dx * dx
            t = (
                np.zeros_like(yy)
                if length2 == 0
                else np.clip(((yy - y0) * dy + (xx - x0) * dx) / length2, 0.0, 1.0)
            )
            d = np.hypot(yy - (y0 + t * dy), xx - (x0 + t * dx))
            distance = np.minimum(distance, d)
    coverage = np.clip(radius + 0.5 - distance, 0.0, 1.0)
    return np.rint(coverage * 255).astype(np.uint8)


def ellipse(cy: float, cx: float, ry: float, rx: float, n: int = 48) -> list[Point]:
    """A closed polyline approximating an ellipse."""
    angles = np.linspace(0.0, 2.0 * np.pi, n + 1)
    return [(cy + ry * float(np.sin(a)), cx + rx * float(np.cos(a))) for a in angles]


def read_idx_images(path: Path) -> npt.NDArray[np.uint8]:
    """Read an IDX3 (gzip) image file into (count, rows, cols) bytes."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 2051:
        raise ValueError(f"{path} is not an IDX3 image file (magic {magic})")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)


def read_idx_labels(path: Path) -> npt.NDArray[np.uint8]:
    """Read an IDX1 (gzip) label file."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic != 2049:
        raise ValueError(f"{path} is not an IDX1 label file (magic {magic})")
    return np.frombuffer(data, dtype=np.uint8, offset=8)[:count]


def find_sample(data_dir: Path) -> tuple[Path, Path]:
    """The offline sample's image and label files."""
    images = sorted(data_dir.glob("*images*idx3*.gz"))
    labels = sorted(data_dir.glob("*labels*idx1*.gz"))
    if not images or not labels:
        raise FileNotFoundError(
            f"no MNIST IDX sample (*images*idx3*.gz, *labels*idx1*.gz) in {data_dir}"
        )
    return images[0], labels[0]


def pad_drawing(
    strokes: list[list[Point]], pen: float, size: int = 280, scale: float = 1.0
) -> npt.NDArray[np.uint8]:
    """Strokes given in 0-1 units of a digit box, drawn at ``scale`` of a square pad.

    The points are scaled by ``scale * size`` and drawn with a round pen ``pen`` pixels wide,
    as the app's drawing pad would show them.
    """
    scaled = [[(y * scale * size, x * scale * size) for y, x in stroke] for stroke in strokes]
    return draw_strokes(size, size, scaled, radius=pen / 2)


def offset(strokes: list[list[Point]], dy: float, dx: float) -> list[list[Point]]:
    """The strokes moved by (dy, dx) in the same units."""
    return [[(y + dy, x + dx) for y, x in stroke] for stroke in strokes]


# A two, a three and an eight in 0-1 units of their box (row, col), as drawn with a mouse.
TWO: list[list[Point]] = [
    [(0.25, 0.1), (0.05, 0.35), (0.0, 0.55), (0.1, 0.7), (0.3, 0.65), (0.55, 0.4), (1.0, 0.05)],
    [(1.0, 0.05), (1.0, 0.75)],
]
THREE: list[list[Point]] = [
    [(0.05, 0.1), (0.0, 0.45), (0.12, 0.65), (0.3, 0.6), (0.45, 0.35)],
    [(0.45, 0.35), (0.6, 0.65), (0.85, 0.65), (1.0, 0.35), (0.92, 0.05)],
]
EIGHT: list[list[Point]] = [
    ellipse(0.25, 0.37, 0.25, 0.2, n=24),
    ellipse(0.75, 0.37, 0.25, 0.24, n=24),
]


def drawn_cases() -> list[Case]:
    """What people draw on the 280 px pad: small digits in corners, thick and thin pens, taps."""
    return [
        Case(
            "small_two_bottom_right",
            "a two 20% of the pad tall in the bottom-right corner, 8 px pen",
            pad_drawing(offset(TWO, 3.7, 3.9), pen=8.0, scale=0.2),
        ),
        Case(
            "small_eight_top_left_thick",
            "an eight 20% of the pad tall in the top-left corner, 14 px pen (loops nearly shut)",
            pad_drawing(offset(EIGHT, 0.1, 0.1), pen=14.0, scale=0.2),
        ),
        Case(
            "large_three_thin",
            "a three 90% of the pad tall with a 3 px pen (strong downscaling of a thin line)",
            pad_drawing(offset(THREE, 0.03, 0.1), pen=3.0, scale=0.9),
        ),
        Case(
            "large_eight_thick",
            "an eight 90% of the pad tall with a 24 px pen",
            pad_drawing(offset(EIGHT, 0.04, 0.2), pen=24.0, scale=0.9),
        ),
        Case(
            "tap",
            "a single tap with an 8 px pen: not a digit",
            pad_drawing([[(0.4, 0.6)]], pen=8.0),
        ),
        Case(
            "short_scribble",
            "a scribble 5% of the pad wide: not a digit",
            pad_drawing([[(0.5, 0.5), (0.52, 0.54), (0.5, 0.55), (0.53, 0.51)]], pen=8.0),
        ),
    ]


def synthetic_cases() -> list[Case]:
    """Drawings of different sizes, aspect ratios and positions, plus empty images."""
    faint = np.zeros((90, 90), dtype=np.uint8)
    faint[::3, ::2] = 20  # below the ink threshold (20/255 < 0.1)
    faint_with_stroke = np.maximum(
        faint, draw_strokes(90, 90, [[(20.0, 30.0), (70.0, 55.0)]], radius=3.0)
    )
    return [
        Case(
            "one_tall_offcentre",
            "a tall thin stroke on a 280x280 canvas, left of centre (strong downscaling)",
            draw_strokes(280, 280, [[(40.0, 70.0), (236.0, 84.0)]], radius=9.0),
        ),
        Case(
            "seven_wide_canvas",
            "a seven in the top-left of a 200x300 canvas",
            draw_strokes(200, 300, [[(20.0, 30.0), (24.0, 150.0), (170.0, 80.0)]], radius=7.0),
        ),
        Case(
            "zero_bottom_right",
            "an ellipse in the bottom-right corner of a 280x280 canvas",
            draw_strokes(280, 280, [ellipse(200.0, 210.0, 60.0, 40.0)], radius=8.0),
        ),
        Case(
            "dash_wide",
            "a short horizontal bar: the box is much wider than tall",
            draw_strokes(120, 160, [[(61.0, 30.0), (63.0, 130.0)]], radius=4.0),
        ),
        Case(
            "four_tiny",
            "a four drawn a few pixels tall on a 40x40 canvas (upscaling)",
            draw_strokes(
                40,
                40,
                [[(12.0, 15.0), (19.0, 13.0), (19.0, 21.0)], [(12.0, 19.0), (23.0, 19.5)]],
                radius=0.8,
            ),
        ),
        Case(
            "dot",
            "a single ink pixel on a 30x30 canvas",
            np.pad(np.array([[255]], dtype=np.uint8), ((7, 22), (11, 18))),
        ),
        Case(
            "single_pixel_image",
            "a 1x1 image that is all ink",
            np.array([[200]], dtype=np.uint8),
        ),
        Case(
            "stroke_with_faint_noise",
            "a stroke plus noise below the ink threshold: noise sets no box, but counts inside it",
            faint_with_stroke,
        ),
        Case("empty", "a blank 280x280 canvas: all zeros out", np.zeros((280, 280), np.uint8)),
        Case("faint_only", "only values below the ink threshold: all zeros out", faint),
    ]


def mnist_cases(data_dir: Path, count: int = 4) -> list[Case]:
    """The first digits of distinct classes from the sample, padded on larger canvases."""
    images_path, labels_path = find_sample(data_dir)
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    pads = [((10, 46), (30, 12)), ((0, 60), (0, 60)), ((50, 2), (5, 41)), ((20, 20), (70, 3))]
    cases: list[Case] = []
    seen: set[int] = set()
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        if int(label) in seen:
            continue
        seen.add(int(label))
        pad = pads[len(cases) % len(pads)]
        canvas = np.pad(image, pad)
        cases.append(
            Case(
                f"mnist_{index}_digit_{label}",
                f"MNIST sample digit #{index} (a {label}) on a {canvas.shape[0]}x"
                f"{canvas.shape[1]} canvas",
                canvas,
            )
        )
        if len(cases) == count:
            break
    return cases


def all_cases(data_dir: Path = DATA_DIR) -> list[Case]:
    """Every fixture input, in the file's order."""
    return synthetic_cases() + drawn_cases() + mnist_cases(data_dir)


def build_fixture(cases: list[Case]) -> dict[str, Any]:
    """The fixture document: inputs as base64 bytes, outputs from the Python implementation."""
    entries = []
    for case in cases:
        image = case.pixels.astype(np.float64) / 255.0
        margins = decision_margins(image)
        for decision, least in MIN_MARGINS.items():
            if margins[decision] < least:
                raise ValueError(
                    f"case {case.name!r}: the {decision} decision is {margins[decision]:.2e} "
                    "from flipping; change the drawing so the parity check cannot flip on "
                    "float noise"
                )
        prepared = prepare(image)
        output = prepared.input.reshape(-1)
        entries.append(
            {
                "name": case.name,
                "description": case.description,
                "status": prepared.status,
                "height": int(case.pixels.shape[0]),
                "width": int(case.pixels.shape[1]),
                "pixels_base64": base64.b64encode(case.pixels.tobytes()).decode("ascii"),
                "expected": [float(f"{v:.9g}") for v in output.tolist()],
            }
        )
    return {
        "spec": "contracts/preprocessing.md",
        "spec_version": SPEC_VERSION,
        "ink_threshold": INK_THRESHOLD,
        "min_extent": MIN_EXTENT,
        "min_confidence": MIN_CONFIDENCE,
        "tolerance": TOLERANCE,
        "generated_by": "uv run python -m pipelines.mnist.export_preprocessing_fixture",
        "input_encoding": (
            "pixels_base64: height*width bytes, row-major, white ink on black; "
            "the image given to the procedure is byte / 255"
        ),
        "output_encoding": (
            "status: digit, not_a_digit or empty; "
            f"expected: {PIXELS} float32 values, row-major [1,1,{IMAGE_SIDE},{IMAGE_SIDE}]"
        ),
        "cases": entries,
    }


def to_json(fixture: dict[str, Any]) -> str:
    """Pretty at the top, one line per case, so the file stays small and diffs stay readable."""
    head = {k: v for k, v in fixture.items() if k != "cases"}
    lines = [json.dumps(head, indent=1)[:-2] + ',\n "cases": [']
    cases = fixture["cases"]
    lines.append(",\n".join("  " + json.dumps(case, separators=(",", ":")) for case in cases))
    lines.append(" ]\n}\n")
    return "\n".join(lines)


def decode_case(entry: dict[str, Any]) -> npt.NDArray[np.float64]:
    """The input image of one fixture case, as the procedure receives it."""
    raw = base64.b64decode(str(entry["pixels_base64"]))
    height, width = int(entry["height"]), int(entry["width"])
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width).astype(np.float64) / 255.0


def main(argv: list[str] | None = None) -> None:
    """Write the fixture and print one line per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)

    cases = all_cases(args.data_dir)
    fixture = build_fixture(cases)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(to_json(fixture))
    for case in cases:
        print(f"  {case.name:<28} {case.pixels.shape[0]:>3}x{case.pixels.shape[1]:<3}")
    print(f"wrote {len(cases)} cases to {args.output} ({args.output.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
