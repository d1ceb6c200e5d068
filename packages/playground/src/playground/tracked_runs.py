"""An execution's MLflow run ends as the execution did: the runner's record closes it.

The evaluate step creates the run (tracking.py), started when the execution started, but
only whoever ran the execution knows when it ended, how long each step took (a cached one
included) and why it failed, even before evaluate ran (prepare's data checks). So when a
local execution ends, in the foreground (`playground pipeline run`) or in the background
(an execution the emulator started), its record is handed to `close`, which logs it to the
tracking server the execution itself was given (its ``MlflowTrackingUri`` parameter).
"""

from __future__ import annotations

from datetime import UTC, datetime

from localaws.local_runner import RunRecord
from localaws.local_runner.records import FAILED, NOT_EXECUTED
from pipelines.mnist.code import tracking

TRACKING_PARAMETER = "MlflowTrackingUri"


def facts(record: RunRecord, ended_at: datetime | None = None) -> tracking.ExecutionFacts:
    """What MLflow should show of an execution that has just ended (``ended_at``: now).

    Every step that ran or came from the cache has its time (seconds, as the runner measured
    it); the start is the record's ``started_at``.
    """
    started = datetime.fromisoformat(record.started_at)
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    end = ended_at or datetime.now(UTC)
    return tracking.ExecutionFacts(
        execution_id=record.execution_id,
        started_at_ms=int(started.timestamp() * 1000),
        ended_at_ms=int(end.timestamp() * 1000),
        failed=record.status == FAILED,
        reason=record.failure_reason or "",
        step_seconds={
            name: round(step.seconds, 3)
            for name, step in record.steps.items()
            if step.status != NOT_EXECUTED
        },
    )


def close(record: RunRecord, ended_at: datetime | None = None) -> str | None:
    """Close the execution's MLflow run; its id, or None when it is not tracked.

    Tracking never decides an execution's outcome: a tracking server that cannot be reached
    is named in one line, and None returned.
    """
    uri = str(record.parameters.get(TRACKING_PARAMETER) or "")
    if not uri:
        return None
    try:
        return tracking.close_execution(uri, facts(record, ended_at))
    except Exception as exc:  # the execution's outcome stands whatever MLflow answers
        print(f"MLflow at {uri}: the run of execution {record.execution_id} not closed: {exc}")
        return None
