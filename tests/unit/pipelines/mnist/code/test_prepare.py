"""prepare.py: bad data stops the pipeline with the named check; good data is split."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from support.step_scripts import CODE

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "mnist"
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def opt_ml_of(raw_dir: Path) -> Path:
    return raw_dir.parents[2]


def load(raw_dir: Path, idx: ModuleType) -> tuple[np.ndarray, np.ndarray]:
    images = idx.read_idx(raw_dir / TRAIN_IMAGES).copy()
    labels = idx.read_idx(raw_dir / TRAIN_LABELS).copy()
    return images, labels


def gz(path: Path, data: bytes) -> None:
    path.write_bytes(gzip.compress(data, mtime=0))


def raw_idx(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


# Each corruption edits the raw folder; the check it must trip is named next to it.
def bad_magic(raw: Path, idx: ModuleType) -> None:
    data = bytearray(raw_idx(raw / TRAIN_IMAGES))
    data[:4] = (0x00000801).to_bytes(4, "big")  # a labels header on the images file
    gz(raw / TRAIN_IMAGES, bytes(data))


def not_gzip(raw: Path, idx: ModuleType) -> None:
    (raw / TRAIN_LABELS).write_bytes(b"<html>404 Not Found</html>")


def truncated(raw: Path, idx: ModuleType) -> None:
    data = raw_idx(raw / TRAIN_IMAGES)
    gz(raw / TRAIN_IMAGES, data[: len(data) - 1000])


def float_values(raw: Path, idx: ModuleType) -> None:
    data = bytearray(raw_idx(raw / TRAIN_IMAGES))
    data[2] = 0x0D  # IDX type code for float32
    gz(raw / TRAIN_IMAGES, bytes(data))


def wrong_dims(raw: Path, idx: ModuleType) -> None:
    images, _ = load(raw, idx)
    idx.write_idx_gz(np.pad(images, ((0, 0), (2, 2), (2, 2))), raw / TRAIN_IMAGES)  # 32x32


def label_out_of_range(raw: Path, idx: ModuleType) -> None:
    _, labels = load(raw, idx)
    labels[17] = 10
    idx.write_idx_gz(labels, raw / TRAIN_LABELS)


def count_mismatch(raw: Path, idx: ModuleType) -> None:
    _, labels = load(raw, idx)
    idx.write_idx_gz(labels[:-1], raw / TRAIN_LABELS)


def duplicates(raw: Path, idx: ModuleType) -> None:
    images, _ = load(raw, idx)
    images[5] = images[0]
    idx.write_idx_gz(images, raw / TRAIN_IMAGES)


def blank_image(raw: Path, idx: ModuleType) -> None:
    images, _ = load(raw, idx)
    images[3] = 0
    idx.write_idx_gz(images, raw / TRAIN_IMAGES)


def class_imbalance(raw: Path, idx: ModuleType) -> None:
    images, labels = load(raw, idx)
    threes = np.flatnonzero(labels == 3)
    keep = np.setdiff1d(np.arange(len(labels)), threes[10:])  # 10 threes left of 100
    idx.write_idx_gz(images[keep], raw / TRAIN_IMAGES)
    idx.write_idx_gz(labels[keep], raw / TRAIN_LABELS)


def faded_ink(raw: Path, idx: ModuleType) -> None:
    images, _ = load(raw, idx)
    idx.write_idx_gz((images // 2).astype(np.uint8), raw / TRAIN_IMAGES)


def inverted(raw: Path, idx: ModuleType) -> None:
    images, _ = load(raw, idx)
    idx.write_idx_gz((255 - images).astype(np.uint8), raw / TRAIN_IMAGES)


def split_files(raw: Path, idx: ModuleType) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move the last 20 digits of each class into t10k files; the rest stay train files."""
    images, labels = load(raw, idx)
    test = np.concatenate([np.flatnonzero(labels == d)[-20:] for d in range(10)])
    train = np.setdiff1d(np.arange(len(labels)), test)
    idx.write_idx_gz(images[train], raw / TRAIN_IMAGES)
    idx.write_idx_gz(labels[train], raw / TRAIN_LABELS)
    return images, labels, train


def shared_with_t10k(raw: Path, idx: ModuleType) -> None:
    images, labels, train = split_files(raw, idx)
    test = np.setdiff1d(np.arange(len(labels)), train)
    leaked = np.concatenate([test, train[:12]])  # 12 training digits sneak into the test files
    idx.write_idx_gz(images[leaked], raw / "t10k-images-idx3-ubyte.gz")
    idx.write_idx_gz(labels[leaked], raw / "t10k-labels-idx1-ubyte.gz")


def relabelled_copy(raw: Path, idx: ModuleType) -> None:
    """A later dataset version's file holds an image already seen, under another label."""
    images, labels, train = split_files(raw, idx)
    test = np.setdiff1d(np.arange(len(labels)), train)
    copies = train[:3]
    idx.write_idx_gz(
        np.concatenate([images[test], images[copies]]), raw / "t10k-images-idx3-ubyte.gz"
    )
    idx.write_idx_gz(
        np.concatenate([labels[test], (labels[copies] + 1) % 10]).astype(np.uint8),
        raw / "t10k-labels-idx1-ubyte.gz",
    )


def transposed(raw: Path, idx: ModuleType) -> None:
    images, _ = load(raw, idx)
    idx.write_idx_gz(np.ascontiguousarray(images.transpose(0, 2, 1)), raw / TRAIN_IMAGES)


def mirrored(raw: Path, idx: ModuleType) -> None:
    images, _ = load(raw, idx)
    idx.write_idx_gz(np.ascontiguousarray(images[:, :, ::-1]), raw / TRAIN_IMAGES)


def upside_down(raw: Path, idx: ModuleType) -> None:
    images, _ = load(raw, idx)
    idx.write_idx_gz(np.ascontiguousarray(np.rot90(images, 2, axes=(1, 2))), raw / TRAIN_IMAGES)


def shuffled_labels(raw: Path, idx: ModuleType) -> None:
    _, labels = load(raw, idx)
    idx.write_idx_gz(np.random.default_rng(1).permutation(labels), raw / TRAIN_LABELS)


def noisy_copies(raw: Path, idx: ModuleType) -> None:
    """30 digits added again with a little noise (as a re-encoded copy would be)."""
    images, labels = load(raw, idx)
    rng = np.random.default_rng(0)
    picked = rng.choice(len(images), 30, replace=False)
    noise = rng.integers(-15, 16, images[picked].shape)
    copies = np.clip(images[picked].astype(int) + noise, 0, 255).astype(np.uint8)
    idx.write_idx_gz(np.concatenate([images, copies]), raw / TRAIN_IMAGES)
    idx.write_idx_gz(np.concatenate([labels, labels[picked]]), raw / TRAIN_LABELS)


def missing_labels(raw: Path, idx: ModuleType) -> None:
    (raw / TRAIN_LABELS).unlink()


def half_test_pair(raw: Path, idx: ModuleType) -> None:
    shutil.copy(raw / TRAIN_IMAGES, raw / "t10k-images-idx3-ubyte.gz")


CASES: list[tuple[Callable[[Path, ModuleType], None], str, str]] = [
    (bad_magic, "idx_header", "wrong IDX magic 0x00000801"),
    (not_gzip, "idx_header", "not a gzip file"),
    (truncated, "idx_size", "truncated"),
    (float_values, "uint8", "expected uint8"),
    (wrong_dims, "image_shape", "32x32"),
    (label_out_of_range, "labels_in_range", "1 labels outside 0-9"),
    (count_mismatch, "counts_match", "1000 images but 999 labels"),
    (duplicates, "duplicates", "1 exact duplicate images (index pairs 0=5)"),
    (blank_image, "blank_images", "1 images hold no ink"),
    (class_imbalance, "class_balance", "digit 3: 1.1%"),
    (faded_ink, "pixel_drift", "mean 0.0643 vs reference 0.1311 (51.0% off), allowed 10%"),
    (inverted, "pixel_drift", "mean 0.8710"),
    (shared_with_t10k, "duplicates", "12 images of the t10k (test) files also appear in the train"),
    (relabelled_copy, "leakage", "3 images appear with two different labels"),
    (transposed, "orientation", "the images look transposed"),
    (mirrored, "orientation", "the images look mirrored left-right"),
    (upside_down, "orientation", "the images look rotated 180 degrees"),
    (shuffled_labels, "label_noise", "labels disagree with the images: digit 0:"),
    (noisy_copies, "near_duplicates", "30 pairs of different images correlate >= 0.99"),
    (missing_labels, "files_present", "missing train-labels-idx1-ubyte"),
    (half_test_pair, "files_present", "missing t10k-labels-idx1-ubyte"),
]


@pytest.mark.parametrize(("corrupt", "check", "message"), CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_data_stops_prepare_with_the_named_check_and_writes_nothing(
    raw_dir: Path,
    idx: ModuleType,
    run_step: Callable[..., Any],
    corrupt: Callable[[Path, ModuleType], None],
    check: str,
    message: str,
) -> None:
    corrupt(raw_dir, idx)
    opt_ml = opt_ml_of(raw_dir)

    run = run_step("prepare.py", opt_ml)

    assert run.returncode == 1
    assert f"data validation failed: {check}" in run.stderr
    assert message in run.stderr
    assert message in run.failure  # SageMaker's FailureReason
    report = json.loads(run.stderr[run.stderr.index("\n{") :])
    assert check in report["failures"]
    assert report["status"] == "failed"
    assert files_under(opt_ml / "processing/output") == []


def split_sets(output: Path) -> dict[str, set[bytes]]:
    """Each split's images as a set of their pixel bytes."""
    sets = {}
    for split in ("train", "validation", "test"):
        with np.load(output / split / f"{split}.npz") as data:
            sets[split] = {image.tobytes() for image in data["images"]}
    return sets


def test_good_data_is_split_by_content_with_a_manifest(prepared: Path) -> None:
    manifest = json.loads((prepared / "report/manifest.json").read_text())
    report = json.loads((prepared / "report/data_report.json").read_text())

    assert report["status"] == "passed"
    assert report["failures"] == []
    assert {c["name"] for c in report["checks"] if c["passed"]} >= {
        "idx_header",
        "uint8",
        "image_shape",
        "labels_in_range",
        "counts_match",
        "duplicates",
        "near_duplicates",
        "leakage",
        "class_balance",
        "pixel_drift",
        "orientation",
        "label_noise",
    }
    splits = manifest["splits"]
    assert sum(splits.values()) == 1000
    # About 10% each for validation and test: the content hash is a fair coin per image.
    assert 70 <= splits["test"] <= 130
    assert 70 <= splits["validation"] <= 130
    for split in ("train", "validation", "test"):
        with np.load(prepared / split / f"{split}.npz") as data:
            images, labels = data["images"], data["labels"]
        assert images.dtype == np.uint8
        assert images.shape[1:] == (28, 28)
        assert labels.dtype == np.uint8
        # Every digit is in every split, at roughly its share.
        counts = np.bincount(labels, minlength=10)
        assert counts.min() >= 0.04 * len(labels)
        # Shuffled, not grouped by class as the raw files are.
        assert len(np.unique(labels[:20])) > 3
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((prepared / name).read_bytes()).hexdigest() == digest
    assert len(manifest["dataset_hash"]) == 64
    assert (prepared / "report/class_balance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_splits_share_no_image(prepared: Path) -> None:
    seen: dict[bytes, str] = {}
    for split in ("train", "validation", "test"):
        with np.load(prepared / split / f"{split}.npz") as data:
            for image in data["images"]:
                assert seen.setdefault(image.tobytes(), split) == split


def test_the_same_data_gives_the_same_bytes(
    raw_dir: Path, prepared: Path, run_step: Callable[..., Any]
) -> None:
    run = run_step("prepare.py", opt_ml_of(raw_dir))

    assert run.returncode == 0, run.stderr
    again = opt_ml_of(raw_dir) / "processing/output/report/manifest.json"
    assert again.read_text() == (prepared / "report/manifest.json").read_text()


def test_an_images_split_follows_its_pixels_not_its_place_in_the_files(
    raw_dir: Path, idx: ModuleType, prepared: Path, run_step: Callable[..., Any]
) -> None:
    images, labels = load(raw_dir, idx)
    order = np.random.default_rng(3).permutation(len(labels))
    idx.write_idx_gz(images[order], raw_dir / TRAIN_IMAGES)
    idx.write_idx_gz(labels[order], raw_dir / TRAIN_LABELS)

    run = run_step("prepare.py", opt_ml_of(raw_dir))

    assert run.returncode == 0, run.stderr
    assert split_sets(opt_ml_of(raw_dir) / "processing/output") == split_sets(prepared)


def test_adding_data_never_moves_an_image_between_splits(
    tmp_path: Path, idx: ModuleType, run_step: Callable[..., Any]
) -> None:
    """Two dataset versions: v2 is v1 plus 300 new digits (as a later upload's shard)."""
    images = idx.read_idx(FIXTURES / TRAIN_IMAGES)
    labels = idx.read_idx(FIXTURES / TRAIN_LABELS)
    first = np.concatenate([np.flatnonzero(labels == d)[:70] for d in range(10)])
    added = np.setdiff1d(np.arange(len(labels)), first)
    outputs = {}
    for version, (train_part, extra) in {"v1": (first, None), "v2": (first, added)}.items():
        opt_ml = tmp_path / version / "opt_ml"
        raw = opt_ml / "processing/input/raw"
        raw.mkdir(parents=True)
        idx.write_idx_gz(images[train_part], raw / TRAIN_IMAGES)
        idx.write_idx_gz(labels[train_part], raw / TRAIN_LABELS)
        if extra is not None:
            idx.write_idx_gz(images[extra], raw / "t10k-images-idx3-ubyte.gz")
            idx.write_idx_gz(labels[extra], raw / "t10k-labels-idx1-ubyte.gz")
        run = run_step("prepare.py", opt_ml)
        assert run.returncode == 0, run.stderr
        outputs[version] = split_sets(opt_ml / "processing/output")

    v1, v2 = outputs["v1"], outputs["v2"]
    assert v1["test"] <= v2["test"]  # every v1 test image is still a test image
    assert v1["validation"] <= v2["validation"]
    assert v1["train"] <= v2["train"]
    assert not v1["train"] & (v2["test"] | v2["validation"])  # the champion's training data
    assert len(v2["test"]) > len(v1["test"])  # the new digits did reach the test split


def test_test_files_are_merged_when_present(
    raw_dir: Path, idx: ModuleType, run_step: Callable[..., Any]
) -> None:
    images, labels = load(raw_dir, idx)
    test = np.concatenate([np.flatnonzero(labels == d)[-20:] for d in range(10)])
    train = np.setdiff1d(np.arange(len(labels)), test)
    idx.write_idx_gz(images[train], raw_dir / TRAIN_IMAGES)
    idx.write_idx_gz(labels[train], raw_dir / TRAIN_LABELS)
    idx.write_idx_gz(images[test], raw_dir / "t10k-images-idx3-ubyte.gz")
    idx.write_idx_gz(labels[test], raw_dir / "t10k-labels-idx1-ubyte.gz")

    run = run_step("prepare.py", opt_ml_of(raw_dir))

    assert run.returncode == 0, run.stderr
    report = json.loads(
        (opt_ml_of(raw_dir) / "processing/output/report/data_report.json").read_text()
    )
    assert report["inputs"] == {
        "train": {"images": 800, "labels": 800},
        "t10k": {"images": 200, "labels": 200},
    }
    assert sum(s["images"] for s in report["splits"].values()) == 1000


def test_a_looser_tolerance_lets_known_drift_through(
    raw_dir: Path, idx: ModuleType, run_step: Callable[..., Any]
) -> None:
    images, _ = load(raw_dir, idx)
    idx.write_idx_gz((images * 0.8).astype(np.uint8), raw_dir / TRAIN_IMAGES)  # 20% fainter

    strict = run_step("prepare.py", opt_ml_of(raw_dir))
    loose = run_step("prepare.py", opt_ml_of(raw_dir), "--drift-tolerance", "0.5")

    assert strict.returncode == 1
    assert "data validation failed: pixel_drift" in strict.stderr
    assert loose.returncode == 0, loose.stderr


@pytest.mark.parametrize(
    "args",
    [("--test-fraction", "0"), ("--validation-fraction", "0.6", "--test-fraction", "0.5")],
)
def test_impossible_split_fractions_are_refused(
    raw_dir: Path, args: tuple[str, ...], run_step: Callable[..., Any]
) -> None:
    run = run_step("prepare.py", opt_ml_of(raw_dir), *args)

    assert run.returncode == 2
    assert "--validation-fraction and --test-fraction must be in (0, 1)" in run.stderr


def test_the_fixture_is_a_slice_of_the_real_sample(idx: ModuleType) -> None:
    labels = idx.read_idx(FIXTURES / TRAIN_LABELS)
    assert np.bincount(labels).tolist() == [100] * 10


def test_the_reference_is_rebuilt_byte_for_byte_from_the_offline_sample(
    tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    code = CODE
    target = tmp_path / "reference_stats.json"

    run = run_step(
        "prepare.py", tmp_path, "--input-dir", "../data", "--write-reference", str(target)
    )

    assert run.returncode == 0, run.stderr
    assert target.read_bytes() == (code / "reference_stats.json").read_bytes()
    reference = json.loads(target.read_text())
    assert np.asarray(reference["class_means"]).shape == (10, 28, 28)
    assert min(reference["label_agreement"]) > 0.5


# ---------------------------------------------------------------- the feedback shard

FEEDBACK_IMAGES = "feedback-images-idx3-ubyte.gz"
FEEDBACK_LABELS = "feedback-labels-idx1-ubyte.gz"


def write_shard(raw: Path, idx: ModuleType, images: np.ndarray, labels: np.ndarray) -> None:
    idx.write_idx_gz(np.ascontiguousarray(images, dtype=np.uint8), raw / FEEDBACK_IMAGES)
    idx.write_idx_gz(np.ascontiguousarray(labels, dtype=np.uint8), raw / FEEDBACK_LABELS)


def test_a_feedback_shard_is_split_by_content_and_its_test_images_never_train(
    raw_dir: Path, idx: ModuleType, run_step: Callable[..., Any], code_modules: Callable
) -> None:
    from support.pending_feedback import real_digits

    images, labels = real_digits(40)
    write_shard(raw_dir, idx, images, labels)

    run = run_step("prepare.py", opt_ml_of(raw_dir))

    assert run.returncode == 0, run.stderr
    output = opt_ml_of(raw_dir) / "processing/output"
    report = json.loads((output / "report/data_report.json").read_text())
    assert report["inputs"]["feedback"] == {"images": 40, "labels": 40}
    assert report["feedback"]["images"] == 40
    with code_modules() as load_module:
        position = load_module("prepare").split_position(images)
    in_test = {img.tobytes() for img, p in zip(images, position, strict=True) if p < 0.1}
    assert in_test, "the chosen digits must put at least one feedback image into test"
    with np.load(output / "test/test.npz") as test:
        marked = {img.tobytes() for img in test["images"][test["feedback"]]}
        assert int(test["feedback"].sum()) == report["feedback"]["per_split"]["test"]
    assert marked == in_test  # exactly the feedback images whose hash says test
    splits = split_sets(output)
    assert not marked & (splits["train"] | splits["validation"])
    shard = {img.tobytes() for img in images}
    assert shard <= splits["train"] | splits["validation"] | splits["test"]  # none dropped


def test_without_a_shard_the_test_split_has_no_feedback_marks(prepared: Path) -> None:
    with np.load(prepared / "test/test.npz") as test:
        assert sorted(test.files) == ["images", "labels"]
    report = json.loads((prepared / "report/data_report.json").read_text())
    assert "feedback" not in report


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda images, labels, fi, fl: (fi, np.where(np.arange(len(fl)) == 2, 11, fl)),
            "labels_in_range",
        ),
        (
            lambda images, labels, fi, fl: (
                np.concatenate([fi, images[:1]]),
                np.concatenate([fl, labels[:1]]),
            ),
            "images of the feedback shard also appear in the train files",
        ),
        (
            lambda images, labels, fi, fl: (
                np.concatenate([fi, images[:1]]),
                np.concatenate([fl, (labels[:1] + 1) % 10]),
            ),
            "leakage",
        ),
        (lambda images, labels, fi, fl: (fi[:, :27, :], fl), "image_shape"),
    ],
    ids=["label-out-of-range", "copy-of-a-train-image", "relabelled-train-image", "27-rows"],
)
def test_a_bad_feedback_shard_stops_prepare_with_the_named_check(
    raw_dir: Path, idx: ModuleType, run_step: Callable[..., Any], make, message: str
) -> None:
    from support.pending_feedback import real_digits

    images, labels = load(raw_dir, idx)
    shard_images, shard_labels = make(images, labels, *real_digits(10))
    write_shard(raw_dir, idx, shard_images, shard_labels)

    run = run_step("prepare.py", opt_ml_of(raw_dir))

    assert run.returncode == 1
    assert message in run.stderr
    assert files_under(opt_ml_of(raw_dir) / "processing/output") == []
