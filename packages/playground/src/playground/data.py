"""Raw MNIST into S3: from the offline sample, a public mirror, or a local folder.

Every file is checked before anything is uploaded (gzip readable, IDX magic and size, 28x28
images, labels 0-9, images and labels of a split agree, SHA-256 where known); one bad file
means nothing is uploaded at all.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests
from botocore.exceptions import ClientError

import pipelines.mnist
from mlops_settings import Settings
from pipelines.mnist.code.idx import IdxError, read_pair, sha256_file

SAMPLE_DIR = Path(pipelines.mnist.__file__).parent / "data"
SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "t10k": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# The standard MNIST distribution's files, as every public mirror serves them.
MIRROR_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
SHA256_METADATA = "sha256"

Progress = Callable[[str, int, int | None], None]


class DataError(ValueError):
    """Input data was refused; the message names the file and the problem."""


@dataclass(frozen=True)
class CheckedFile:
    """A raw file that passed every check, ready for upload."""

    path: Path
    name: str
    sha256: str
    count: int


@dataclass(frozen=True)
class SeedResult:
    """What `seed` did with each file."""

    uploaded: list[str]
    unchanged: list[str]
    location: str


def read_sums(path: Path) -> dict[str, str]:
    """A SHA256SUMS file (`<hex>  <name>` per line) as name -> hex."""
    sums: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip().lstrip("*")] = digest.lower()
    return sums


def check_folder(folder: Path, expected_sha256: dict[str, str] | None = None) -> list[CheckedFile]:
    """Check every MNIST file in a folder; raise DataError on the first problem.

    The train pair is required, the t10k pair is optional. Checksums come from
    ``expected_sha256`` or from a SHA256SUMS file in the folder.
    """
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of MNIST IDX files")
    sums_file = folder / "SHA256SUMS"
    sums = expected_sha256 or (read_sums(sums_file) if sums_file.exists() else {})
    checked: list[CheckedFile] = []
    for split, (images_name, labels_name) in SPLITS.items():
        images, labels = folder / images_name, folder / labels_name
        if not images.exists() and not labels.exists() and split != "train":
            continue
        for path in (images, labels):
            if not path.exists():
                raise DataError(f"{path.name}: missing from {folder}")
        digests = {}
        for path in (images, labels):
            digest = sha256_file(path)
            want = sums.get(path.name)
            if want and want != digest:
                raise DataError(
                    f"{path.name}: checksum mismatch (SHA-256 {digest[:16]}…, expected "
                    f"{want[:16]}…); the file is damaged or not the one published"
                )
            digests[path.name] = digest
        try:
            pair = read_pair(images, labels)
        except IdxError as exc:
            raise DataError(str(exc)) from None
        count = int(pair.labels.shape[0])
        checked += [
            CheckedFile(images, images.name, digests[images.name], count),
            CheckedFile(labels, labels.name, digests[labels.name], count),
        ]
    return checked


def _s3(settings: Settings):  # type: ignore[no-untyped-def]
    return boto3.client("s3", region_name=settings.region)


def upload(
    settings: Settings, files: list[CheckedFile], progress: Progress | None = None
) -> SeedResult:
    """Upload checked files under the raw prefix, skipping those already there unchanged."""
    s3 = _s3(settings)
    uploaded, unchanged = [], []
    for item in files:
        key = f"{settings.raw_prefix}/{item.name}"
        try:
            head = s3.head_object(Bucket=settings.data_bucket, Key=key)
            if head.get("Metadata", {}).get(SHA256_METADATA) == item.sha256:
                unchanged.append(item.name)
                continue
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        size = item.path.stat().st_size
        if progress:
            progress(item.name, 0, size)
        s3.upload_file(
            str(item.path),
            settings.data_bucket,
            key,
            ExtraArgs={"Metadata": {SHA256_METADATA: item.sha256, "count": str(item.count)}},
            Callback=(lambda n, name=item.name: progress(name, n, None)) if progress else None,
        )
        uploaded.append(item.name)
    return SeedResult(uploaded, unchanged, f"s3://{settings.data_bucket}/{settings.raw_prefix}/")


def download_mirror(
    base_url: str,
    target: Path,
    progress: Progress | None = None,
    expected_sha256: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the four MNIST files from a mirror into ``target``, checking each SHA-256."""
    expected = expected_sha256 or MIRROR_SHA256
    target.mkdir(parents=True, exist_ok=True)
    base = base_url if base_url.endswith("/") else base_url + "/"
    for name, want in expected.items():
        url = base + name
        try:
            response = requests.get(url, stream=True, timeout=timeout)
        except requests.RequestException as exc:
            raise DataError(
                f"{name}: cannot download from {url} ({exc.__class__.__name__})"
            ) from None
        with response:
            if response.status_code != 200:
                raise DataError(
                    f"{name}: the mirror answered HTTP {response.status_code} for {url}"
                )
            total = int(response.headers.get("Content-Length") or 0) or None
            if progress:
                progress(name, 0, total)
            digest = hashlib.sha256()
            with (target / name).open("wb") as out:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    out.write(chunk)
                    digest.update(chunk)
                    if progress:
                        progress(name, len(chunk), None)
        if digest.hexdigest() != want:
            raise DataError(
                f"{name}: checksum mismatch after download from {url} (SHA-256 "
                f"{digest.hexdigest()[:16]}…, expected {want[:16]}…); nothing was uploaded"
            )
    return target


def seed(
    settings: Settings,
    source: str,
    progress: Progress | None = None,
    mirror_sha256: dict[str, str] | None = None,
) -> SeedResult:
    """Check, then upload, raw MNIST from ``sample``, ``mirror`` or a folder path."""
    if source == "sample":
        return upload(settings, check_folder(SAMPLE_DIR), progress)
    if source == "mirror":
        sums = mirror_sha256 or MIRROR_SHA256
        with tempfile.TemporaryDirectory(prefix="mnist-mirror-") as tmp:
            folder = download_mirror(settings.mnist_mirror_url, Path(tmp), progress, sums)
            return upload(settings, check_folder(folder, sums), progress)
    return upload(settings, check_folder(Path(source)), progress)


@dataclass(frozen=True)
class RawObject:
    """One object under the raw prefix."""

    key: str
    size: int
    sha256: str | None
    count: int | None
    last_modified: str


def list_raw(settings: Settings) -> list[RawObject]:
    """Objects under the raw-data prefix, with their recorded checksum and digit count."""
    s3 = _s3(settings)
    objects: list[RawObject] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.data_bucket, Prefix=f"{settings.raw_prefix}/"):
        for obj in page.get("Contents", []):
            meta = s3.head_object(Bucket=settings.data_bucket, Key=obj["Key"]).get("Metadata", {})
            count = meta.get("count")
            objects.append(
                RawObject(
                    key=obj["Key"],
                    size=int(obj["Size"]),
                    sha256=meta.get(SHA256_METADATA),
                    count=int(count) if count and count.isdigit() else None,
                    last_modified=obj["LastModified"].isoformat(timespec="seconds"),
                )
            )
    return objects
