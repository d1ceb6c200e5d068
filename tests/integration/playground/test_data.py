"""Raw data into S3: good data lands once; every kind of bad file is refused before upload."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest

from mlops_settings import Settings
from pipelines.mnist.code.idx import encode_idx, read_pair, write_idx_gz
from playground import data

IMAGES, LABELS = data.SPLITS["train"]


def raw_keys(settings: Settings) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=settings.data_bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    """200 real digits from the sample, as a folder of valid IDX files."""
    pair = read_pair(data.SAMPLE_DIR / IMAGES, data.SAMPLE_DIR / LABELS)
    pick = np.arange(0, 10_000, 50)
    folder = tmp_path / "raw"
    folder.mkdir()
    write_idx_gz(pair.images[pick], folder / IMAGES)
    write_idx_gz(pair.labels[pick], folder / LABELS)
    return folder


def test_seed_sample_uploads_once_then_reuses(emulator: Settings) -> None:
    first = data.seed(emulator, "sample")
    assert sorted(first.uploaded) == [IMAGES, LABELS]
    second = data.seed(emulator, "sample")
    assert second.uploaded == []
    assert sorted(second.unchanged) == [IMAGES, LABELS]
    listed = {o.key: o for o in data.list_raw(emulator)}
    assert set(listed) == {f"raw/mnist/{IMAGES}", f"raw/mnist/{LABELS}"}
    assert listed[f"raw/mnist/{IMAGES}"].count == 10_000
    body = boto3.client("s3").get_object(Bucket=emulator.data_bucket, Key=f"raw/mnist/{IMAGES}")
    assert body["Body"].read() == (data.SAMPLE_DIR / IMAGES).read_bytes()


def _gz(path: Path, payload: bytes) -> None:
    path.write_bytes(gzip.compress(payload, mtime=0))


def _bad_magic(folder: Path) -> None:
    raw = bytearray(gzip.decompress((folder / IMAGES).read_bytes()))
    raw[2:4] = b"\x0d\x05"
    _gz(folder / IMAGES, bytes(raw))


def _truncated(folder: Path) -> None:
    raw = gzip.decompress((folder / IMAGES).read_bytes())
    _gz(folder / IMAGES, raw[: len(raw) - 300])


def _count_mismatch(folder: Path) -> None:
    labels = np.frombuffer(gzip.decompress((folder / LABELS).read_bytes())[8:], np.uint8)
    write_idx_gz(labels[:-5].copy(), folder / LABELS)


def _wrong_size(folder: Path) -> None:
    write_idx_gz(np.zeros((200, 32, 32), np.uint8), folder / IMAGES)


def _bad_label(folder: Path) -> None:
    labels = np.frombuffer(gzip.decompress((folder / LABELS).read_bytes())[8:], np.uint8).copy()
    labels[7] = 11
    write_idx_gz(labels, folder / LABELS)


def _unreadable_gzip(folder: Path) -> None:
    raw = (folder / IMAGES).read_bytes()
    (folder / IMAGES).write_bytes(raw[:10] + b"\x00" * 50 + raw[60:])


def _checksum_mismatch(folder: Path) -> None:
    # A SHA256SUMS that the images file does not match (as after a corrupted copy).
    wrong = hashlib.sha256(b"something else").hexdigest()
    right = hashlib.sha256((folder / LABELS).read_bytes()).hexdigest()
    (folder / "SHA256SUMS").write_text(f"{wrong}  {IMAGES}\n{right}  {LABELS}\n")


def _missing_labels(folder: Path) -> None:
    (folder / LABELS).unlink()


def _not_gzip(folder: Path) -> None:
    (folder / IMAGES).write_bytes(encode_idx(np.zeros((200, 28, 28), np.uint8)))
    (folder / IMAGES).write_bytes(b"plain text, not gzip")


BAD_CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "wrong IDX magic": (_bad_magic, IMAGES, "wrong IDX magic"),
    "truncated file": (_truncated, IMAGES, "truncated"),
    "image/label count mismatch": (_count_mismatch, IMAGES, "200 images but"),
    "wrong image size": (_wrong_size, IMAGES, "wrong image size 32x32"),
    "label out of range": (_bad_label, LABELS, "labels outside 0-9"),
    "unreadable gzip": (_unreadable_gzip, IMAGES, "unreadable gzip"),
    "checksum mismatch": (_checksum_mismatch, IMAGES, "checksum mismatch"),
    "missing labels file": (_missing_labels, LABELS, "missing"),
    "not gzip despite .gz": (_not_gzip, IMAGES, "not a gzip file"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_file_is_refused_and_nothing_uploaded(
    emulator: Settings, small_set: Path, case: str
) -> None:
    spoil, file_named, problem = BAD_CASES[case]
    spoil(small_set)
    with pytest.raises(data.DataError) as caught:
        data.seed(emulator, str(small_set))
    assert str(caught.value).startswith(file_named)
    assert problem in str(caught.value)
    assert raw_keys(emulator) == []


def test_good_folder_with_test_split_uploads_all_four(emulator: Settings, small_set: Path) -> None:
    shutil.copy(small_set / IMAGES, small_set / "t10k-images-idx3-ubyte.gz")
    shutil.copy(small_set / LABELS, small_set / "t10k-labels-idx1-ubyte.gz")
    result = data.seed(emulator, str(small_set))
    assert len(result.uploaded) == 4
    assert len(raw_keys(emulator)) == 4


@pytest.fixture
def mirror(small_set: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """A local HTTP server standing in for the public mirror, serving fixture files."""
    for split_file, source in (
        ("t10k-images-idx3-ubyte.gz", IMAGES),
        ("t10k-labels-idx1-ubyte.gz", LABELS),
    ):
        shutil.copy(small_set / source, small_set / split_file)
    sums = {
        name: hashlib.sha256((small_set / name).read_bytes()).hexdigest()
        for name in data.MIRROR_SHA256
    }

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(small_set), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", sums, small_set
    server.shutdown()


def test_mirror_download_checks_and_uploads(
    emulator: Settings, mirror: tuple[str, dict[str, str], Path]
) -> None:
    url, sums, _ = mirror
    settings = emulator.model_copy(update={"mnist_mirror_url": url})
    seen: list[str] = []
    result = data.seed(settings, "mirror", lambda name, n, total: seen.append(name), sums)
    assert sorted(result.uploaded) == sorted(data.MIRROR_SHA256)
    assert set(seen) == set(data.MIRROR_SHA256)


def test_mirror_with_tampered_file_uploads_nothing(
    emulator: Settings, mirror: tuple[str, dict[str, str], Path]
) -> None:
    url, sums, folder = mirror
    (folder / LABELS).write_bytes(b"\x1f\x8btampered")
    settings = emulator.model_copy(update={"mnist_mirror_url": url})
    with pytest.raises(data.DataError, match=f"{LABELS}: checksum mismatch after download"):
        data.seed(settings, "mirror", None, sums)
    assert raw_keys(emulator) == []


def test_mirror_real_checksums_refuse_fixture_files(
    emulator: Settings, mirror: tuple[str, dict[str, str], Path]
) -> None:
    url, _, _ = mirror
    settings = emulator.model_copy(update={"mnist_mirror_url": url})
    with pytest.raises(data.DataError, match="checksum mismatch"):
        data.seed(settings, "mirror")
    assert raw_keys(emulator) == []


def test_unreachable_mirror_is_a_clear_error(emulator: Settings) -> None:
    settings = emulator.model_copy(update={"mnist_mirror_url": "http://127.0.0.1:9/"})
    with pytest.raises(data.DataError, match="cannot download"):
        data.seed(settings, "mirror")
    assert raw_keys(emulator) == []
