"""Execution records: what happened to each step of one execution, kept as run.json.

Each execution keeps its record, per-step logs and job folders under
`<state dir>/pipeline-runs/<execution id>/`, so a failed execution can be resumed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from localaws.execution import Status
from localaws.local_runner.graph import PipelineError

# The one status enumeration (localaws.execution.Status), under the runner's old names.
SUCCEEDED = Status.SUCCEEDED
FAILED = Status.FAILED
NOT_EXECUTED = Status.NOT_EXECUTED
EXECUTING = Status.EXECUTING

RUNS_FOLDER = "pipeline-runs"


@dataclass
class StepRecord:
    """What happened to one step in one execution."""

    name: str
    type: str
    status: str = NOT_EXECUTED
    seconds: float = 0.0
    script_seconds: float = 0.0  # of `seconds`, the time inside the step's script
    script_cpu_seconds: float = 0.0  # the script's CPU time (user + system, all its threads)
    cached: bool = False
    failure: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    property_files: dict[str, Any] = field(default_factory=dict)
    conditions: list[str] = field(default_factory=list)
    log: str | None = None


@dataclass
class RunRecord:
    """One execution of the pipeline."""

    execution_id: str
    pipeline_name: str
    parameters: dict[str, Any]
    status: str = EXECUTING
    failure_reason: str | None = None
    started_at: str = ""
    seconds: float = 0.0
    steps: dict[str, StepRecord] = field(default_factory=dict)
    folder: str = ""

    def to_json(self) -> str:
        """Serialise for run.json."""
        return json.dumps(asdict(self), indent=2, default=str)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        """Read a run.json back."""
        data = json.loads(text)
        steps = {name: StepRecord(**step) for name, step in data.pop("steps").items()}
        return cls(**data, steps=steps)

    def save(self) -> None:
        """Write run.json in the execution's folder (atomically: a reader never sees half)."""
        path = Path(self.folder) / "run.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(self.to_json())
        temporary.replace(path)


def new_execution_id() -> str:
    """An id shaped like SageMaker's (12 lowercase letters and digits)."""
    return secrets.token_hex(6)


def load_run(state_dir: Path, execution_id: str | None = None) -> RunRecord:
    """An execution's record; without an id, the newest execution that did not succeed.

    Raises:
        PipelineError: no such execution, or no failed one to resume.
    """
    runs = Path(state_dir) / RUNS_FOLDER
    if execution_id:
        path = runs / execution_id / "run.json"
        if not path.is_file():
            raise PipelineError(f"no local execution {execution_id!r} under {runs}")
        return RunRecord.from_json(path.read_text())
    records = [RunRecord.from_json(p.read_text()) for p in runs.glob("*/run.json")]
    failed = [r for r in records if r.status != SUCCEEDED]
    if not failed:
        raise PipelineError("no failed local execution to resume")
    return max(failed, key=lambda r: r.started_at + r.execution_id)
