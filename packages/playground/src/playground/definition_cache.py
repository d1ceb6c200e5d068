"""The pipeline definition, built once per code and settings and kept under the state folder.

Building a definition imports the SageMaker SDK and uploads the step code to S3 (tens of
seconds here), so the CLI, the emulator's executions and the benchmarks reuse the JSON while
the step code, the definition module and the settings are unchanged and the code it points at
is still in S3 (the emulator may have been reset since).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3

from mlops_settings import Settings
from pipelines.mnist import pipeline, step_code
from playground.stack import ensure_execution_role

DEFINITIONS_FOLDER = "pipeline-definitions"


def fingerprint(settings: Settings, code_dir: Path = pipeline.CODE_DIR) -> str:
    """SHA-256 hex of what the definition depends on: step code, definition modules, settings."""
    digest = hashlib.sha256()
    files = sorted(p for p in code_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in [Path(pipeline.__file__), Path(step_code.__file__), *files]:
        digest.update(path.relative_to(path.parent.parent).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(settings.model_dump_json().encode())
    return digest.hexdigest()


def code_uris(document: dict[str, Any]) -> list[str]:
    """The fixed S3 URIs a definition's jobs read (step code), as opposed to references."""
    uris: list[str] = []

    def scan(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "S3Uri" and isinstance(item, str):
                    uris.append(item)
                elif key not in ("ProcessingOutputConfig", "OutputDataConfig"):
                    scan(item)
        elif isinstance(value, list):
            for item in value:
                scan(item)

    scan(document.get("Steps", []))
    return uris


def load_definition(
    settings: Settings, code_dir: Path = pipeline.CODE_DIR, rebuild: bool = False
) -> tuple[dict[str, Any], bool]:
    """The definition for the current code and settings, and whether it was built just now.

    Raises:
        RuntimeError: the execution role is missing in AWS (Terraform owns it there).
        FileNotFoundError: a step script is missing from ``code_dir``.
    """
    folder = Path(settings.state_dir) / DEFINITIONS_FOLDER
    path = folder / f"{fingerprint(settings, code_dir)}.json"
    if path.is_file() and not rebuild:
        cached: dict[str, Any] = json.loads(path.read_text())
        s3 = boto3.client("s3", region_name=settings.region)
        if all(_exists(s3, uri) for uri in code_uris(cached)):
            return cached, False
    built = pipeline.definition(settings, ensure_execution_role(settings), code_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(built, indent=1))
    return built, True


def _exists(s3: Any, uri: str) -> bool:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    except Exception:  # a missing bucket means the code must be uploaded again
        return False
    return bool(listing.get("KeyCount"))
