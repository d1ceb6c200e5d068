"""Prepare step: validate the raw MNIST IDX files, then split them for training.

Runs as a SageMaker processing job (``python prepare.py [--arg value ...]``). In the pipeline
the input is a dataset version's manifest (``--dataset-dir``), whose objects are fetched into
/opt/ml/processing/input/raw first (`dataset.py`). Inputs under that folder:
``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz`` (required), ``t10k-*``
(optional, merged in). Every check is named in the data report; if any
fails, the step exits non-zero with the report on stderr and in /opt/ml/output/failure, and
writes no output at all, so bad data never reaches training.

Outputs under /opt/ml/processing/output: ``train/train.npz``, ``validation/validation.npz``,
``test/test.npz`` (``images`` uint8 [N, 28, 28], ``labels`` uint8 [N]),
``report/data_report.json``, ``report/class_balance.png`` and ``report/manifest.json``
(SHA-256 of each output and one dataset hash).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from container import fail, failure_file, opt_ml, sha256_bytes, write_json
from dataset import DatasetError, fetch, find_manifest, read_manifest
from idx import IdxError, parse_idx, read_bytes

NUM_CLASSES = 10
IMAGE_SIDE = 28
IMAGES_NDIM, LABELS_NDIM = 3, 1
UBYTE = 0x08
REFERENCE_STATS = Path(__file__).with_name("reference_stats.json")
SPLITS = ("train", "validation", "test")
# Which raw files make up a source; the t10k pair is optional.
SOURCES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
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
    "leakage",
    "class_balance",
    "pixel_drift",
)


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
            continue  # the optional test pair is absent: fine
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
    """Blank images, duplicates, leakage, class balance and drift."""
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

    if "t10k" in digests and "train" in digests:
        shared = set(digests["train"]) & set(digests["t10k"])
        if shared:
            checks["leakage"].fail(
                f"{len(shared)} images of the t10k (test) files also appear in the train files"
            )
        else:
            checks["leakage"].ok("the train and t10k files share no image")
    else:
        checks["leakage"].ok("one source only; the split itself is checked for shared images")

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


def pixel_stats(images: np.ndarray) -> dict[str, float]:
    """Pixel statistics compared against the stored reference (values scaled to [0, 1])."""
    scaled = images.astype(np.float64) / 255.0
    return {
        "mean": float(scaled.mean()),
        "std": float(scaled.std()),
        "ink_fraction": float((images > 127).mean()),
    }


# ---------------------------------------------------------------- splitting and writing


def stratified_split(
    labels: np.ndarray, validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Indices of each split: the same share of every class, shuffled, the same for a seed."""
    order = np.random.default_rng(seed).permutation(len(labels))
    assignment = np.zeros(len(labels), dtype=np.int8)  # index into SPLITS
    for digit in range(NUM_CLASSES):
        members = order[labels[order] == digit]  # this class, in shuffled order
        n_test = round(len(members) * test_fraction)
        n_validation = round(len(members) * validation_fraction)
        assignment[members[:n_test]] = SPLITS.index("test")
        assignment[members[n_test : n_test + n_validation]] = SPLITS.index("validation")
    # Each split keeps the shuffled order, so no split is grouped by class.
    return {name: order[assignment[order] == number] for number, name in enumerate(SPLITS)}


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
    """A bar chart of each digit's share in each split (stratified: the bars match)."""
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
        "seed": args.seed,
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
        write_json(
            Path(args.write_reference),
            {
                "produced_by": "python prepare.py --input-dir <raw files> --write-reference <this>",
                "sources": sorted(inputs),
                "images": len(images),
                "stats": pixel_stats(images),
            },
        )
        print(f"wrote reference pixel statistics to {args.write_reference}")
        return 0

    indices = stratified_split(labels, args.validation_fraction, args.test_fraction, args.seed)
    digests = {name: set(image_digests(images[idx])) for name, idx in indices.items()}
    if digests["train"] & (digests["validation"] | digests["test"]):
        raise RuntimeError("the split put the same image in two splits")  # a bug, not bad data
    blobs = {
        f"{name}/{name}.npz": npz_bytes(images=images[idx], labels=labels[idx])
        for name, idx in indices.items()
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
    parser.add_argument("--validation-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
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
        help="instead of splitting, write the input's pixel statistics to this JSON file",
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
