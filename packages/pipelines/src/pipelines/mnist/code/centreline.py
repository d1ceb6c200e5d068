"""The preprocessing spec's centre line and round pen, batched in torch.

contracts/preprocessing.md (version 2) thins a drawing to its centre line (Zhang-Suen, step 4)
and redraws it with a round pen (step 7). Training shows MNIST's digits redrawn that way
(train.py) and with other pens, and the robustness check draws the same centre lines with a
fine pen (variations.py): both take the line and the pen from here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention

STROKE_RADIUS = 1.3  # contracts/preprocessing.md: half the redrawn pen's width, output pixels
INK_THRESHOLD = 0.1  # contracts/preprocessing.md


def _thinning_tables() -> torch.Tensor:
    """Zhang-Suen's decision for each of the 256 neighbourhoods, per sub-iteration: [2, 256].

    Bit k of a neighbourhood's code is neighbour P(k+2): N, NE, E, SE, S, SW, W, NW.
    """
    tables = torch.zeros(2, 256, dtype=torch.bool)
    for code in range(256):
        p = [(code >> k) & 1 for k in range(8)]
        count = sum(p)
        transitions = sum(1 for k in range(8) if p[k] == 0 and p[(k + 1) % 8] == 1)
        p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
        if 2 <= count <= 6 and transitions == 1:
            tables[0, code] = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
            tables[1, code] = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return tables


_TABLES = _thinning_tables()


def thin(mask: torch.Tensor) -> torch.Tensor:
    """Zhang-Suen thinning of a batch of binary images [N, H, W] (the spec's step 4).

    Each sub-iteration reads every pixel's neighbourhood as an 8-bit code and looks its fate
    up in a table, so a batch of thousands of digits takes about a second.
    """
    img = F.pad(mask.to(torch.uint8), (1, 1, 1, 1))
    h, w = mask.shape[-2:]
    # (row, column) offsets of N, NE, E, SE, S, SW, W, NW in the padded image.
    offsets = ((0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0), (0, 0))
    active = torch.arange(len(img))  # images still changing: most are done after a few passes
    while len(active):
        changed = torch.zeros(len(active), dtype=torch.bool)
        part = img[active]
        for table in _TABLES:
            code = torch.zeros_like(part[:, 1:-1, 1:-1])
            for bit, (r, c) in enumerate(offsets):
                code |= part[:, r : r + h, c : c + w] << bit
            delete = table[code.to(torch.int32)] & (part[:, 1:-1, 1:-1] > 0)
            part[:, 1:-1, 1:-1] = part[:, 1:-1, 1:-1].masked_fill(delete, 0)
            changed |= delete.flatten(1).any(1)
        img[active] = part
        active = active[changed]
    return img[:, 1:-1, 1:-1] > 0


def centre_line(images: torch.Tensor) -> torch.Tensor:
    """The centre line of every digit [N, 1, 28, 28]: 1.0 on it, 0.0 elsewhere, same shape.

    The ink (above INK_THRESHOLD) thinned on the digit's own grid. MNIST is already fitted
    into 20x20 and centred, so the spec's fitting steps are left out.
    """
    return thin(images[:, 0] > INK_THRESHOLD).to(images.dtype)[:, None]


def pen(line: torch.Tensor, radius: float | torch.Tensor = STROKE_RADIUS) -> torch.Tensor:
    """Centre lines [N, 1, H, W] drawn with a round pen of ``radius`` px, anti-aliased.

    Every pixel gets ``clamp(radius + 0.5 - d, 0, 1)``, ``d`` its distance to the nearest
    centre-line pixel (the spec's step 7); on the pixel grid ``d`` takes the values of the
    offsets in a (2k+1)^2 neighbourhood, so the pen is a weighted maximum over it. ``radius``
    is one number or one per image (a tensor [N]).
    """
    radii = torch.as_tensor(radius, dtype=line.dtype).reshape(-1, 1, 1, 1)
    k = max(0, math.floor(float(radii.max()) + 0.5))
    padded = F.pad(line, (k, k, k, k))
    h, w = line.shape[-2:]
    out = torch.zeros_like(line)
    for dr in range(-k, k + 1):
        for dc in range(-k, k + 1):
            weight = (radii + 0.5 - math.hypot(dr, dc)).clamp(0, 1)
            shifted = padded[:, :, k + dr : k + dr + h, k + dc : k + dc + w]
            out = torch.maximum(out, weight * shifted)
    return out


def redraw(images: torch.Tensor, radius: float = STROKE_RADIUS) -> torch.Tensor:
    """MNIST digits [N, 1, 28, 28] as the preprocessing spec v2 draws a drawing.

    The centre line drawn with the spec's round pen (``radius`` STROKE_RADIUS, or another
    pen's). A digit with no centre line left (none in MNIST) is kept as it was.
    """
    line = centre_line(images)
    has_line = line.flatten(1).any(1)[:, None, None, None]
    return torch.where(has_line, pen(line, radius), images)
