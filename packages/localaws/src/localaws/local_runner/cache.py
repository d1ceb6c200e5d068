"""The step cache, as SageMaker's: a step's results are reused when its key arguments are the same.

SageMaker keys a step on some of its arguments, by step type ("Default cache key attributes
by pipeline step type", SageMaker developer guide): a processing step on ``AppSpecification``,
``Environment`` and ``ProcessingInputs``; a training step on ``AlgorithmSpecification``,
``CheckpointConfig``, ``DebugHookConfig``, ``DebugRuleConfigurations``, ``Environment``,
``HyperParameters`` and ``InputDataConfig``. The values are the resolved ones (parameters,
execution variables and other steps' properties filled in), and the data behind an S3 URI is
never looked at ("Pipelines doesn't check whether the data or code to which the arguments
point has changed"): a pipeline whose data can change under the same URI must put something
that changes with it into those arguments. An entry is used while younger than the step's
``ExpireAfter``. Steps whose results depend on more than their arguments (the registry) must
disable caching in the definition.

One local addition: an entry whose outputs are no longer in S3 (the emulator was reset, the
cache folder was not) is not used; in AWS a step's outputs outlive its cache entry.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from localaws.local_runner.graph import PipelineError
from localaws.local_runner.records import StepRecord

CACHE_FOLDER = "pipeline-cache"

# Source: the developer guide's "Default cache key attributes by pipeline step type".
KEY_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": (
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
}

_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$",
    re.IGNORECASE,
)


def duration_seconds(text: str | None) -> float | None:
    """An ISO 8601 duration (``P30D``, ``30d``, ``T16m``, ``5y``) in seconds; None: no expiry.

    SageMaker's ``ExpireAfter`` takes years, months, weeks, days, hours and minutes, with or
    without the leading ``P`` ("Turn on step caching"); a year counts 365 days, a month 30.
    """
    if not text:
        return None
    normalized = text if text.upper().startswith("P") else f"P{text}"
    match = _DURATION.match(normalized)
    if not match or normalized.upper() in ("P", "PT"):
        raise PipelineError(f"cannot read the cache expiry {text!r} (ISO 8601 duration)")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    return float(
        parts["years"] * 365 * 86400
        + parts["months"] * 30 * 86400
        + parts["weeks"] * 604800
        + parts["days"] * 86400
        + parts["hours"] * 3600
        + parts["minutes"] * 60
        + parts["seconds"]
    )


def cache_key(step_type: str, arguments: dict[str, Any]) -> str:
    """SHA-256 hex of the step type and its resolved key arguments (the others left out).

    Raises:
        PipelineError: a step type SageMaker does not cache here.
    """
    if step_type not in KEY_ATTRIBUTES:
        raise PipelineError(f"steps of type {step_type!r} are not cached")
    keyed = {name: arguments.get(name) for name in KEY_ATTRIBUTES[step_type]}
    document = {"Type": step_type, "Arguments": keyed}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


class StepCache:
    """Cache entries of one pipeline, as JSON files under `<state dir>/pipeline-cache/`."""

    def __init__(self, state_dir: Path, pipeline_name: str, s3: Any) -> None:
        """Where the entries live and the S3 client that checks outputs still exist."""
        self.folder = Path(state_dir) / CACHE_FOLDER / pipeline_name
        self.s3 = s3

    def _path(self, step_name: str, key: str) -> Path:
        return self.folder / step_name / f"{key}.json"

    def lookup(self, step_name: str, key: str, expiry: float | None) -> dict[str, Any] | None:
        """The stored entry, or None when absent, expired, or an output object is gone."""
        path = self._path(step_name, key)
        if not path.is_file():
            return None
        entry: dict[str, Any] = json.loads(path.read_text())
        if expiry is not None and time.time() - float(entry["stored_at"]) > expiry:
            return None
        for item in entry["objects"]:
            try:
                self.s3.head_object(Bucket=item["Bucket"], Key=item["Key"])
            except Exception:  # any miss (deleted, emulator reset) means re-run
                return None
        return entry

    def store(self, step: StepRecord, key: str, objects: list[dict[str, str]]) -> None:
        """Keep a succeeded step's properties and the objects it produced (bucket, key, ETag)."""
        path = self._path(step.name, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "stored_at": time.time(),
            "properties": step.properties,
            "property_files": step.property_files,
            "objects": objects,
        }
        path.write_text(json.dumps(entry, indent=1, default=str))
