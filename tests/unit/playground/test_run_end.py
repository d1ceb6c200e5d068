"""When a local execution ends, its run report shows what the run would take and cost in AWS."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localaws.local_runner import RunRecord
from localaws.local_runner.records import SUCCEEDED, StepRecord
from playground import aws_cost, run_end

BUCKET = "models"
KEY = "reports/abc123def456/report.html"
PAGE = (
    "<!doctype html>\n<html><head><title>Run</title></head><body><h1>Pipeline run</h1>"
    '<section id="outcome"><h2>Outcome</h2><p>passed</p></section>'
    '<section id="lineage"><h2>Lineage</h2><table></table></section></body></html>\n'
)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(
            Bucket=BUCKET, Key=KEY, Body=PAGE.encode(), ContentType="text/html; charset=utf-8"
        )
        yield client


def a_run(folder: Path, report: str | None = f"s3://{BUCKET}/{KEY}") -> RunRecord:
    """A run with prepare from the cache, train 140 s and evaluate 20 s in their scripts."""
    evaluation = {"report": {"run": report, "model": None}} if report else {}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "definition.json").write_text(json.dumps({"Steps": []}))
    return RunRecord(
        execution_id="abc123def456",
        pipeline_name="mnist-training",
        parameters={},
        status=SUCCEEDED,
        steps={
            "PrepareData": StepRecord("PrepareData", "Processing", SUCCEEDED, 3.0, cached=True),
            "TrainModel": StepRecord("TrainModel", "Training", SUCCEEDED, 150.0, 140.0),
            "EvaluateModel": StepRecord(
                "EvaluateModel",
                "Processing",
                SUCCEEDED,
                25.0,
                20.0,
                property_files={"Evaluation": evaluation},
            ),
        },
        folder=str(folder),
    )


def section(page: str) -> str:
    start = page.index('<section id="aws">')
    return page[start : page.index("</section>", start)]


def test_the_report_gets_the_projection_pipeline_show_prints(s3: Any, tmp_path: Path) -> None:
    record = a_run(tmp_path / "run")

    assert run_end.add_projection(record, s3) == f"s3://{BUCKET}/{KEY}"

    got = s3.get_object(Bucket=BUCKET, Key=KEY)
    page = got["Body"].read().decode()
    assert got["ContentType"] == "text/html; charset=utf-8"
    estimate = aws_cost.estimate_run(record)
    shown = section(page)
    assert "In AWS (projected)" in shown
    assert html.escape(estimate.text) in shown  # the sentence `pipeline show` prints
    # train: 180 s start-up + 140 s, billed 60 + 140 = 200 s at $0.23 an hour = $0.0128
    assert "<td>TrainModel</td><td>ml.m5.xlarge</td><td>320</td><td>200</td><td>0.0128</td>" in (
        shown
    )
    assert "PrepareData" not in shown  # a cache hit costs nothing in AWS either
    assert page.index('id="aws"') < page.index('id="lineage"')
    assert page.count('<section id="outcome">') == 1


def test_a_second_end_replaces_the_section(s3: Any, tmp_path: Path) -> None:
    record = a_run(tmp_path / "run")
    run_end.add_projection(record, s3)
    record.steps["TrainModel"].script_seconds = 3460.0  # 1 h billed with the download

    run_end.add_projection(record, s3)

    page = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read().decode()
    assert page.count('<section id="aws">') == 1
    assert "<td>3640</td><td>3520</td><td>0.2249</td>" in section(page)


def test_a_run_without_a_report_is_left_alone(s3: Any, tmp_path: Path) -> None:
    assert run_end.add_projection(a_run(tmp_path / "run", report=None), s3) is None


def test_a_missing_report_does_not_stop_the_end(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.delete_object(Bucket=BUCKET, Key=KEY)

    run_end.ended(a_run(tmp_path / "run"), s3)

    assert "the run report of execution abc123def456 has no AWS projection" in (
        capsys.readouterr().out
    )


def test_the_playground_starts_its_emulator_with_its_hook() -> None:
    from localaws.pipeline_worker import END_HOOK_VARIABLE
    from playground import stack

    module, _, name = stack.EMULATOR_HOOKS[END_HOOK_VARIABLE].partition(":")
    assert (module, getattr(run_end, name)) == ("playground.run_end", run_end.ended)
