"""`playground pipeline list` and `show`: local runs as the runner records them (emulator)."""

from __future__ import annotations

import webbrowser
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from localaws.local_runner import FAILED, SUCCEEDED, RunRecord, StepRecord
from localaws.local_runner.records import RUNS_FOLDER
from mlops_settings import Settings
from playground.cli import app

cli = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


def invoke(*args: str):
    return cli.invoke(app, ["pipeline", *args], terminal_width=250)


def text(result) -> str:
    """The output with table borders and line wrapping undone."""
    return " ".join(result.output.replace("│", " ").replace("┃", " ").split())


def gate(label: str, parameter: str, value: float, limit: float, passed: bool) -> dict:
    return {
        "label": label,
        "measured": "metrics.accuracy.value",
        "value": value,
        "comparison": ">=",
        "parameter": parameter,
        "limit": limit,
        "passed": passed,
    }


def record_run(
    settings: Settings, execution_id: str, started: datetime, gates: list[dict], report: str
) -> RunRecord:
    """A finished local run, written with the runner's own record type (as it saves them)."""
    folder = Path(settings.state_dir) / RUNS_FOLDER / execution_id
    folder.mkdir(parents=True)
    failed = any(not g["passed"] for g in gates)
    data = f"s3://{settings.data_bucket}/pipelines/{settings.pipeline_name}/executions"
    evaluate = StepRecord(
        "EvaluateModel",
        "Processing",
        SUCCEEDED,
        seconds=12.5,
        properties={
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "evaluation",
                        "S3Output": {"S3Uri": f"{data}/{execution_id}/EvaluateModel/evaluation"},
                    }
                ]
            }
        },
        property_files={
            "Evaluation": {
                "gates": gates,
                "report": {"run": report, "model": None},
                "tracking": {
                    "mlflow_run_id": f"{execution_id}mlflow",
                    "experiment": "mnist",
                    "warnings": ["experiment 'mnist' (id 1) had been deleted; restored it"],
                },
            }
        },
    )
    record = RunRecord(
        execution_id=execution_id,
        pipeline_name=settings.pipeline_name,
        parameters={},
        status=FAILED if failed else SUCCEEDED,
        failure_reason="model gate failed: test accuracy 0.97 (needs >= 0.99)" if failed else None,
        started_at=started.isoformat(),
        seconds=95.0,
        steps={
            "PrepareData": StepRecord("PrepareData", "Processing", SUCCEEDED, 3.0, cached=True),
            "TrainModel": StepRecord("TrainModel", "Training", SUCCEEDED, 60.0),
            "EvaluateModel": evaluate,
        },
        folder=str(folder),
    )
    record.save()
    return record


@pytest.fixture
def two_runs(emulator: Settings) -> tuple[RunRecord, RunRecord]:
    now = datetime.now(UTC)
    report = f"s3://{emulator.model_bucket}/reports/newer000001/report.html"
    older = record_run(
        emulator,
        "older0000001",
        now - timedelta(hours=1),
        [gate("test accuracy", "AccuracyThreshold", 0.991, 0.985, True)],
        f"s3://{emulator.model_bucket}/reports/older0000001/report.html",
    )
    newer = record_run(
        emulator,
        "newer000001",
        now,
        [gate("test accuracy", "AccuracyThreshold", 0.9712, 0.99, False)],
        report,
    )
    boto3.client("s3").put_object(
        Bucket=emulator.model_bucket,
        Key="reports/newer000001/report.html",
        Body=b"<html>the report</html>",
    )
    return older, newer


def test_list_shows_local_runs_newest_first_with_status_duration_and_outcome(two_runs):
    result = invoke("list")

    assert result.exit_code == 0, result.output
    assert result.output.index("newer000001") < result.output.index("older0000001")
    assert "gate failed: test accuracy" in text(result)
    assert "passed the gate" in text(result)
    assert "95 s" in result.output
    assert text(result).count("pipeline run") == 2  # started in the foreground
    assert invoke("executions").output == result.output  # the former name still works


def test_show_defaults_to_the_newest_with_gate_values_report_and_pictures(
    two_runs, emulator: Settings
):
    result = invoke("show")

    assert result.exit_code == 0, result.output
    output = text(result)
    assert "execution newer000001" in output
    assert "outcome: gate failed: test accuracy" in output
    assert "test accuracy 0.9712 >= 0.99 (AccuracyThreshold) FAILED" in output
    assert f"report: s3://{emulator.model_bucket}/reports/newer000001/report.html" in output
    assert "executions/newer000001/EvaluateModel/evaluation/confusion_matrix.png" in output
    assert "PrepareData Succeeded 3.0 yes" in output  # the cache hit
    assert "MLflow run: newer000001mlflow (experiment mnist" in output
    assert "MLflow: experiment 'mnist' (id 1) had been deleted; restored it" in output
    # In AWS: the two jobs that ran (the cached one would not), each 180 s of start-up plus the
    # compute measured here: (180 + 60) + (180 + 12.5) s = 7.2 min; billed 120 s + 72.5 s at
    # $0.23 an hour (ml.m5.xlarge, the default instance type) = $0.012.
    assert "in AWS (projected): about 7.2 min and $0.012 for 2 job(s) on ml.m5.xlarge" in output


def test_show_by_id_and_an_unknown_id_is_a_clear_error(two_runs):
    assert "execution older0000001" in text(invoke("show", "older0000001"))

    result = invoke("show", "nosuchrun")

    assert result.exit_code == 1
    assert "no execution 'nosuchrun'" in text(result)


def test_show_open_downloads_the_report_and_opens_it(
    two_runs, emulator: Settings, monkeypatch: pytest.MonkeyPatch
):
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)

    result = invoke("show", "newer000001", "--open")

    assert result.exit_code == 0, result.output
    [url] = opened
    assert url.startswith("file://")
    assert Path(url.removeprefix("file://")).read_text() == "<html>the report</html>"


def test_show_open_without_a_report_says_so_and_opens_nothing(
    two_runs, monkeypatch: pytest.MonkeyPatch
):
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)

    result = invoke("show", "older0000001", "--open")

    assert result.exit_code == 1
    assert "cannot read the report" in text(result)
    assert opened == []


def test_list_with_no_executions_says_how_to_start_one(emulator: Settings):
    result = invoke("list")

    assert result.exit_code == 0
    assert "no executions yet" in text(result)
    assert invoke("show").exit_code == 1
