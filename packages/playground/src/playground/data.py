"""Raw MNIST into S3 as dataset versions: from the offline sample, a public mirror, or a folder.

Every file is checked before anything is uploaded (gzip readable, IDX magic and size, 28x28
images, labels 0-9, images and labels of a split agree, SHA-256 where known); one bad file
means nothing is uploaded at all.

A dataset version is an immutable prefix, ``<raw prefix>/<version id>/``, holding the IDX files
(always gzip, under the official names) and, written last, ``manifest.json``: a JSON object
naming every object with its SHA-256, size and S3 version id (contracts/dataset-manifest.md).
The version id is derived from the files' SHA-256 digests, so uploading the same data again is
the same version and changes nothing. The manifest is written with ``If-None-Match: *``: of
several uploads racing with the same data exactly one writes it, so one dataset change is one
``Object Created`` event for the manifest, the event that starts the pipeline. ``<raw
prefix>/latest.json``, a copy of the newest manifest and the input of every triggered run, is
written just *before* the manifest (an EventBridge rule cannot hand the manifest's key to the
pipeline), so the run the event starts reads this version; it is never a trigger itself.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import ClientError

import pipelines.mnist
from mlops_settings import Settings
from pipelines.mnist.code.idx import IdxError, read_pair, sha256_file
from playground import people

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
MANIFEST_NAME = "manifest.json"
LATEST_NAME = "latest.json"
MANIFEST_FORMAT = "mnist-dataset/1"
# The feedback shard of a dataset version (contracts/feedback.md), next to the MNIST files.
FEEDBACK_IMAGES = "feedback-images-idx3-ubyte.gz"
FEEDBACK_LABELS = "feedback-labels-idx1-ubyte.gz"
ACCEPTED_NAMES = (
    "train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz (t10k-* optional); "
    "also accepted un-gzipped (train-images-idx3-ubyte) or with dot names "
    "(train-images.idx3-ubyte[.gz])"
)
# What a file that is not IDX most likely is, by its name, to say so in the refusal.
_KINDS = {
    ".csv": "CSV",
    ".tsv": "TSV",
    ".npz": "NumPy archive",
    ".npy": "NumPy array",
    ".parquet": "Parquet",
    ".pkl": "pickle",
    ".png": "PNG image",
    ".jpg": "JPEG image",
    ".zip": "zip archive",
    ".tar": "tar archive",
    ".json": "JSON",
}

Progress = Callable[[str, int, int | None], None]


class DataError(ValueError):
    """Input data was refused; the message names the file and the problem."""


@dataclass(frozen=True)
class CheckedFile:
    """A raw file that passed every check, ready for upload.

    ``name`` is the official gzip name it is stored under; ``path`` the (gzip) file to
    upload, which is a compressed copy when the source was a plain IDX file; ``sha256`` the
    digest of the bytes uploaded; ``source`` the file's name in the folder it came from.
    ``copy_from`` (an S3 key in the data bucket, with ``copy_version_id`` when versioned)
    makes the upload a server-side copy of an object already checked, such as the MNIST files
    of the previous version in a feedback review (`feedback.py`); ``path`` is then unused.
    """

    path: Path
    name: str
    sha256: str
    count: int
    source: str = ""
    copy_from: str = ""
    copy_version_id: str = ""


@dataclass(frozen=True)
class SeedResult:
    """What `seed` did: the dataset version, and which files it uploaded or found there."""

    uploaded: list[str]
    unchanged: list[str]
    location: str
    version: str = ""
    created: bool = False  # True when this call wrote the version's manifest (one event)


def read_sums(path: Path) -> dict[str, str]:
    """A SHA256SUMS file (`<hex>  <name>` per line) as name -> hex."""
    sums: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip().lstrip("*")] = digest.lower()
    return sums


def candidate_names(official: str) -> list[str]:
    """Names a file goes by: ``train-images-idx3-ubyte.gz`` and its plain and dot variants."""
    stem = official.removesuffix(".gz")
    dotted = stem.replace("-idx", ".idx")  # train-images.idx3-ubyte, as common unpackers write
    return [f"{stem}.gz", stem, f"{dotted}.gz", dotted]


def find_raw_file(folder: Path, official: str) -> Path | None:
    """The file in ``folder`` standing for ``official``, under any accepted name, or None."""
    for name in candidate_names(official):
        if (folder / name).is_file():
            return folder / name
    return None


def _describe(path: Path) -> str:
    kind = _KINDS.get(path.suffix.lower()) or _KINDS.get(
        "".join(path.suffixes[-2:-1]).lower() if path.suffix.lower() == ".gz" else ""
    )
    return f"{path.name} ({kind})" if kind else path.name


def _found(folder: Path) -> str:
    names = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "SHA256SUMS")
    if not names:
        return "the folder is empty"
    shown = ", ".join(_describe(p) for p in names[:8])
    more = f" and {len(names) - 8} more" if len(names) > 8 else ""
    return f"found {shown}{more}"


def _gzip_copy(source: Path, target_dir: Path, name: str) -> Path:
    """A byte-for-byte reproducible gzip of ``source`` (no timestamp, no file name)."""
    target = target_dir / name
    target.write_bytes(gzip.compress(source.read_bytes(), compresslevel=9, mtime=0))
    return target


def check_folder(
    folder: Path,
    expected_sha256: dict[str, str] | None = None,
    work_dir: Path | None = None,
) -> list[CheckedFile]:
    """Check every MNIST file in a folder; raise DataError on the first problem.

    The train pair is required, the t10k pair is optional; each file may be gzip or plain,
    under the official name or the dot name. Checksums come from ``expected_sha256`` or from
    a SHA256SUMS file in the folder and apply to the files as found. Plain files are
    compressed into ``work_dir`` (required when there are any) for upload.
    """
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of MNIST IDX files")
    sums_file = folder / "SHA256SUMS"
    sums = expected_sha256 or (read_sums(sums_file) if sums_file.exists() else {})
    checked: list[CheckedFile] = []
    for split, (images_name, labels_name) in SPLITS.items():
        images, labels = find_raw_file(folder, images_name), find_raw_file(folder, labels_name)
        if images is None and labels is None:
            if split != "train":
                continue
            raise DataError(
                f"{folder}: no MNIST IDX training files; {_found(folder)}. "
                f"Expected {ACCEPTED_NAMES}"
            )
        if images is None or labels is None:
            name = images_name if images is None else labels_name
            raise DataError(
                f"{name}: missing from {folder} ({_found(folder)}); expected {ACCEPTED_NAMES}"
            )
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
        for official, path in ((images_name, images), (labels_name, labels)):
            upload_path, digest = path, digests[path.name]
            if path.read_bytes()[:2] != b"\x1f\x8b":
                if work_dir is None:
                    raise DataError(f"{path.name}: plain IDX file needs a work folder to compress")
                upload_path = _gzip_copy(path, work_dir, official)
                digest = sha256_file(upload_path)
            checked.append(CheckedFile(upload_path, official, digest, count, path.name))
    return checked


def _s3(settings: Settings):  # type: ignore[no-untyped-def]
    # As the person of the command (`playground.people`): the deployer in `data ...`, the
    # reviewer when `feedback review` writes a feedback version.
    return people.client("s3", settings)


def version_id(files: list[CheckedFile]) -> str:
    """The dataset version's id: 16 hex of SHA-256 over the sorted `name sha256` lines."""
    lines = "".join(f"{f.name} {f.sha256}\n" for f in sorted(files, key=lambda f: f.name))
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except ClientError as exc:
        if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def upload(
    settings: Settings,
    files: list[CheckedFile],
    progress: Progress | None = None,
    source: str = "",
    extra: dict[str, Any] | None = None,
) -> SeedResult:
    """Upload checked files as a dataset version: data files first, the manifest last.

    ``extra`` adds members to the manifest (a feedback review's ``feedback``); the version
    id still follows from the files alone. Returns which files were uploaded and which were
    already there; ``created`` tells whether this call wrote the manifest (and so started
    the one pipeline execution).
    """
    s3 = _s3(settings)
    bucket = settings.data_bucket
    version = version_id(files)
    prefix = f"{settings.raw_prefix}/{version}"
    location = f"s3://{bucket}/{prefix}/"
    manifest_key = f"{prefix}/{MANIFEST_NAME}"
    existing = _head(s3, bucket, manifest_key)
    if existing is not None:
        _point_latest(s3, settings, manifest_key)
        return SeedResult([], [f.name for f in files], location, version, created=False)
    uploaded, unchanged, objects = [], [], []
    for item in files:
        key = f"{prefix}/{item.name}"
        head = _head(s3, bucket, key)
        if item.copy_from and (
            head is None or head.get("Metadata", {}).get(SHA256_METADATA) != item.sha256
        ):
            source_object = {"Bucket": bucket, "Key": item.copy_from}
            if item.copy_version_id:
                source_object["VersionId"] = item.copy_version_id
            # Metadata (sha256, count) travels with the copy (MetadataDirective COPY).
            s3.copy_object(Bucket=bucket, Key=key, CopySource=source_object)
            uploaded.append(item.name)
            head = s3.head_object(Bucket=bucket, Key=key)
            if head.get("Metadata", {}).get(SHA256_METADATA) != item.sha256:
                raise DataError(f"{item.copy_from}: its copy does not carry SHA-256 {item.sha256}")
        elif head is None or head.get("Metadata", {}).get(SHA256_METADATA) != item.sha256:
            size = item.path.stat().st_size
            if progress:
                progress(item.name, 0, size)
            s3.upload_file(
                str(item.path),
                bucket,
                key,
                ExtraArgs={"Metadata": {SHA256_METADATA: item.sha256, "count": str(item.count)}},
                Callback=(lambda n, name=item.name: progress(name, n, None)) if progress else None,
            )
            uploaded.append(item.name)
            head = s3.head_object(Bucket=bucket, Key=key)
        else:
            unchanged.append(item.name)
        entry: dict[str, Any] = {
            "key": key,
            "sha256": item.sha256,
            "size": int(head["ContentLength"]),
            "count": item.count,
        }
        if head.get("VersionId") and head["VersionId"] != "null":
            entry["version_id"] = head["VersionId"]
        if item.source and item.source != item.name:
            entry["source_name"] = item.source
        objects.append(entry)
    manifest = {
        "format": MANIFEST_FORMAT,
        "dataset_version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "source": source,
        "bucket": bucket,
        "prefix": f"{prefix}/",
        "objects": objects,
        **(extra or {}),
    }
    body = (json.dumps(manifest, indent=2) + "\n").encode()
    # The run this manifest's event starts reads latest.json: point it here first.
    _write_latest(s3, settings, body)
    try:
        # Write-once: of uploads racing with the same data, one writes the manifest.
        s3.put_object(
            Bucket=bucket,
            Key=manifest_key,
            Body=body,
            ContentType="application/json",
            IfNoneMatch="*",
            Metadata={SHA256_METADATA: hashlib.sha256(body).hexdigest()},
        )
        created = True
    except ClientError as exc:
        if _error_code(exc) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
            raise
        created = False
    _point_latest(s3, settings, manifest_key)
    return SeedResult(uploaded, unchanged, location, version, created)


def _point_latest(s3: Any, settings: Settings, manifest_key: str) -> None:
    """Make ``latest.json`` a copy of the stored manifest (skipped when it already is)."""
    manifest = s3.get_object(Bucket=settings.data_bucket, Key=manifest_key)
    _write_latest(s3, settings, manifest["Body"].read())


def _write_latest(s3: Any, settings: Settings, body: bytes) -> None:
    """Make ``latest.json`` hold ``body`` (skipped when it already does)."""
    latest_key = f"{settings.raw_prefix}/{LATEST_NAME}"
    current = _head(s3, settings.data_bucket, latest_key)
    digest = hashlib.sha256(body).hexdigest()
    if current is not None and current.get("Metadata", {}).get(SHA256_METADATA) == digest:
        return
    s3.put_object(
        Bucket=settings.data_bucket,
        Key=latest_key,
        Body=body,
        ContentType="application/json",
        Metadata={SHA256_METADATA: digest},
    )


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
    """Check, then upload as a dataset version, raw MNIST from ``sample``, ``mirror`` or a path."""
    with tempfile.TemporaryDirectory(prefix="mnist-raw-") as tmp:
        work = Path(tmp)
        if source == "sample":
            files, label = check_folder(SAMPLE_DIR, None, work), "sample"
        elif source == "mirror":
            sums = mirror_sha256 or MIRROR_SHA256
            download = work / "download"
            folder = download_mirror(settings.mnist_mirror_url, download, progress, sums)
            files, label = check_folder(folder, sums, work), f"mirror {settings.mnist_mirror_url}"
        else:
            folder = Path(source)
            files, label = check_folder(folder, None, work), f"folder {folder.name}"
        shard, extra = carried_feedback(settings)
        return upload(settings, files + shard, progress, label, extra)


def carried_feedback(settings: Settings) -> tuple[list[CheckedFile], dict[str, Any]]:
    """The latest version's feedback shard, to carry into a version of new MNIST files.

    People's reviewed corrections stay in training when the MNIST files change
    (contracts/feedback.md, "Accepted"): returns the shard's two files as server-side copies
    and the manifest's ``feedback`` member (``ids`` unchanged, ``accepted`` empty,
    ``carried_from`` the version they came from), or ``([], {})`` when there is no dataset
    version or the latest has no shard.
    """
    s3 = _s3(settings)
    try:
        body = s3.get_object(
            Bucket=settings.data_bucket, Key=f"{settings.raw_prefix}/{LATEST_NAME}"
        )["Body"].read()
    except ClientError as exc:
        if _error_code(exc) in ("NoSuchKey", "404", "NoSuchBucket"):
            return [], {}
        raise
    manifest = json.loads(body)
    shard = [
        item
        for item in manifest.get("objects", [])
        if str(item["key"]).rsplit("/", 1)[-1] in (FEEDBACK_IMAGES, FEEDBACK_LABELS)
    ]
    if not shard:
        return [], {}
    files = [
        CheckedFile(
            path=Path(str(item["key"]).rsplit("/", 1)[-1]),
            name=str(item["key"]).rsplit("/", 1)[-1],
            sha256=str(item["sha256"]),
            count=int(item.get("count", 0)),
            copy_from=str(item["key"]),
            copy_version_id=str(item.get("version_id", "")),
        )
        for item in shard
    ]
    feedback = manifest.get("feedback") or {}
    carried = {
        "ids": list(feedback.get("ids", [])),
        "accepted": [],
        "carried_from": str(manifest.get("dataset_version", "")),
    }
    return files, {"feedback": carried}


@dataclass(frozen=True)
class DatasetVersion:
    """One dataset version, as its manifest describes it."""

    version: str
    created_at: str
    source: str
    manifest_key: str
    manifest_sha256: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    latest: bool = False
    # A feedback review's record in the manifest (contracts/feedback.md), {} for other versions.
    feedback: dict[str, Any] = field(default_factory=dict)

    @property
    def digits(self) -> int:
        """Images in the version (each split counted once, by its labels file)."""
        return sum(int(o.get("count", 0)) for o in self.objects if "labels" in str(o["key"]))

    @property
    def feedback_count(self) -> int:
        """People's reviewed corrections in the version's feedback shard (0 without one)."""
        return sum(
            int(o.get("count", 0)) for o in self.objects if str(o["key"]).endswith(FEEDBACK_LABELS)
        )

    @property
    def size(self) -> int:
        """Bytes of the data objects."""
        return sum(int(o.get("size", 0)) for o in self.objects)


def parse_manifest(body: bytes, key: str) -> DatasetVersion:
    """A manifest's bytes as a DatasetVersion; DataError when it is not one."""
    try:
        manifest = json.loads(body)
        return DatasetVersion(
            version=str(manifest["dataset_version"]),
            created_at=str(manifest.get("created_at", "")),
            source=str(manifest.get("source", "")),
            manifest_key=key,
            manifest_sha256=hashlib.sha256(body).hexdigest(),
            objects=list(manifest["objects"]),
            feedback=dict(manifest.get("feedback") or {}),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{key}: not a dataset manifest ({exc})") from None


def list_versions(settings: Settings) -> list[DatasetVersion]:
    """Every dataset version under the raw prefix, oldest first; the newest is `latest`."""
    s3 = _s3(settings)
    bucket, root = settings.data_bucket, f"{settings.raw_prefix}/"
    versions: list[DatasetVersion] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=root):
        for obj in page.get("Contents", []):
            key = str(obj["Key"])
            relative = key[len(root) :]
            if relative.count("/") == 1 and relative.endswith(f"/{MANIFEST_NAME}"):
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                versions.append(parse_manifest(body, key))
    latest = _head(s3, bucket, f"{root}{LATEST_NAME}")
    latest_sha = (latest or {}).get("Metadata", {}).get(SHA256_METADATA)
    versions.sort(key=lambda v: (v.created_at, v.version))
    return [
        DatasetVersion(**{**v.__dict__, "latest": v.manifest_sha256 == latest_sha})
        for v in versions
    ]


def use_version(settings: Settings, version: str) -> DatasetVersion:
    """Make dataset version ``version`` the latest again: the input of the next run.

    For stepping back from a version that failed the pipeline's data checks. Nothing is
    deleted and no manifest is written, so nothing is triggered; the next run (``make up``,
    ``playground pipeline run``, the schedule) trains on this version.

    Raises:
        DataError: no such version under the raw prefix (the message lists those there are).
    """
    versions = {v.version: v for v in list_versions(settings)}
    if version not in versions:
        known = ", ".join(versions) or "none"
        raise DataError(f"no dataset version {version!r} (versions: {known})")
    _point_latest(_s3(settings), settings, versions[version].manifest_key)
    return DatasetVersion(**{**versions[version].__dict__, "latest": True})


def dataset_exists(settings: Settings) -> bool:
    """Whether any dataset version is in S3 (``make up`` seeds the sample only when not)."""
    s3 = _s3(settings)
    try:
        return _head(s3, settings.data_bucket, f"{settings.raw_prefix}/{LATEST_NAME}") is not None
    except ClientError:
        return False


def latest_manifest_uri(settings: Settings) -> str:
    """S3 URI of the copy of the newest manifest: the pipeline's default input."""
    return f"s3://{settings.data_bucket}/{settings.raw_prefix}/{LATEST_NAME}"
