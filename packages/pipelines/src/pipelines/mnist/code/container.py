"""SageMaker container conventions shared by the step scripts.

SageMaker mounts every input and output under ``/opt/ml``. The local runner (and the tests)
run the same scripts outside a container, so every default path is built from the
``OPT_ML`` environment variable when it is set: ``OPT_ML=/tmp/run/opt/ml`` turns
``/opt/ml/processing/input/raw`` into ``/tmp/run/opt/ml/processing/input/raw``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from idx import sha256_file  # noqa: F401 - re-exported: one implementation for every step

OPT_ML_ENV = "OPT_ML"
DEFAULT_OPT_ML = "/opt/ml"


def opt_ml(relative: str) -> Path:
    """A path under the container's /opt/ml (or under $OPT_ML when set)."""
    return Path(os.environ.get(OPT_ML_ENV) or DEFAULT_OPT_ML) / relative


def failure_file() -> Path:
    """SageMaker shows this file's text as the job's FailureReason."""
    return opt_ml("output/failure")


def parse_bool(value: str | bool) -> bool:
    """A boolean hyperparameter as SageMaker passes it (``true``, ``True``, ``1``...)."""
    if isinstance(value, bool):
        return value
    text = value.strip().strip('"').lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    # argparse shows an ArgumentTypeError's own message (a ValueError gets a generic one).
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def sha256_bytes(data: bytes) -> str:
    """SHA-256 hex digest of some bytes."""
    return hashlib.sha256(data).hexdigest()


def write_json(path: Path, document: Any) -> None:
    """Write indented JSON, creating the parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")


def fail(message: str, path: Path | None = None) -> None:
    """Report a step failure the SageMaker way: stderr and the failure-reason file."""
    print(message, file=sys.stderr)
    target = path or failure_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # SageMaker truncates FailureReason to 1024 characters; keep the whole text locally.
        target.write_text(message + "\n")
    except OSError as exc:
        print(f"could not write the failure file {target}: {exc}", file=sys.stderr)
