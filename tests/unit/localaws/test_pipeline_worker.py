"""The worker's end-of-execution hook: a project listens without localaws knowing what for."""

from __future__ import annotations

import pytest

from localaws import pipeline_worker
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
