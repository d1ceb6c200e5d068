"""The worker's end-of-execution hook: a project listens without localaws knowing what for."""

from __future__ import annotations

from pathlib import Path

import pytest

from localaws import pipeline_worker
from localaws.execution import ExecutionRecord
from localaws.local_runner import RunRecord


def test_the_hook_named_in_the_environment_gets_the_ended_execution(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    record = RunRecord("abc123def456", "mnist-training", {}, status="Failed")
    monkeypatch.setenv(pipeline_worker.END_HOOK_VARIABLE, "builtins:print")

    pipeline_worker.execution_ended(record)

    said = capsys.readouterr().out
    assert "execution_id='abc123def456'" in said
    assert "status='Failed'" in said


def test_a_hook_that_fails_is_named_and_the_execution_stands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(pipeline_worker.END_HOOK_VARIABLE, "no_such_module:close")

    pipeline_worker.execution_ended(RunRecord("abc123def456", "mnist-training", {}))

    said = capsys.readouterr().out
    assert "LOCALAWS_EXECUTION_END_HOOK=no_such_module:close failed: ModuleNotFoundError" in said


def test_the_local_run_is_linked_to_its_execution_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A listing while the run goes on finds one execution, not the API's and a local run."""
    path = tmp_path / "execution.json"
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/apiexecution1"
    ExecutionRecord(arn, "apiexecution1", "p").write(path)
    seen: dict[str, object] = {}

    class Client:
        def describe_pipeline_definition_for_execution(self, **_: object) -> dict[str, str]:
            return {"PipelineDefinition": "{}"}

    class Runner:
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.runs_dir = tmp_path / "runs"

        def run(self, parameters: object, execution_id: str | None = None) -> RunRecord:
            during = ExecutionRecord.read(path)  # what a listing reads meanwhile
            seen["linked"] = during.local_execution_id
            seen["id"] = execution_id
            return RunRecord(str(execution_id), "p", {}, status="Succeeded")

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(pipeline_worker.boto3, "client", lambda *a, **k: Client())
    monkeypatch.setattr(pipeline_worker, "LocalRunner", Runner)
    monkeypatch.setattr(pipeline_worker, "job_credentials", lambda *a: None)

    assert pipeline_worker.run(path, tmp_path) == 0
    assert seen["linked"] is not None
    assert seen["linked"] == seen["id"]
    assert ExecutionRecord.read(path).local_execution_id == seen["id"]
