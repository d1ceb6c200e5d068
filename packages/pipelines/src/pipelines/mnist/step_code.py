"""Step code in S3 at content-addressed prefixes, so one commit gives one definition.

SageMaker's step cache keys a processing step on its ``ProcessingInputs`` and
``AppSpecification`` and a training step on its ``InputDataConfig`` (AWS, "Default cache key
attributes by pipeline step type"), and the code is among those inputs. The SDK uploads the
code to prefixes named after the time of the build (``mnist-prepare-2026-...``,
``mnist-train-<timestamp>/input/sm_drivers``) in a tarball that carries file times, and with
``__pycache__`` folders: every build is a new definition and every deploy empties the cache.

Here the code is a reproducible bundle (sorted members, no bytecode, times, owners or modes
of this machine; gzip without a timestamp) uploaded to ``<code prefix>/<sha256>/``, and what
the SDK still uploads itself (its training drivers, ``install_requirements.py``) goes to a
staging prefix first and is then copied to ``<code prefix>/<sha256 of its files>/``
(:func:`pin_staged_code`), the definition pointing at the copy. The staging prefix is
throwaway (a lifecycle rule expires it after a day); code prefixes expire some time after
their last upload (``terraform/s3.tf``), and every build uploads its code again, so a
deployed definition's code stays while older code goes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

BUNDLE_NAME = "sourcedir.tar.gz"
# Bytecode is written by whichever Python imported the module last: never shipped.
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def shipped(relative: str) -> bool:
    """Whether a file (path relative to the code folder, POSIX) belongs in the step code."""
    path = PurePosixPath(relative)
    return not (set(path.parts) & _SKIPPED_PARTS) and not path.name.endswith(_SKIPPED_SUFFIXES)


def source_files(code_dir: Path) -> list[tuple[str, bytes]]:
    """The code folder's shipped files as (relative POSIX path, bytes), sorted by path."""
    files = []
    for path in sorted(code_dir.rglob("*")):
        relative = path.relative_to(code_dir).as_posix()
        if path.is_file() and shipped(relative):
            files.append((relative, path.read_bytes()))
    return files


def bundle(code_dir: Path) -> bytes:
    """A gzipped tar of the shipped files that depends on their names and bytes only.

    The same files give the same bytes on any machine and at any time: members sorted, mode
    0644, owner 0/0 without names, modification time 0; the gzip header has no time or name.
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, body in source_files(code_dir):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(body), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(body))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0) as zipped:
        zipped.write(raw.getvalue())
    return packed.getvalue()


def digest(files: list[tuple[str, bytes]]) -> str:
    """SHA-256 hex of a set of files: their sorted names and each file's SHA-256."""
    listing = [[name, hashlib.sha256(body).hexdigest()] for name, body in sorted(files)]
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def upload_bundle(s3: Any, code_dir: Path, bucket: str, code_prefix: str) -> str:
    """Upload the code bundle to ``s3://bucket/<code prefix>/<sha256>/sourcedir.tar.gz``.

    Uploaded on every build, also when present: the upload renews the object's age, which the
    code prefix's lifecycle rule counts from. Returns the bundle's S3 URI.
    """
    body = bundle(code_dir)
    key = f"{code_prefix.strip('/')}/{hashlib.sha256(body).hexdigest()}/{BUNDLE_NAME}"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/gzip")
    return f"s3://{bucket}/{key}"


def pin_staged_code(
    s3: Any, definition: dict[str, Any], bucket: str, staging_prefix: str, code_prefix: str
) -> dict[str, Any]:
    """The definition with every URI under the staging prefix moved to a content address.

    Each such URI (an object, or a prefix of objects) is copied, bytecode left out, to
    ``<code prefix>/<sha256 of its files>/`` keeping the names below it, and the definition
    points at the copy. URIs elsewhere are left alone.

    Raises:
        ValueError: a staged URI names no objects.
    """
    staging = f"s3://{bucket}/{staging_prefix.strip('/')}/"
    pinned: dict[str, str] = {}

    def pin(uri: str) -> str:
        if uri not in pinned:
            pinned[uri] = _copy(s3, uri, bucket, code_prefix)
        return pinned[uri]

    def walk(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(staging):
            return pin(value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return dict(walk(definition))


def _copy(s3: Any, uri: str, bucket: str, code_prefix: str) -> str:
    key = uri[len(f"s3://{bucket}/") :]
    objects = list(_objects(s3, bucket, key))
    if not objects:
        raise ValueError(f"the SDK uploaded nothing to {uri}")
    exact = len(objects) == 1 and objects[0] == key
    base = key.rsplit("/", 1)[0] if exact else key.rstrip("/")
    files = []
    for name in objects:
        relative = name[len(base) :].lstrip("/")
        if shipped(relative):
            body = s3.get_object(Bucket=bucket, Key=name)["Body"].read()
            files.append((relative, body))
    target = f"{code_prefix.strip('/')}/{digest(files)}"
    for relative, body in files:
        s3.put_object(Bucket=bucket, Key=f"{target}/{relative}", Body=body)
    if exact:
        return f"s3://{bucket}/{target}/{files[0][0]}"
    return f"s3://{bucket}/{target}" + ("/" if key.endswith("/") else "")


def _objects(s3: Any, bucket: str, key: str) -> Iterator[str]:
    folder = key if key.endswith("/") else key + "/"
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=key):
        for item in page.get("Contents", []):
            name = str(item["Key"])
            if name == key or name.startswith(folder):
                yield name
