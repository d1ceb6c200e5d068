"""What MLflow is told of an execution that ended: its runner's record, as it happened."""

from __future__ import annotations

from datetime import UTC, datetime

from localaws.local_runner import RunRecord
from localaws.local_runner.records import FAILED, NOT_EXECUTED, SUCCEEDED, StepRecord
from playground import tracked_runs


def a_record(status: str = SUCCEEDED, reason: str | None = None) -> RunRecord:
    return RunRecord(
        execution_id="abc123def456",
        pipeline_name="mnist-training",
        parameters={"MlflowTrackingUri": ""},
        status=status,
        failure_reason=reason,
        started_at="2026-12-05T02:00:00.250000+00:00",
        steps={
            "PrepareData": StepRecord("PrepareData", "Processing", FAILED, seconds=3.4567),
            "TrainModel": StepRecord("TrainModel", "Training", NOT_EXECUTED),
        },
    )


def test_facts_are_the_records_start_its_end_and_each_step_that_ran() -> None:
    ended = datetime(2026, 12, 5, 2, 0, 27, 650000, tzinfo=UTC)

    facts = tracked_runs.facts(a_record(FAILED, "PrepareData: labels outside 0-9"), ended)

    started_ms = int(datetime(2026, 12, 5, 2, 0, 0, 250000, tzinfo=UTC).timestamp() * 1000)
    assert facts.started_at_ms == started_ms
    assert facts.ended_at_ms - facts.started_at_ms == 27_400
    assert facts.failed
    assert facts.reason == "PrepareData: labels outside 0-9"
    assert facts.step_seconds == {"PrepareData": 3.457}  # TrainModel never ran


def test_an_execution_without_a_tracking_uri_is_not_tracked() -> None:
    assert tracked_runs.close(a_record()) is None
