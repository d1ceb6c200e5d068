"""A dataset version's raw objects, fetched exactly as its manifest names them.

The pipeline's input is a dataset manifest (contracts/dataset-manifest.md: a JSON object written
last by `playground data seed`): ``dataset_version``, ``objects`` (``key``, ``sha256``, ``size``
and, with S3 versioning, ``version_id``) and the ``bucket``. SageMaker downloads the manifest
into the step's input folder; this module downloads the objects it names (the exact versions
when version ids are given) and refuses any whose SHA-256 differs, so a model's lineage names
the bytes it was trained on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


class DatasetError(ValueError):
    """The manifest is missing or unreadable, or an object is not the one it names."""


def find_manifest(folder: Path) -> Path:
    """The one JSON file in a step's dataset input folder."""
    found = sorted(p for p in folder.glob("*.json") if p.is_file()) if folder.is_dir() else []
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "nothing"
        raise DatasetError(f"expected one dataset manifest (JSON) in {folder}, found {names}")
    return found[0]


def read_manifest(path: Path) -> tuple[dict[str, Any], str]:
    """The manifest and the SHA-256 of its bytes."""
    body = path.read_bytes()
    try:
        manifest = json.loads(body)
        missing = [k for k in ("dataset_version", "objects", "bucket") if k not in manifest]
    except (ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path.name}: not a dataset manifest ({exc})") from None
    if missing:
        raise DatasetError(f"{path.name}: not a dataset manifest (no {', '.join(missing)})")
    return manifest, hashlib.sha256(body).hexdigest()


def lineage(manifest: dict[str, Any], manifest_sha256: str) -> dict[str, Any]:
    """What a model was trained on: the version, the manifest's hash and every raw object."""
    return {
        "dataset_version": manifest["dataset_version"],
        "manifest_sha256": manifest_sha256,
        "bucket": manifest["bucket"],
        "objects": [
            {k: o[k] for k in ("key", "sha256", "size", "version_id") if k in o}
            for o in manifest["objects"]
        ],
    }


def fetch(manifest: dict[str, Any], target: Path, s3: Any = None) -> list[Path]:
    """Download every object the manifest names into ``target`` (by file name), checked."""
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in manifest["objects"]:
        key = str(item["key"])
        extra = {"VersionId": item["version_id"]} if item.get("version_id") else {}
        body = s3.get_object(Bucket=manifest["bucket"], Key=key, **extra)["Body"].read()
        digest = hashlib.sha256(body).hexdigest()
        if digest != item["sha256"]:
            raise DatasetError(
                f"s3://{manifest['bucket']}/{key}: SHA-256 {digest[:16]}…, but the manifest of "
                f"dataset version {manifest['dataset_version']} says {str(item['sha256'])[:16]}…"
            )
        path = target / key.rsplit("/", 1)[-1]
        path.write_bytes(body)
        paths.append(path)
    return paths
