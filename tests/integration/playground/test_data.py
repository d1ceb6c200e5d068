"""Raw data into S3: good data lands once; every kind of bad file is refused before upload."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
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


def test_seed_sample_uploads_one_version_once_then_reuses(emulator: Settings) -> None:
    first = data.seed(emulator, "sample")
    assert sorted(first.uploaded) == [IMAGES, LABELS]
    assert first.created
    second = data.seed(emulator, "sample")
    assert second.uploaded == []
    assert not second.created  # the same data is the same version: no new manifest, no event
    assert second.version == first.version
    prefix = f"raw/mnist/{first.version}"
    assert raw_keys(emulator) == sorted(
        [
            f"{prefix}/{IMAGES}",
            f"{prefix}/{LABELS}",
            f"{prefix}/manifest.json",
            "raw/mnist/latest.json",
        ]
    )
    [version] = data.list_versions(emulator)
    assert (version.version, version.source, version.digits, version.latest) == (
        first.version,
        "sample",
        10_000,
        True,
    )
    body = boto3.client("s3").get_object(Bucket=emulator.data_bucket, Key=f"{prefix}/{IMAGES}")
    assert body["Body"].read() == (data.SAMPLE_DIR / IMAGES).read_bytes()


def test_manifest_names_every_object_with_its_sha256_and_is_written_last(
    emulator: Settings, small_set: Path
) -> None:
    result = data.seed(emulator, str(small_set))
    s3 = boto3.client("s3")
    key = f"raw/mnist/{result.version}/manifest.json"
    manifest = json.loads(s3.get_object(Bucket=emulator.data_bucket, Key=key)["Body"].read())
    assert manifest["dataset_version"] == result.version
    assert manifest["source"] == "folder raw"
    assert [o["key"].rsplit("/", 1)[1] for o in manifest["objects"]] == [IMAGES, LABELS]
    for item in manifest["objects"]:
        stored = s3.get_object(Bucket=emulator.data_bucket, Key=item["key"])
        body = stored["Body"].read()
        assert hashlib.sha256(body).hexdigest() == item["sha256"]
        assert len(body) == item["size"]
        # Written before the manifest, never after it.
        head = s3.head_object(Bucket=emulator.data_bucket, Key=key)
        assert stored["LastModified"] <= head["LastModified"]
    latest = s3.get_object(Bucket=emulator.data_bucket, Key="raw/mnist/latest.json")
    assert json.loads(latest["Body"].read()) == manifest


def test_new_data_is_a_new_version_and_the_old_one_stays(
    emulator: Settings, small_set: Path
) -> None:
    first = data.seed(emulator, "sample")
    second = data.seed(emulator, str(small_set))
    assert second.created
    assert second.version != first.version
    versions = data.list_versions(emulator)
    assert [v.version for v in versions] == [first.version, second.version]
    assert [v.latest for v in versions] == [False, True]
    # The first version's objects are untouched.
    s3 = boto3.client("s3")
    old = s3.get_object(Bucket=emulator.data_bucket, Key=f"raw/mnist/{first.version}/{IMAGES}")
    assert old["Body"].read() == (data.SAMPLE_DIR / IMAGES).read_bytes()


def test_four_concurrent_uploads_of_the_same_data_write_one_manifest(
    emulator: Settings, small_set: Path
) -> None:
    results: list[data.SeedResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(data.seed(emulator, str(small_set))))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert sum(r.created for r in results) == 1
    assert len({r.version for r in results}) == 1
    assert len(data.list_versions(emulator)) == 1


def _plain(folder: Path) -> None:
    for name in (IMAGES, LABELS):
        (folder / name.removesuffix(".gz")).write_bytes(
            gzip.decompress((folder / name).read_bytes())
        )
        (folder / name).unlink()


def _dotted(folder: Path, gzipped: bool) -> None:
    for name in (IMAGES, LABELS):
        dotted = name.replace("-idx", ".idx")
        if gzipped:
            (folder / name).rename(folder / dotted)
        else:
            (folder / dotted.removesuffix(".gz")).write_bytes(
                gzip.decompress((folder / name).read_bytes())
            )
            (folder / name).unlink()


@pytest.mark.parametrize(
    ("layout", "arrange"),
    [
        ("plain official names", _plain),
        ("gzip dot names", lambda folder: _dotted(folder, True)),
        ("plain dot names", lambda folder: _dotted(folder, False)),
    ],
)
def test_plain_and_dot_named_files_are_accepted_and_stored_as_official_gzip(
    emulator: Settings, small_set: Path, layout: str, arrange: Callable[[Path], None]
) -> None:
    expected = read_pair(small_set / IMAGES, small_set / LABELS)
    arrange(small_set)
    result = data.seed(emulator, str(small_set))
    assert sorted(result.uploaded) == [IMAGES, LABELS], layout
    s3 = boto3.client("s3")
    stored = {}
    for name in (IMAGES, LABELS):
        path = small_set.parent / f"stored-{name}"
        s3.download_file(emulator.data_bucket, f"raw/mnist/{result.version}/{name}", str(path))
        assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip, whatever the source was
        stored[name] = path
    pair = read_pair(stored[IMAGES], stored[LABELS])
    assert np.array_equal(pair.images, expected.images)
    assert np.array_equal(pair.labels, expected.labels)


@pytest.mark.parametrize(
    ("files", "named"),
    [
        ({"mnist_train.csv": b"label,1x1\n5,0\n"}, "mnist_train.csv (CSV)"),
        ({"train.npz": b"PK"}, "train.npz (NumPy archive)"),
        ({"notes.txt": b"hello"}, "notes.txt"),
        ({}, "the folder is empty"),
    ],
)
def test_a_folder_without_idx_files_is_refused_naming_what_it_holds(
    emulator: Settings, tmp_path: Path, files: dict[str, bytes], named: str
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for name, body in files.items():
        (folder / name).write_bytes(body)
    with pytest.raises(data.DataError) as caught:
        data.seed(emulator, str(folder))
    message = str(caught.value)
    assert "no MNIST IDX training files" in message
    assert named in message
    assert "train-images-idx3-ubyte.gz" in message  # what was expected
    assert "train-images.idx3-ubyte" in message
    assert raw_keys(emulator) == []


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
    assert len(raw_keys(emulator)) == 6  # four files, the manifest and latest.json


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


def test_use_makes_an_earlier_version_the_latest_again_and_refuses_an_unknown_one(
    emulator: Settings, small_set: Path
) -> None:
    first = data.seed(emulator, "sample")
    second = data.seed(emulator, str(small_set))
    assert [v.latest for v in data.list_versions(emulator)] == [False, True]
    keys_before = raw_keys(emulator)

    chosen = data.use_version(emulator, first.version)
    assert (chosen.version, chosen.latest) == (first.version, True)
    assert [(v.version, v.latest) for v in data.list_versions(emulator)] == [
        (first.version, True),
        (second.version, False),
    ]
    assert raw_keys(emulator) == keys_before  # nothing deleted, no manifest written

    with pytest.raises(data.DataError, match=f"no dataset version 'nope'.*{second.version}"):
        data.use_version(emulator, "nope")
    assert [v.latest for v in data.list_versions(emulator)] == [True, False]
