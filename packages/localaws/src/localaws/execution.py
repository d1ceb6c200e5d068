"""The record of one emulated pipeline execution, and the one status enumeration.

The emulator (`localaws.emulated_pipelines`) writes an `ExecutionRecord` when an execution
starts; the worker process (`localaws.pipeline_worker`) updates it as steps run; Describe/List
calls and the CLI read it. It crosses that process boundary as JSON (``<id>.json`` in the
executions folder), written atomically, read with unknown fields ignored.

`Status` holds SageMaker's values (botocore's `PipelineExecutionStatus` and `StepStatus`
enumerations) plus the local runner's `NotExecuted` for steps that never ran; it is a `str`,
so it is written to JSON and compared with SageMaker's answers as the plain value.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path


class Status(StrEnum):
    """An execution's or a step's status, spelled as SageMaker spells it."""

    STARTING = "Starting"
    EXECUTING = "Executing"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    FAILED = "Failed"
    SUCCEEDED = "Succeeded"
    NOT_EXECUTED = "NotExecuted"  # the local runner's: a step that never ran

    @property
    def finished(self) -> bool:
        """Whether nothing more will happen (Stopped, Failed, Succeeded)."""
        return self in (Status.STOPPED, Status.FAILED, Status.SUCCEEDED)

    @classmethod
    def parse(cls, value: object) -> Status:
        """The status named by `value` (as SageMaker or a record spells it).

        Raises:
            ValueError: not one of the statuses.
        """
        return cls(str(value))


def now() -> str:
    """The current time as records write it (ISO 8601, UTC, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class StepProgress:
    """One step of an execution as the worker reports it."""

    type: str = ""
    status: Status = Status.EXECUTING
    started_at: str | None = None
    ended_at: str | None = None
    cached: bool = False
    failure: str | None = None
    seconds: float | None = None


@dataclass
class ExecutionRecord:
    """One execution started through the SageMaker API and carried out locally."""

    execution_arn: str
    execution_id: str
    pipeline_name: str
    parameters: list[dict[str, str]] = field(default_factory=list)
    description: str = ""
    display_name: str = ""
    client_request_token: str = ""
    requested_at: str = ""
    status: Status = Status.EXECUTING
    failure_reason: str | None = None
    steps: dict[str, StepProgress] = field(default_factory=dict)
    pid: int | None = None
    log: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    local_execution_id: str | None = None  # the local run that carried it out
    run_folder: str | None = None

    def to_json(self) -> str:
        """The record as its file holds it."""
        return json.dumps(asdict(self), indent=1, default=str)

    @classmethod
    def from_json(cls, text: str) -> ExecutionRecord:
        """Read a record file; fields this version does not know are ignored.

        Raises:
            ValueError: not a record (not JSON, a required field missing, an unknown status).
        """
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("an execution record is a JSON object")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        try:
            values["status"] = Status.parse(values.get("status", Status.EXECUTING))
            values["steps"] = {
                str(name): StepProgress(
                    **{
                        **{k: v for k, v in step.items() if k in _STEP_FIELDS},
                        "status": Status.parse(step.get("status", Status.EXECUTING)),
                    }
                )
                for name, step in (values.get("steps") or {}).items()
            }
            return cls(**values)
        except TypeError as exc:
            raise ValueError(f"not an execution record: {exc}") from None

    @classmethod
    def read(cls, path: Path) -> ExecutionRecord:
        """The record in `path` (see `from_json` for the errors; OSError when unreadable)."""
        return cls.from_json(path.read_text())

    def write(self, path: Path) -> None:
        """Replace the record file atomically (readers never see half of it)."""
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_text(self.to_json())
        temporary.replace(path)


_STEP_FIELDS = {f.name for f in fields(StepProgress)}
