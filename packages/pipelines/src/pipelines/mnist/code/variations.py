"""The variations real writers and scanners put on a digit, and the model's accuracy under each.

A model that reads MNIST's own test digits well can still fail on other people's digits,
scanned by other machines and prepared by other software: the issue that brought this module
measured three points lost on such digits while the test accuracy stayed at 98.7%. Each
variation here is one thing that differs between MNIST's pipeline and another, with a fixed
size taken from that source, applied to the model's input (float32 [N, 1, 28, 28], white on
black, in [0, 1]; the model contract in DESIGN.md). None is fitted to any one outside data
set: the sizes come from how people write, how pens and scanners behave and how other
pipelines normalise, as each docstring says.

The evaluate step reports the shipped file's accuracy on the test split under every
variation (``robustness`` in evaluation.json, contracts/evaluation-report.md) and the gate
holds each against ``MinVariationAccuracy`` (gates.py); ``bench/robustness.py`` prints the
same table for any model file. Every variation is deterministic: its random choices (a
direction, a sign, where a stroke breaks) come from a generator seeded with the variation's
name, so two runs on the same images see the same digits.

Sources named below:

- LeCun, Bottou, Bengio and Haffner (1998). Gradient-based learning applied to document
  recognition. Proc. IEEE 86(11), 2278-2324 (MNIST's normalisation: the ink's box fitted into
  20x20, centred by its centre of mass in 28x28).
- Baird, H. S. (1992). Document image defect models. In Structured Document Image Analysis,
  Springer, 546-556 (a scanner's defects as parameters: skew, scale, blur of the point spread
  function, binarisation threshold, per-pixel sensitivity noise, resolution).
- Kanungo, T., Haralick, R. M., Baird, H. S., Stuezle, W. and Madigan, D. (2000). A
  statistical, nonparametric methodology for document degradation model validation. IEEE
  TPAMI 22(11), 1209-1223 (ink lost and gained near stroke edges: broken, ragged strokes).
- Barney Smith, E. H. (2001). Estimating scanning characteristics from corners in bilevel
  images. Proc. SPIE 4307 (blur width and threshold move a stroke's edges: thinner or thicker
  strokes from the same writing).
- Cohen, Afshar, Tapson and van Schaik (2017). EMNIST: an extension of MNIST to handwritten
  letters. arXiv:1702.05373 (another pipeline's conventions: the digit fills the frame but
  for 2 px, after a Gaussian blur of sigma 1).
- Hull, J. J. (1994). A database for handwritten text recognition research. IEEE TPAMI 16(5),
  550-554 (the USPS digits: 16x16 images).
- Bozinovic, R. M. and Srihari, S. N. (1989). Off-line cursive script word recognition. IEEE
  TPAMI 11(1), 68-83 (slant of handwriting; corrected by shear, up to tens of degrees).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention
from centreline import centre_line, pen

SIDE = 28  # the model contract: 28x28 input


def _generator(name: str) -> torch.Generator:
    """A generator seeded from the variation's name: the same choices on every run."""
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def _signs(n: int, generator: torch.Generator) -> torch.Tensor:
    """Random signs [n], each +1 or -1."""
    return torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1


def _affine(images: torch.Tensor, matrix: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Move every image [N, 1, 28, 28] by ``matrix`` [N, 2, 2] about the centre, then ``shift``.

    ``matrix`` maps a point of the digit (x right, y down, in pixels from the centre) to where
    it is shown; ``shift`` [N, 2] adds pixels (x, y). Bilinear, zeros outside the image.
    """
    inverse = torch.linalg.inv(matrix)
    # affine_grid maps output coordinates to input ones, in units of half the side.
    offset = -(inverse @ (shift / (SIDE / 2))[:, :, None])[:, :, 0]
    theta = torch.cat([inverse, offset[:, :, None]], 2)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False, padding_mode="zeros").clamp(0, 1)


def _identity(n: int) -> torch.Tensor:
    return torch.eye(2).expand(n, 2, 2).clone()


def shift(images: torch.Tensor) -> torch.Tensor:
    """Moved by 2 px in one of the eight compass directions (about 2.8 px on the diagonals).

    Source: MNIST centres a digit by its centre of mass (LeCun et al. 1998); a pipeline that
    centres the ink's box instead puts the same digit a pixel or two away (measured on the
    offline sample's training split: the two centres differ by 1.4 px on average, by more
    than 2 px for one digit in four and by 2.6 px or more for one in ten).
    """
    generator = _generator("shift")
    angle = torch.randint(0, 8, (len(images),), generator=generator).float() * (math.pi / 4)
    step = torch.stack([torch.cos(angle), torch.sin(angle)], 1)
    moved = 2.0 * step / step.abs().amax(1, keepdim=True)  # 2 px along each axis it moves on
    return _affine(images, _identity(len(images)), moved)


def scale(images: torch.Tensor) -> torch.Tensor:
    """Larger by 20% (24 px) or smaller by 20% (16 px) than MNIST's 20 px box, either at random.

    Source: MNIST fits the ink into 20x20 in 28x28 (LeCun et al. 1998); EMNIST's conversion
    leaves 2 px of border, so its digits span 24 px of 28 (Cohen et al. 2017); a box of 16 px,
    as small the other way, is what a scanner's own cropping leaves when it keeps margins.
    """
    generator = _generator("scale")
    factor = 1 + 0.2 * _signs(len(images), generator)
    matrix = _identity(len(images)) * factor[:, None, None]
    return _affine(images, matrix, torch.zeros(len(images), 2))


def rotation(images: torch.Tensor) -> torch.Tensor:
    """Turned by 10 degrees, clockwise or anticlockwise at random.

    Source: a page fed or laid on a scanner askew (Baird 1992's skew parameter) and a writer
    turning the whole digit; 10 degrees is a visibly crooked scan, not an upside-down one.
    """
    generator = _generator("rotation")
    angle = _signs(len(images), generator) * math.radians(10)
    cos, sin = torch.cos(angle), torch.sin(angle)
    matrix = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
    return _affine(images, matrix, torch.zeros(len(images), 2))


def shear(images: torch.Tensor) -> torch.Tensor:
    """Slanted by a horizontal shear of 0.3 (about 17 degrees), to the right or the left.

    Source: handwriting slants by tens of degrees from writer to writer, which is why
    recognisers deslant by a shear (Bozinovic and Srihari 1989); MNIST keeps each writer's
    own slant, so 17 degrees more is a more italic or more upright hand than the one shown.
    """
    generator = _generator("shear")
    amount = 0.3 * _signs(len(images), generator)
    matrix = _identity(len(images))
    matrix[:, 0, 1] = -amount  # x' = x - amount * y: y grows downwards, so + leans right
    return _affine(images, matrix, torch.zeros(len(images), 2))


def thin(images: torch.Tensor) -> torch.Tensor:
    """The same centre line drawn with a fine pen: 1.5 px wide (radius 0.75) instead of 2-3.

    Source: a 0.3 mm fineliner draws a 5 mm digit about 1.5 px wide on MNIST's scale, against
    2-3 px for MNIST's ballpoints and pencils; a scanner's high binarisation threshold moves
    both edges of a stroke inwards the same way (Barney Smith 2001, Baird 1992). The centre
    line is the preprocessing spec's (centreline.py), so a stroke stays whole however thin.
    A digit with no centre line (no ink above the spec's threshold) is kept as it was.
    """
    line = centre_line(images)
    has_line = line.flatten(1).any(1)[:, None, None, None]
    return torch.where(has_line, pen(line, 0.75), images)


def thick(images: torch.Tensor) -> torch.Tensor:
    """Strokes 2 px thicker (4-5 px): the grey dilation by a 3x3 square.

    Source: a felt-tip marker (1-1.5 mm, 4-5 px on MNIST's scale) and a scanner's low
    binarisation threshold or wide blur, which moves both edges of a stroke outwards
    (Barney Smith 2001, Baird 1992).
    """
    return F.max_pool2d(images, 3, stride=1, padding=1)


def broken(images: torch.Tensor) -> torch.Tensor:
    """Three gaps in the strokes: a disc of 1 px radius wiped at three random inked pixels.

    Source: a ballpoint that skips, pencil too faint to pass the scanner's threshold, and the
    ink lost near stroke edges in Kanungo et al. (2000)'s degradation model: strokes with
    gaps a pixel or two long that a reader still closes by eye.
    """
    generator = _generator("broken")
    n = len(images)
    ink = (images[:, 0] > 0.5).flatten(1).float() + 1e-6  # any pixel, if an image has no ink
    centres = torch.multinomial(ink, 3, replacement=False, generator=generator)  # [N, 3]
    rows, cols = (centres // SIDE).float(), (centres % SIDE).float()
    grid = torch.arange(SIDE, dtype=torch.float32)
    dr = grid[None, None, :, None] - rows[:, :, None, None]  # [N, 3, 28, 1]
    dc = grid[None, None, None, :] - cols[:, :, None, None]  # [N, 3, 1, 28]
    distance = torch.sqrt(dr**2 + dc**2).amin(1)  # [N, 28, 28]
    keep = (distance - 1.0).clamp(0, 1)  # 0 inside the disc, a 1 px soft edge
    return images * keep.reshape(n, 1, SIDE, SIDE)


def blur(images: torch.Tensor) -> torch.Tensor:
    """A Gaussian blur of sigma 1 px.

    Source: a scanner's optics spread each point over a Gaussian (Baird 1992's blur
    parameter, sigma in output pixels); EMNIST's conversion blurs with sigma 1 before
    downsampling (Cohen et al. 2017); a phone photo slightly out of focus does the same.
    """
    radius = 3
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(x**2) / 2)
    kernel = kernel / kernel.sum()
    out = F.conv2d(F.pad(images, (radius, radius, 0, 0)), kernel.view(1, 1, 1, -1))
    return F.conv2d(F.pad(out, (0, 0, radius, radius)), kernel.view(1, 1, -1, 1))


def low_resolution(images: torch.Tensor) -> torch.Tensor:
    """Scanned small and scaled up: averaged down to 14x14, then bilinearly back to 28x28.

    Source: Baird (1992)'s resolution parameter; the digit's 20 px box becomes 10 px, what a
    2.5 mm digit gives at 100 dpi (a fax's standard resolution, ITU-T T.4: 3.85 lines/mm) or a
    5 mm one at 50 dpi, and what USPS's 16x16 digits (Hull 1994) become when their frame is
    fitted into MNIST's box and margin. Scaling it up again gives the blocky, soft strokes
    of an upscaled thumbnail.
    """
    small = F.avg_pool2d(images, 2)
    return F.interpolate(small, size=(SIDE, SIDE), mode="bilinear", align_corners=False)


def noise(images: torch.Tensor) -> torch.Tensor:
    """Gaussian noise of sigma 0.1 on every pixel (25 of 255 grey levels), clipped to [0, 1].

    Source: Baird (1992)'s sensitivity parameter (each pixel's own random gain), the grain of
    paper and of a cheap or dark sensor; with the background no longer exactly black, it also
    checks that the model does not count on MNIST's clean zeros.
    """
    generator = _generator("noise")
    return (images + 0.1 * torch.randn(images.shape, generator=generator)).clamp(0, 1)


@dataclass(frozen=True)
class Variation:
    """One variation: its name in reports and gates, what it does, and the function."""

    name: str
    description: str
    apply: Callable[[torch.Tensor], torch.Tensor]


VARIATIONS = (
    Variation("shift", "moved 2 px (bounding box against centre of mass)", shift),
    Variation("scale", "20% larger or smaller (24 or 16 px box)", scale),
    Variation("rotation", "turned 10 degrees (a skewed scan)", rotation),
    Variation("shear", "slanted 17 degrees more or less", shear),
    Variation("thin", "strokes 1.5 px wide (fine pen, high threshold)", thin),
    Variation("thick", "strokes 2 px thicker (marker, low threshold)", thick),
    Variation("broken", "three gaps in the strokes (skipping pen)", broken),
    Variation("blur", "Gaussian blur, sigma 1 px (scanner optics)", blur),
    Variation("low_resolution", "scanned at half the resolution, scaled up", low_resolution),
    Variation("noise", "Gaussian noise, sigma 0.1 (sensor and paper grain)", noise),
)


def vary(name: str, images: np.ndarray) -> np.ndarray:
    """The images [N, 1, 28, 28] (float32 in [0, 1]) under the variation called ``name``.

    Raises:
        KeyError: no variation has that name.
    """
    variation = {v.name: v for v in VARIATIONS}[name]
    with torch.no_grad():
        out = variation.apply(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)))
    return out.clamp(0, 1).numpy().astype(np.float32)


def robustness(
    predict: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray, labels: np.ndarray
) -> dict[str, dict[str, float | int | str]]:
    """Accuracy under every variation: {name: {accuracy, agreement, description, images}}.

    ``predict`` maps inputs [N, 1, 28, 28] to predicted digits [N]; ``accuracy`` is the share
    of the varied images read right, ``agreement`` the share read as the unvaried image was
    (the invariance itself, right or wrong). Both 0-1.
    """
    clean = predict(inputs)
    figures: dict[str, dict[str, float | int | str]] = {}
    for variation in VARIATIONS:
        predictions = predict(vary(variation.name, inputs))
        figures[variation.name] = {
            "accuracy": float((predictions == labels).mean()),
            "agreement": float((predictions == clean).mean()),
            "description": variation.description,
            "images": len(labels),
        }
    return figures
