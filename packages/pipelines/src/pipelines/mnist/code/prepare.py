"""Prepare step: validate the raw MNIST IDX files, then split them for training.

Runs as a SageMaker processing job (``python prepare.py [--arg value ...]``). In the pipeline
the input is a dataset version's manifest (``--dataset-dir``), whose objects are fetched into
/opt/ml/processing/input/raw first (`dataset.py`). Inputs under that folder:
``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz`` (required), ``t10k-*``
(optional, merged in) and ``feedback-*`` (optional: people's reviewed corrections,
contracts/feedback.md, merged in and checked like the rest). Every check is named in the data
report; if any
fails, the step exits non-zero with the report on stderr and in /opt/ml/output/failure, and
writes no output at all, so bad data never reaches training.

Outputs under /opt/ml/processing/output: ``train/train.npz``, ``validation/validation.npz``,
``test/test.npz`` (``images`` uint8 [N, 28, 28], ``labels`` uint8 [N]; with a feedback
shard also ``feedback`` bool [N], which test images came from it, for evaluate),
``report/data_report.json``, ``report/class_balance.png`` and ``report/manifest.json``
(SHA-256 of each output and one dataset hash).

Each image's split follows from the SHA-256 of its 784 pixel bytes alone (see
``content_split``): adding data never moves an existing image to another split, so a model
trained on one dataset version is never scored on its own training images in the next.

The reference (``reference_stats.json``: pixel statistics, per-class mean images and how well
the labels agree with them) is written from the offline sample by this script:
``python prepare.py --input-dir ../data --write-reference reference_stats.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from container import fail, failure_file, opt_ml, sha256_bytes
from dataset import DatasetError, fetch, find_manifest, read_manifest
from idx import IMAGE_SIDE, NUM_CLASSES, IdxError, parse_idx, read_bytes

IMAGES_NDIM, LABELS_NDIM = 3, 1
UBYTE = 0x08
REFERENCE_STATS = Path(__file__).with_name("reference_stats.json")
SPLITS = ("train", "validation", "test")
# Which raw files make up a source; the t10k pair is optional.
SOURCES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    "feedback": ("feedback-images-idx3-ubyte", "feedback-labels-idx1-ubyte"),
}
FEEDBACK = "feedback"
CHECK_NAMES = (
    "files_present",
    "idx_header",
    "idx_size",
    "uint8",
    "image_shape",
    "labels_in_range",
    "counts_match",
    "blank_images",
    "duplicates",
    "near_duplicates",
    "leakage",
    "class_balance",
    "pixel_drift",
    "orientation",
    "label_noise",
)
# The split: shares of the images that go to validation and test (the rest trains). The one
# place these numbers live; the pipeline definition passes none.
VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1
# Two different images whose pixels correlate this much are near-duplicates (a re-encoded or
# slightly noised copy scores about 0.995; the closest distinct digits of the offline sample
# 0.987). A few are natural in 60,000 handwritten digits, so up to this share is tolerated.
NEAR_DUPLICATE_CORRELATION = 0.99
NEAR_DUPLICATE_TOLERANCE = 0.001
# Labels agree with the nearest reference class mean for 60-96% of each class in MNIST (see
# reference_stats.json). A class may fall this far below its reference share (or three
# binomial standard errors, when that is wider) before its labels count as noisy.
LABEL_AGREEMENT_DROP = 0.15
# The orientations a whole dataset can be written in by mistake, as numpy operations on
# images [N, rows, cols]; "upright" is the one the reference holds.
ORIENTATIONS = {
    "upright": lambda a: a,
    "transposed": lambda a: a.transpose(0, 2, 1),
    "rotated 90 degrees": lambda a: np.rot90(a, 1, axes=(1, 2)),
    "rotated 180 degrees": lambda a: np.rot90(a, 2, axes=(1, 2)),
    "rotated 270 degrees": lambda a: np.rot90(a, 3, axes=(1, 2)),
    "mirrored left-right": lambda a: a[:, :, ::-1],
    "flipped upside down": lambda a: a[:, ::-1, :],
}


class DataCheckError(Exception):
    """A named data check failed (used while reading one file)."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(detail)
        self.check = check
        self.detail = detail


@dataclass
class Check:
    """One named check in the data report."""

    name: str
    passed: bool | None = None  # None: not run, because an earlier check failed
    details: list[str] = field(default_factory=list)

    def fail(self, detail: str) -> None:
        """Record one failure of this check."""
        self.passed = False
        self.details.append(detail)

    def ok(self, detail: str) -> None:
        """Record that this check passed (unless it already failed)."""
        if self.passed is None:
            self.passed = True
        self.details.append(detail)


@dataclass(frozen=True)
class Source:
    """Images and labels read from one pair of raw files."""

    name: str
    images: np.ndarray
    labels: np.ndarray


# ---------------------------------------------------------------- reading and validating


def find_file(input_dir: Path, stem: str) -> Path | None:
    """The raw file for a stem, gzip (``.gz``) or plain."""
    for candidate in (input_dir / f"{stem}.gz", input_dir / stem):
        if candidate.is_file():
            return candidate
    return None


def read_checked(path: Path, ndim: int) -> np.ndarray:
    """Read one IDX file, raising DataCheckError named after the first check it fails."""
    try:
        data = read_bytes(path)
    except IdxError as exc:
        raise DataCheckError("idx_header", str(exc)) from None
    expected = 0x0800 | ndim
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[3] != ndim:
        magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
        found = f"0x{magic:08x}" if magic is not None else f"only {len(data)} bytes"
        raise DataCheckError(
            "idx_header", f"{path.name}: wrong IDX magic {found}, expected 0x{expected:08x}"
        )
    if data[2] != UBYTE:
        raise DataCheckError(
            "uint8", f"{path.name}: values are type 0x{data[2]:02x}, expected uint8 (0x08)"
        )
    try:
        return parse_idx(data, path)
    except IdxError as exc:
        raise DataCheckError("idx_size", str(exc)) from None


def read_sources(input_dir: Path, checks: dict[str, Check]) -> list[Source]:
    """Read every raw file pair present; failures go into ``checks``."""
    sources: list[Source] = []
    for name, (images_stem, labels_stem) in SOURCES.items():
        images_path = find_file(input_dir, images_stem)
        labels_path = find_file(input_dir, labels_stem)
        if name != "train" and images_path is None and labels_path is None:
            continue  # an optional pair (t10k, feedback) is absent: fine
        if images_path is None or labels_path is None:
            missing = [
                stem
                for stem, path in ((images_stem, images_path), (labels_stem, labels_path))
                if path is None
            ]
            checks["files_present"].fail(f"missing {', '.join(missing)}(.gz) in {input_dir}")
            continue
        checks["files_present"].ok(f"{images_path.name}, {labels_path.name}")
        arrays: list[np.ndarray] = []
        for path, ndim in ((images_path, IMAGES_NDIM), (labels_path, LABELS_NDIM)):
            try:
                arrays.append(read_checked(path, ndim))
            except DataCheckError as exc:
                checks[exc.check].fail(exc.detail)
                continue
            for check in ("idx_header", "uint8", "idx_size"):
                checks[check].ok(f"{path.name}: {'x'.join(map(str, arrays[-1].shape))}")
        if len(arrays) == 2:
            sources.append(Source(name=name, images=arrays[0], labels=arrays[1]))
    return sources


def check_structure(sources: Sequence[Source], checks: dict[str, Check]) -> None:
    """Shapes, label range and counts of each source."""
    for source in sources:
        rows, cols = source.images.shape[1:]
        if (rows, cols) != (IMAGE_SIDE, IMAGE_SIDE):
            checks["image_shape"].fail(f"{source.name}: images are {rows}x{cols}, expected 28x28")
        else:
            checks["image_shape"].ok(f"{source.name}: {len(source.images)} images of 28x28")
        bad = np.flatnonzero(source.labels >= NUM_CLASSES)
        if bad.size:
            checks["labels_in_range"].fail(
                f"{source.name}: {bad.size} labels outside 0-9 (first at index {int(bad[0])}, "
                f"value {int(source.labels[bad[0]])})"
            )
        else:
            checks["labels_in_range"].ok(f"{source.name}: all labels within 0-9")
        if len(source.images) != len(source.labels) or len(source.images) == 0:
            checks["counts_match"].fail(
                f"{source.name}: {len(source.images)} images but {len(source.labels)} labels"
            )
        else:
            checks["counts_match"].ok(f"{source.name}: {len(source.images)} images and labels")


def image_digests(images: np.ndarray) -> list[bytes]:
    """One digest per image, to find exact duplicates quickly."""
    flat = np.ascontiguousarray(images.reshape(len(images), -1))
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat]


def check_content(
    sources: Sequence[Source],
    checks: dict[str, Check],
    reference: dict[str, Any],
    balance_tolerance: float,
    drift_tolerance: float,
) -> None:
    """Blank images, duplicates, leakage, near-duplicates, balance, drift, orientation, labels."""
    digests = {source.name: image_digests(source.images) for source in sources}
    for source in sources:
        blank = np.flatnonzero(source.images.reshape(len(source.images), -1).max(axis=1) == 0)
        if blank.size:
            checks["blank_images"].fail(
                f"{source.name}: {blank.size} images hold no ink at all (first at index "
                f"{int(blank[0])})"
            )
        else:
            checks["blank_images"].ok(f"{source.name}: every image holds ink")

        seen: dict[bytes, int] = {}
        pairs: list[tuple[int, int]] = []
        for index, digest in enumerate(digests[source.name]):
            if digest in seen:
                pairs.append((seen[digest], index))
            else:
                seen[digest] = index
        if pairs:
            shown = ", ".join(f"{a}={b}" for a, b in pairs[:5])
            checks["duplicates"].fail(
                f"{source.name}: {len(pairs)} exact duplicate images (index pairs {shown})"
            )
        else:
            checks["duplicates"].ok(f"{source.name}: no exact duplicate images")

    by_name = {source.name: source for source in sources}
    for later, earlier, what in (
        ("t10k", "train", "the t10k (test) files"),
        (FEEDBACK, "train", "the feedback shard"),
        (FEEDBACK, "t10k", "the feedback shard"),
    ):
        if later not in digests or earlier not in digests:
            continue
        # Copies under another label are `leakage`'s finding, not a duplicate.
        known = dict(zip(digests[earlier], by_name[earlier].labels.tolist(), strict=True))
        shared = [
            digest
            for digest, label in zip(digests[later], by_name[later].labels.tolist(), strict=True)
            if known.get(digest) == label
        ]
        if shared:
            checks["duplicates"].fail(
                f"{len(shared)} images of {what} also appear in the {earlier} files"
            )
        else:
            checks["duplicates"].ok(f"the {earlier} files and {what} share no image")
    check_leakage(sources, digests, checks)
    check_near_duplicates(sources, checks)
    labels = np.concatenate([source.labels for source in sources])
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    shares = counts / counts.sum()
    low, high = (1 - balance_tolerance) / NUM_CLASSES, (1 + balance_tolerance) / NUM_CLASSES
    off = [
        f"digit {digit}: {share:.1%} of the data ({counts[digit]} images)"
        for digit, share in enumerate(shares)
        if not low <= share <= high
    ]
    if off:
        checks["class_balance"].fail(
            f"class shares outside {low:.1%}-{high:.1%}: " + "; ".join(off)
        )
    else:
        checks["class_balance"].ok(
            f"every class holds {shares.min():.1%}-{shares.max():.1%} "
            f"(allowed {low:.1%}-{high:.1%})"
        )

    images = np.concatenate([source.images for source in sources])
    observed = pixel_stats(images)
    for key, expected in reference["stats"].items():
        value = observed[key]
        relative = abs(value - expected) / max(abs(expected), 1e-12)
        line = f"{key} {value:.4f} vs reference {expected:.4f} ({relative:.1%} off)"
        if relative > drift_tolerance:
            checks["pixel_drift"].fail(f"{line}, allowed {drift_tolerance:.0%}")
        else:
            checks["pixel_drift"].ok(line)
    if "class_means" in reference:
        labels = np.concatenate([source.labels for source in sources])
        check_orientation(images, reference, checks["orientation"])
        if checks["orientation"].passed:
            check_label_noise(images, labels, reference, checks["label_noise"])
        else:  # turned images disagree with every label; the orientation is the finding
            checks["label_noise"].details.append("not run: the images are not upright")
    else:  # writing a new reference: there is nothing to compare against
        checks["orientation"].ok("no reference class means to compare against")
        checks["label_noise"].ok("no reference class means to compare against")


def check_leakage(
    sources: Sequence[Source], digests: dict[str, list[bytes]], checks: dict[str, Check]
) -> None:
    """The same image under two different labels, in any of the files (or dataset versions).

    Which split an image lands in follows from its pixels alone (``content_split``), so the
    same image is in the same split in every file and every dataset version; what can still
    leak is a label: one image taught as a 4 in one file and tested as a 9 in another.
    """
    first_label: dict[bytes, tuple[int, str, int]] = {}
    conflicts: list[str] = []
    for source in sources:
        for index, (digest, label) in enumerate(
            zip(digests[source.name], source.labels.tolist(), strict=True)
        ):
            seen = first_label.setdefault(digest, (label, source.name, index))
            if seen[0] != label:
                conflicts.append(
                    f"{seen[1]}[{seen[2]}] labelled {seen[0]} = {source.name}[{index}] "
                    f"labelled {label}"
                )
    if conflicts:
        checks["leakage"].fail(
            f"{len(conflicts)} images appear with two different labels ("
            + "; ".join(conflicts[:5])
            + ")"
        )
    else:
        checks["leakage"].ok(
            "no image carries two labels; each image's split follows from its pixels, so the "
            "same image is in the same split in every file and dataset version"
        )


def unit_rows(images: np.ndarray) -> np.ndarray:
    """Images [N, ...] as float32 rows [N, D] with zero mean and unit length (for correlations)."""
    rows = images.reshape(len(images), -1).astype(np.float32)
    rows -= rows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.maximum(norms, 1e-6), dtype=np.float32)


def check_near_duplicates(
    sources: Sequence[Source],
    checks: dict[str, Check],
    threshold: float = NEAR_DUPLICATE_CORRELATION,
    tolerance: float = NEAR_DUPLICATE_TOLERANCE,
) -> None:
    """Pairs of different images of one class whose pixels correlate >= ``threshold``.

    Candidates come from 7x7 block means (cheap for 70,000 images), confirmed at full size.
    """
    images = np.concatenate([source.images for source in sources])
    labels = np.concatenate([source.labels for source in sources])
    coarse = unit_rows(images.reshape(len(images), 7, 4, 7, 4).astype(np.float32).mean((2, 4)))
    fine = unit_rows(images)
    pairs: list[tuple[int, int, float]] = []
    for digit in range(NUM_CLASSES):
        members = np.flatnonzero(labels == digit)
        for start in range(0, len(members), 2048):
            rows = members[start : start + 2048]
            i, j = np.nonzero(coarse[rows] @ coarse[members].T >= threshold)
            first, second = rows[i], members[j]
            first, second = first[first < second], second[first < second]
            # Confirmed at full size, in one vectorised pass (many 1s look alike at 7x7).
            correlation = np.einsum("ij,ij->i", fine[first], fine[second])
            near = (correlation >= threshold) & (correlation < 1 - 1e-6)  # exact: `duplicates`
            found = (first[near].tolist(), second[near].tolist(), correlation[near].tolist())
            pairs += zip(*found, strict=True)
    allowed = int(tolerance * len(images))
    shown = ", ".join(f"{a}~{b} ({c:.3f})" for a, b, c in pairs[:5])
    line = (
        f"{len(pairs)} pairs of different images correlate >= {threshold} "
        f"(allowed {allowed} of {len(images)} images){': ' + shown if pairs else ''}"
    )
    if len(pairs) > allowed:
        checks["near_duplicates"].fail(line)
    else:
        checks["near_duplicates"].ok(line)


def class_means(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean image of each class, float64 [10, 28, 28] on the 0-255 scale (zeros if absent)."""
    means = np.zeros((NUM_CLASSES, IMAGE_SIDE, IMAGE_SIDE))
    for digit in range(NUM_CLASSES):
        members = images[labels == digit]
        if len(members):
            means[digit] = members.astype(np.float64).mean(axis=0)
    return means


def nearest_reference_class(images: np.ndarray, reference_means: np.ndarray) -> np.ndarray:
    """For each image, the class whose reference mean image it correlates with best [N]."""
    return np.asarray((unit_rows(images) @ unit_rows(reference_means).T).argmax(axis=1))


def orientation_scores(images: np.ndarray, reference_means: np.ndarray) -> dict[str, float]:
    """How well the images match the reference digits when read in each orientation.

    The score is the mean, over images, of the best correlation with any reference class
    mean; it uses no labels, so wrong labels cannot hide or fake a turned dataset.
    """
    means = unit_rows(reference_means).T
    return {
        name: float((unit_rows(np.ascontiguousarray(turn(images))) @ means).max(axis=1).mean())
        for name, turn in ORIENTATIONS.items()
    }


def check_orientation(images: np.ndarray, reference: dict[str, Any], check: Check) -> None:
    """The images are upright: no turn, transposition or mirror matches the reference better.

    Mean, spread and ink share do not change when every image is transposed or mirrored, so
    `pixel_drift` cannot see it; the shapes of the digits can.
    """
    scores = orientation_scores(images, np.asarray(reference["class_means"]))
    best = max(scores, key=lambda name: scores[name])
    line = ", ".join(f"{name} {score:.3f}" for name, score in scores.items())
    if best != "upright":
        check.fail(
            f"the images look {best}: read that way they match the reference digits better "
            f"({scores[best]:.3f}) than upright ({scores['upright']:.3f}); scores: {line}"
        )
    else:
        check.ok(f"upright matches the reference digits best; scores: {line}")


def check_label_noise(
    images: np.ndarray, labels: np.ndarray, reference: dict[str, Any], check: Check
) -> None:
    """Each class's labels agree with the images about as often as in the reference.

    An image "agrees" with its label when the reference mean image it correlates with best is
    that label's. A shuffled label set agrees about 10% of the time; MNIST 60-96% per class.
    """
    predicted = nearest_reference_class(images, np.asarray(reference["class_means"]))
    expected = reference["label_agreement"]
    low: list[str] = []
    shares: list[str] = []
    for digit in range(NUM_CLASSES):
        members = labels == digit
        count = int(members.sum())
        if not count:
            continue
        share = float((predicted[members] == digit).mean())
        target = float(expected[digit])
        margin = max(LABEL_AGREEMENT_DROP, 3 * float(np.sqrt(target * (1 - target) / count)))
        shares.append(f"{digit}: {share:.0%}")
        if share < target - margin:
            low.append(
                f"digit {digit}: {share:.0%} of {count} labels agree with the images "
                f"(reference {target:.0%}, allowed down to {target - margin:.0%})"
            )
    if low:
        check.fail("labels disagree with the images: " + "; ".join(low))
    else:
        check.ok("labels agree with the nearest reference digit: " + ", ".join(shares))


def pixel_stats(images: np.ndarray) -> dict[str, float]:
    """Pixel statistics compared against the stored reference (values scaled to [0, 1])."""
    scaled = images.astype(np.float64) / 255.0
    return {
        "mean": float(scaled.mean()),
        "std": float(scaled.std()),
        "ink_fraction": float((images > 127).mean()),
    }


# ---------------------------------------------------------------- splitting and writing


def split_position(images: np.ndarray) -> np.ndarray:
    """A number in [0, 1) per image from the SHA-256 of its 784 pixel bytes, float64 [N].

    Only the pixels count (not the label, file or position), so the same image gets the same
    number in every file and every dataset version.
    """
    flat = np.ascontiguousarray(images.reshape(len(images), -1))
    return np.array(
        [int.from_bytes(hashlib.sha256(row.tobytes()).digest()[:8], "big") / 2**64 for row in flat]
    )


def content_split(
    images: np.ndarray,
    validation_fraction: float = VALIDATION_FRACTION,
    test_fraction: float = TEST_FRACTION,
) -> dict[str, np.ndarray]:
    """Indices of each split, decided by each image's content hash.

    An image whose ``split_position`` is below ``test_fraction`` is a test image, below
    ``test_fraction + validation_fraction`` a validation image, otherwise a training image.
    Each split is ordered by that position: a fixed shuffle, not grouped by class or file.
    Class shares follow the data's own up to sampling noise (about 10 +/- 1 test images per
    100 of a class).
    """
    position = split_position(images)
    order = np.argsort(position, kind="stable")
    bounds = {"test": (0.0, test_fraction)}
    bounds["validation"] = (test_fraction, test_fraction + validation_fraction)
    bounds["train"] = (test_fraction + validation_fraction, 1.0)
    return {
        name: order[(position[order] >= bounds[name][0]) & (position[order] < bounds[name][1])]
        for name in SPLITS
    }


def npz_bytes(**arrays: np.ndarray) -> bytes:
    """An .npz archive with fixed timestamps, so equal arrays give equal bytes (and hashes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def class_balance_png(counts: dict[str, list[int]]) -> bytes:
    """A bar chart of each digit's share in each split (by content hash: the bars are close)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    width = 0.8 / len(counts)
    digits = np.arange(NUM_CLASSES)
    for offset, (split, values) in enumerate(counts.items()):
        shares = 100 * np.asarray(values) / max(sum(values), 1)
        label = f"{split} ({sum(values)} images)"
        axes.bar(digits + (offset - (len(counts) - 1) / 2) * width, shares, width, label=label)
    axes.axhline(100 / NUM_CLASSES, color="grey", linestyle="--", linewidth=1)
    axes.set_xticks(digits)
    axes.set_xlabel("digit")
    axes.set_ylabel("share of the split (%)")
    axes.set_title("Class balance per split")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=len(counts))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def build_report(checks: dict[str, Check], extra: dict[str, Any]) -> dict[str, Any]:
    """The data report: overall status, the failed checks' names, every check's details."""
    failures = [name for name, check in checks.items() if check.passed is False]
    return {
        "status": "failed" if failures else "passed",
        "failures": failures,
        "checks": [asdict(check) for check in checks.values()],
        **extra,
    }


def failure_message(report: dict[str, Any]) -> str:
    """Short text for stderr and SageMaker's FailureReason: the failed checks first."""
    lines = [f"data validation failed: {', '.join(report['failures'])}"]
    for check in report["checks"]:
        if check["passed"] is False:
            lines.extend(f"  {check['name']}: {detail}" for detail in check["details"])
    lines.append(json.dumps(report, indent=2))
    return "\n".join(lines)


def reference_document(
    images: np.ndarray, labels: np.ndarray, sources: list[str]
) -> dict[str, Any]:
    """The reference the checks compare new data against, from trusted data.

    ``class_means``: [10][28][28] mean image per class on the 0-255 scale, rounded to 0.01;
    ``label_agreement``: per class, the share of its images whose nearest (rounded) class
    mean is their own class; ``stats``: ``pixel_stats``.
    """
    means = np.round(class_means(images, labels), 2)
    predicted = nearest_reference_class(images, means)
    agreement = [
        round(float((predicted[labels == digit] == digit).mean()), 4)
        for digit in range(NUM_CLASSES)
    ]
    return {
        "produced_by": "python prepare.py --input-dir ../data --write-reference "
        "reference_stats.json (the offline sample)",
        "sources": sources,
        "images": len(images),
        "stats": pixel_stats(images),
        "label_agreement": agreement,
        "class_means": means.tolist(),
    }


def prepare(args: argparse.Namespace) -> int:
    """Validate, and when everything passes, split and write the outputs; the exit code."""
    # Writing a new reference compares against nothing.
    reference = (
        {"stats": {}}
        if args.write_reference
        else json.loads(Path(args.reference_stats).read_text())
    )
    checks = {name: Check(name) for name in CHECK_NAMES}
    if args.dataset_dir:
        # The pipeline passes a dataset version's manifest; its objects become the input.
        try:
            manifest, _ = read_manifest(find_manifest(Path(args.dataset_dir)))
            fetch(manifest, Path(args.input_dir))
        except DatasetError as exc:
            fail(f"files_present: {exc}", Path(args.failure_file))
            return 1
    sources = read_sources(Path(args.input_dir), checks)
    if all(check.passed is not False for check in checks.values()):
        check_structure(sources, checks)
    if all(check.passed is not False for check in checks.values()):
        check_content(sources, checks, reference, args.balance_tolerance, args.drift_tolerance)
    inputs = {s.name: {"images": len(s.images), "labels": len(s.labels)} for s in sources}
    settings = {
        "validation_fraction": args.validation_fraction,
        "test_fraction": args.test_fraction,
        "balance_tolerance": args.balance_tolerance,
        "drift_tolerance": args.drift_tolerance,
    }
    report = build_report(checks, {"inputs": inputs, "settings": settings})
    if report["failures"]:
        fail(failure_message(report), Path(args.failure_file))
        return 1

    images = np.concatenate([s.images for s in sources])
    labels = np.concatenate([s.labels for s in sources])
    if args.write_reference:
        document = reference_document(images, labels, sorted(inputs))
        text = json.dumps(document, indent=2)
        # One line per image row keeps the file short and its diffs readable.
        text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]", lambda m: f"[{' '.join(m[1].split())}]", text)
        Path(args.write_reference).write_text(text + "\n")
        print(f"wrote reference statistics and class means to {args.write_reference}")
        return 0

    indices = content_split(images, args.validation_fraction, args.test_fraction)
    digests = {name: set(image_digests(images[idx])) for name, idx in indices.items()}
    if digests["train"] & (digests["validation"] | digests["test"]):
        raise RuntimeError("the split put the same image in two splits")  # a bug, not bad data
    from_feedback = np.concatenate(
        [np.full(len(s.labels), s.name == FEEDBACK, dtype=bool) for s in sources]
    )
    blobs = {
        f"{name}/{name}.npz": npz_bytes(images=images[idx], labels=labels[idx])
        for name, idx in indices.items()
    }
    if from_feedback.any():
        # Which test images are people's corrections: evaluate reports them apart. Only with
        # a shard, so a version without one gives the same bytes (and cache hits) as before.
        blobs["test/test.npz"] = npz_bytes(
            images=images[indices["test"]],
            labels=labels[indices["test"]],
            feedback=from_feedback[indices["test"]],
        )
        report["feedback"] = {
            "images": int(from_feedback.sum()),
            "per_split": {name: int(from_feedback[idx].sum()) for name, idx in indices.items()},
        }
    counts = {
        name: np.bincount(labels[idx], minlength=NUM_CLASSES).tolist()
        for name, idx in indices.items()
    }
    report["splits"] = {
        name: {"images": len(idx), "per_class": counts[name]} for name, idx in indices.items()
    }
    report["pixel_stats"] = pixel_stats(images)
    blobs["report/data_report.json"] = (json.dumps(report, indent=2) + "\n").encode()
    blobs["report/class_balance.png"] = class_balance_png(counts)
    files = {path: sha256_bytes(blob) for path, blob in blobs.items()}
    dataset_hash = sha256_bytes(
        "".join(f"{name}:{files[f'{name}/{name}.npz']}\n" for name in SPLITS).encode()
    )
    manifest = {
        "dataset_hash": dataset_hash,
        "files": files,
        "splits": {name: len(idx) for name, idx in indices.items()},
        "settings": settings,
    }
    blobs["report/manifest.json"] = (json.dumps(manifest, indent=2) + "\n").encode()

    output_dir = Path(args.output_dir)
    for path, blob in blobs.items():
        target = output_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
    sizes = ", ".join(f"{name} {len(idx)}" for name, idx in indices.items())
    if "feedback" in report:
        shard = report["feedback"]
        sizes += f"; feedback {shard['images']} (test {shard['per_split']['test']})"
    print(f"all {len(CHECK_NAMES)} data checks passed; split {sizes}; dataset {dataset_hash[:12]}")
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments (defaults are SageMaker's processing-job locations)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input-dir", default=str(opt_ml("processing/input/raw")))
    parser.add_argument(
        "--dataset-dir",
        default="",
        help="folder holding a dataset manifest: fetch the objects it names into --input-dir",
    )
    parser.add_argument("--output-dir", default=str(opt_ml("processing/output")))
    parser.add_argument("--failure-file", default=str(failure_file()))
    parser.add_argument("--reference-stats", default=str(REFERENCE_STATS))
    parser.add_argument("--validation-fraction", type=float, default=VALIDATION_FRACTION)
    parser.add_argument("--test-fraction", type=float, default=TEST_FRACTION)
    parser.add_argument(
        "--balance-tolerance",
        type=float,
        default=0.35,
        help="each class may hold (1 +/- this) x 10%% of the images",
    )
    parser.add_argument(
        "--drift-tolerance",
        type=float,
        default=0.1,
        help="largest relative difference of a pixel statistic from the reference",
    )
    parser.add_argument(
        "--write-reference",
        default="",
        help="instead of splitting, write the input's reference statistics to this JSON file",
    )
    args = parser.parse_args(argv)
    fractions = args.validation_fraction + args.test_fraction
    if not (0 < args.validation_fraction < 1 and 0 < args.test_fraction < 1 and fractions < 1):
        parser.error("--validation-fraction and --test-fraction must be in (0, 1), sum below 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    try:
        return prepare(args)
    except Exception as exc:  # an unexpected error still leaves SageMaker a failure reason
        fail(f"prepare failed: {type(exc).__name__}: {exc}", Path(args.failure_file))
        raise


if __name__ == "__main__":
    sys.exit(main())
