"""The step cache: a step's results are reused when its arguments and input objects are the same.

The key is the step's arguments with execution variables left symbolic (so the execution id
does not change it) and every S3 input replaced by its objects' names and ETags (so it follows
the content, not the URI). An entry is used only while unexpired and while every object the
step produced is still in S3 with the same ETag. Steps whose results depend on more than
their inputs (the registry) must disable caching in the definition.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from localaws.local_runner import jobs
from localaws.local_runner.expressions import Context, resolve
from localaws.local_runner.graph import PipelineError
from localaws.local_runner.records import StepRecord

CACHE_FOLDER = "pipeline-cache"

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$",
    re.IGNORECASE,
)


def duration_seconds(text: str | None) -> float | None:
    """An ISO 8601 duration (`P30D`, `PT12H`, `T12H`) in seconds; None means no expiry."""
    if not text:
        return None
    normalized = text if text.upper().startswith("P") else f"P{text}"
    match = _DURATION.match(normalized)
    if not match or normalized.upper() in ("P", "PT"):
        raise PipelineError(f"cannot read the cache expiry {text!r} (ISO 8601 duration)")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    return float(
        parts["weeks"] * 604800
        + parts["days"] * 86400
        + parts["hours"] * 3600
        + parts["minutes"] * 60
        + parts["seconds"]
    )


class StepCache:
    """Cache entries of one pipeline, as JSON files under `<state dir>/pipeline-cache/`."""

    def __init__(self, state_dir: Path, pipeline_name: str, s3: Any) -> None:
        """Where the entries live and the S3 client that checks inputs and outputs."""
        self.folder = Path(state_dir) / CACHE_FOLDER / pipeline_name
        self.s3 = s3

    def key(self, spec: dict[str, Any], arguments: dict[str, Any], context: Context) -> str:
        """SHA-256 hex of the arguments (execution variables symbolic) and inputs by content."""
        symbolic = Context(
            parameters=context.parameters,
            execution=context.execution,
            steps=context.steps,
            property_files=context.property_files,
            symbolic_execution=True,
        )
        keyed = resolve(spec.get("Arguments", {}), symbolic)
        for resolved_item, keyed_item in zip(
            arguments.get("ProcessingInputs", []), keyed.get("ProcessingInputs", []), strict=True
        ):
            keyed_item["S3Input"]["S3Uri"] = self._content(resolved_item["S3Input"]["S3Uri"])
        for resolved_item, keyed_item in zip(
            arguments.get("InputDataConfig", []), keyed.get("InputDataConfig", []), strict=True
        ):
            source = keyed_item["DataSource"]["S3DataSource"]
            source["S3Uri"] = self._content(resolved_item["DataSource"]["S3DataSource"]["S3Uri"])
        document = {"Type": spec["Type"], "Arguments": keyed, "Files": spec.get("PropertyFiles")}
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()

    def _content(self, uri: str) -> list[list[str]]:
        _, key = jobs.split_s3_uri(uri)
        objects = jobs.list_prefix(self.s3, uri)
        return sorted([jobs.relative_name(o.key, key), o.etag] for o in objects)

    def _path(self, step_name: str, key: str) -> Path:
        return self.folder / step_name / f"{key}.json"

    def lookup(self, step_name: str, key: str, expiry: float | None) -> dict[str, Any] | None:
        """The stored entry, or None when absent, expired, or an output object changed."""
        path = self._path(step_name, key)
        if not path.is_file():
            return None
        entry: dict[str, Any] = json.loads(path.read_text())
        if expiry is not None and time.time() - float(entry["stored_at"]) > expiry:
            return None
        for item in entry["objects"]:
            try:
                head = self.s3.head_object(Bucket=item["Bucket"], Key=item["Key"])
            except Exception:  # any miss (deleted, emulator reset) means re-run
                return None
            if str(head["ETag"]).strip('"') != item["ETag"]:
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
