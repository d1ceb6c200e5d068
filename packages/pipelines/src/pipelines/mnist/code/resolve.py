"""Processing job: name the dataset version a run trains on, so the steps after it are keyed on it.

The pipeline's input parameter names a manifest, by default ``<raw prefix>/latest.json`` (a
copy of the newest version's manifest), because an EventBridge rule can pass only fixed
parameter values. SageMaker keys its step cache on a step's arguments, never on the data
behind an S3 URI, so a step reading ``latest.json`` would be a cache hit for every new
version. This step is never cached: it reads the manifest it was given and writes
``dataset.json`` (a property file) with the version and the version's own manifest key,
``<raw prefix>/<dataset_version>/manifest.json``; prepare, evaluate and register read that
key, so a new version changes their arguments and an unchanged one keeps them.

Output ``/opt/ml/processing/output/dataset/dataset.json``::

    {"dataset_version": "...", "manifest_key": "raw/mnist/<version>/manifest.json",
     "manifest_sha256": "..."}

Exit 1 when the manifest is missing, unreadable or names a version that cannot be a key.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from container import fail, opt_ml, write_json
from dataset import DatasetError, find_manifest, read_manifest

MANIFEST_NAME = "manifest.json"
OUTPUT_NAME = "dataset.json"
# A version is one S3 key segment (`playground data seed` writes 16 hex characters).
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ResolveError(ValueError):
    """The manifest names no usable dataset version."""


def resolve(manifest_dir: Path, raw_prefix: str) -> dict[str, str]:
    """The dataset version the manifest in ``manifest_dir`` names, and its manifest's key.

    Raises:
        DatasetError: no single readable manifest in the folder.
        ResolveError: its ``dataset_version`` is not one key segment.
    """
    manifest, manifest_sha256 = read_manifest(find_manifest(manifest_dir))
    version = str(manifest["dataset_version"])
    if not _VERSION.fullmatch(version):
        raise ResolveError(f"dataset_version {version!r} cannot name an S3 prefix")
    return {
        "dataset_version": version,
        "manifest_key": f"{raw_prefix.strip('/')}/{version}/{MANIFEST_NAME}",
        "manifest_sha256": manifest_sha256,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments (paths default to the container's)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-prefix", required=True, help="key prefix of the dataset versions")
    parser.add_argument("--dataset-dir", default=str(opt_ml("processing/input/dataset")))
    parser.add_argument("--output-dir", default=str(opt_ml("processing/output/dataset")))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Write dataset.json; 1 on a bad manifest."""
    args = parse_args(argv)
    try:
        resolved = resolve(Path(args.dataset_dir), args.raw_prefix)
    except (DatasetError, ResolveError) as exc:
        fail(f"cannot resolve the dataset version: {exc}")
        return 1
    write_json(Path(args.output_dir) / OUTPUT_NAME, resolved)
    print(f"dataset version {resolved['dataset_version']}: {resolved['manifest_key']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
