"""Pipeline executions as a person asks about them: what ran, how it ended, where to look.

Two sources, one list:

- the local runner's records, `<state dir>/pipeline-runs/<id>/run.json`: every execution run
  on this machine, in the foreground (`playground pipeline run`) or by the emulator for a
  SageMaker API start;
- SageMaker's `ListPipelineExecutions` (in AWS, or the emulator's answer locally).

The emulator keeps, per API execution, the id of the local run that carried it out
(`localaws.emulated_pipelines.ExecutionBook`, `local_execution_id`); with it an API
execution and its local run are one entry, known by either id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localaws.emulated_pipelines import EXECUTIONS_FOLDER, TOKENS_FILE
from localaws.execution import ExecutionRecord, Status
from localaws.local_runner import SUCCEEDED, RunRecord
from localaws.local_runner.records import RUNS_FOLDER
from mlops_settings import Settings
from pipelines.mnist import pipeline as mnist
from playground.stack import StackPaths

FOREGROUND = "pipeline run"
API = "SageMaker API"


@dataclass
class Execution:
    """One execution, whichever way it was started."""

    id: str  # the id to type: the SageMaker execution id, or the local run's id
    source: str  # FOREGROUND or API
    status: str
    started: datetime | None
    seconds: float | None
    trigger: str = ""
    failure: str = ""
    run: RunRecord | None = None  # the local runner's record, when it ran here
    arn: str = ""
    aliases: set[str] = field(default_factory=set)

    @property
    def evaluation(self) -> dict[str, Any]:
        """The evaluate step's evaluation.json as the gate read it ({} when none)."""
        step = self.run.steps.get(mnist.EVALUATE) if self.run else None
        return dict(step.property_files.get("Evaluation", {})) if step else {}

    def outcome(self) -> str:
        """One phrase: running, passed the gate, gate failed (naming the failures), failed."""
        if self.status == Status.EXECUTING:
            return "running"
        gates = self.evaluation.get("gates") or []
        failed = [g for g in gates if g.get("passed") is False]
        if failed:
            return "gate failed: " + ", ".join(str(g["label"]) for g in failed)
        if self.run and mnist.FAIL in self.run.steps and self.run.steps[mnist.FAIL].failure:
            return "gate failed"
        if self.status == SUCCEEDED:
            return "passed the gate" if gates or self.run else "succeeded"
        return f"failed: {first_line(self.failure)}" if self.failure else self.status.lower()

    def output_uri(self, step: str, name: str) -> str | None:
        """The S3 URI of a processing step's named output in this execution's record."""
        record = self.run.steps.get(step) if self.run else None
        outputs = (record.properties if record else {}).get("ProcessingOutputConfig", {})
        for output in outputs.get("Outputs", []):
            if output.get("OutputName") == name:
                return str(output["S3Output"]["S3Uri"])
        return None

    def model_artifacts(self) -> str | None:
        """The training job's model.tar.gz (it holds training_curves.png)."""
        record = self.run.steps.get(mnist.TRAIN) if self.run else None
        value = (record.properties if record else {}).get("ModelArtifacts", {})
        return str(value["S3ModelArtifacts"]) if value.get("S3ModelArtifacts") else None


def first_line(text: object, width: int = 120) -> str:
    """A message's first line, shortened: the whole text is in the step's log."""
    stripped = str(text or "").strip()
    line = stripped.splitlines()[0] if stripped else ""
    line = "" if line == "None" else line
    return line if len(line) <= width else line[: width - 1] + "…"


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_runs(state_dir: Path) -> list[RunRecord]:
    """Every local run's record (unreadable ones are skipped: a run being created)."""
    records = []
    for path in (Path(state_dir) / RUNS_FOLDER).glob("*/run.json"):
        try:
            records.append(RunRecord.from_json(path.read_text()))
        except (ValueError, TypeError, KeyError):
            continue
    return records


def emulator_links(settings: Settings) -> dict[str, str]:
    """API execution id -> the local run id that carried it out (empty outside the emulator)."""
    folder = StackPaths.of(settings).root / EXECUTIONS_FOLDER
    links = {}
    for path in folder.glob("*.json") if folder.is_dir() else []:
        if path.name == TOKENS_FILE:
            continue
        try:
            record = ExecutionRecord.read(path)
        except (OSError, ValueError):
            continue  # being written, or not a record
        if record.local_execution_id:
            links[path.stem] = record.local_execution_id
    return links


def from_run(record: RunRecord) -> Execution:
    """A local run as an execution started in the foreground."""
    return Execution(
        id=record.execution_id,
        source=FOREGROUND,
        status=record.status,
        started=_parse_time(record.started_at),
        seconds=record.seconds or None,
        failure=record.failure_reason or "",
        run=record,
    )


def from_summary(summary: dict[str, Any], run: RunRecord | None) -> Execution:
    """An API execution summary, joined with its local run when there is one."""
    arn = str(summary["PipelineExecutionArn"])
    seconds = run.seconds if run and run.seconds else None
    return Execution(
        id=arn.rsplit("/", 1)[-1],
        source=API,
        status=str(summary.get("PipelineExecutionStatus", "")),
        started=summary.get("StartTime"),
        seconds=seconds,
        trigger=str(summary.get("PipelineExecutionDescription") or "started by a person or CI"),
        failure=str(summary.get("PipelineExecutionFailureReason") or ""),
        run=run,
        arn=arn,
        aliases={run.execution_id} if run else set(),
    )


def merge(
    summaries: list[dict[str, Any]], runs: list[RunRecord], links: dict[str, str]
) -> list[Execution]:
    """One entry per execution, newest first.

    API executions come with their local runs joined; then the foreground runs that no API
    execution accounts for.
    """
    by_id = {run.execution_id: run for run in runs}
    executions = []
    for summary in summaries:
        api_id = str(summary["PipelineExecutionArn"]).rsplit("/", 1)[-1]
        executions.append(from_summary(summary, by_id.pop(links.get(api_id, ""), None)))
    carried = set(links.values())
    executions += [from_run(run) for run in by_id.values() if run.execution_id not in carried]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(executions, key=lambda e: e.started or oldest, reverse=True)


def find(executions: list[Execution], wanted: str | None) -> Execution | None:
    """The execution with this id (either of its ids), or the newest one without an id."""
    if not wanted:
        return executions[0] if executions else None
    for execution in executions:
        if wanted in (execution.id, execution.arn) or wanted in execution.aliases:
            return execution
    return None
