"""`playground pipeline` commands that refuse or explain before anything runs (emulator)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mlops_settings import Settings
from playground.cli import app

cli = CliRunner()


def invoke(*args: str):
    return cli.invoke(app, ["pipeline", *args])


def text(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--param", "Epochs"], "expected Name=Value"),
        (["run", "--param", "=3"], "expected Name=Value"),
        (["run", "--approval", "sometimes"], "--approval must be auto or manual"),
        (["run", "abc123"], "only accepted with --resume"),
        (["run", "--resume", "--param", "Epochs=2"], "reuses the execution's parameters"),
    ],
)
def test_bad_run_arguments_are_refused_before_anything_runs(emulator: Settings, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in text(result)


def test_params_lists_every_parameter_with_its_default(emulator: Settings):
    result = cli.invoke(app, ["pipeline", "params"], terminal_width=200)
    assert result.exit_code == 0
    assert "AccuracyThreshold" in result.output
    assert "0.985" in result.output
    assert "ModelApprovalStatus" in result.output


def test_resume_without_a_failed_run_says_so(emulator: Settings):
    result = invoke("run", "--resume")
    assert result.exit_code == 1
    assert "no failed local execution to resume" in text(result)


def test_start_before_upsert_says_what_to_do(emulator: Settings):
    result = invoke("start")
    assert result.exit_code == 1
    assert "run `playground pipeline upsert`" in text(result)


@pytest.mark.parametrize("command", ["definition", "upsert"])
def test_a_commit_register_py_would_refuse_is_refused_first(emulator: Settings, command: str):
    result = invoke(command, "--git-commit", "main")
    assert result.exit_code == 2
    assert "--git-commit must be 40 hex digits" in text(result)
