"""The execution record that crosses from the emulator to its worker and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localaws import local_runner
from localaws.execution import ExecutionRecord, Status, StepProgress
from localaws.pipeline_worker import RecordReporter


def record() -> ExecutionRecord:
    return ExecutionRecord(
        execution_arn="arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc",
        execution_id="abc",
        pipeline_name="p",
        parameters=[{"Name": "Epochs", "Value": "1"}],
    )


def test_a_record_survives_its_file_with_typed_statuses(tmp_path: Path) -> None:
    path = tmp_path / "abc.json"
    written = record()
    written.steps["train"] = StepProgress(type="Training", status=Status.SUCCEEDED, cached=True)
    written.write(path)
    read = ExecutionRecord.read(path)
    assert read == written
    assert read.steps["train"].status is Status.SUCCEEDED
    assert json.loads(path.read_text())["status"] == "Executing"  # SageMaker's spelling


def test_fields_a_newer_writer_added_are_ignored_and_nonsense_is_refused() -> None:
    data = json.loads(record().to_json())
    data["added_later"] = 1
    assert ExecutionRecord.from_json(json.dumps(data)).execution_id == "abc"
    data["status"] = "Finished"
    with pytest.raises(ValueError, match="Finished"):
        ExecutionRecord.from_json(json.dumps(data))
    with pytest.raises(ValueError, match="record"):
        ExecutionRecord.from_json('{"execution_id": "abc"}')


def test_the_runner_and_the_worker_share_the_one_enumeration(tmp_path: Path) -> None:
    assert local_runner.SUCCEEDED is Status.SUCCEEDED
    assert local_runner.FAILED is Status.FAILED
    path = tmp_path / "abc.json"
    record().write(path)
    reporter = RecordReporter(path)
    reporter.step_started("train", "Training")
    reporter.step_finished(local_runner.StepRecord("train", "Training", status="Failed"))
    assert ExecutionRecord.read(path).steps["train"].status is Status.FAILED
    with pytest.raises(TypeError):
        reporter.update({"no_such_field": 1})
    assert Status.SUCCEEDED.finished
    assert not Status.EXECUTING.finished
