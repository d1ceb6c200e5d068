"""The emulator runs pipeline executions: on StartPipelineExecution, on a new dataset version's
manifest (EventBridge rule -> pipeline target) and on a schedule; one dataset change is one
execution, a repeated event or token starts nothing new, and progress is reported."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
import requests
from typer.testing import CliRunner

from localaws.emulated_pipelines import next_fire
from mlops_settings import Settings
from pipelines.mnist.code.idx import read_pair, write_idx_gz
from playground import data, stack
from playground.cli import app
from support.live_emulator import (
    echo_pipeline,
    executions,
    live_stack,
    settle,
    trigger_role,
)


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    """The real emulator process (journal + pipeline middleware) on a free port."""
    with live_stack(monkeypatch, tmp_path) as settings:
        yield settings


IMAGES, LABELS = data.SPLITS["train"]


def folder_of(tmp_path: Path, name: str, step: int) -> Path:
    """Every `step`-th digit of the sample as a folder of IDX files (a distinct version)."""
    pair = read_pair(data.SAMPLE_DIR / IMAGES, data.SAMPLE_DIR / LABELS)
    folder = tmp_path / name
    folder.mkdir()
    write_idx_gz(pair.images[::step], folder / IMAGES)
    write_idx_gz(pair.labels[::step], folder / LABELS)
    return folder


def test_a_new_dataset_version_starts_exactly_one_execution(
    live: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # the listing's columns unwrapped
    echo_pipeline(live, {"Epochs": "1"})
    first = data.seed(live, "sample")
    [execution] = settle(live, 1)
    manifest = f"raw/mnist/{first.version}/manifest.json"
    # As in AWS, the rule's target passes static parameters only: the run reads latest.json,
    # which already names the version whose manifest started it.
    assert execution["PipelineExecutionStatus"] == "Failed"
    assert (
        execution["PipelineExecutionFailureReason"]
        == "Echo: manifest raw/mnist/latest.json epochs 1"
    )
    assert "new-dataset-version" in execution["PipelineExecutionDescription"]
    assert manifest in execution["PipelineExecutionDescription"]
    latest = boto3.client("s3").get_object(Bucket=live.data_bucket, Key="raw/mnist/latest.json")
    assert json.loads(latest["Body"].read())["dataset_version"] == first.version
    client = boto3.client("sagemaker")
    [step] = client.list_pipeline_execution_steps(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineExecutionSteps"]
    assert (step["StepName"], step["StepStatus"]) == ("Echo", "Failed")

    # The same data again is the same version: nothing written, nothing started.
    assert not data.seed(live, "sample").created
    # A repeated delivery of the manifest's event (same key, same ETag) starts nothing new.
    s3 = boto3.client("s3")
    key = f"raw/mnist/{first.version}/manifest.json"
    body = s3.get_object(Bucket=live.data_bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=live.data_bucket, Key=key, Body=body)
    assert len(settle(live, 1)) == 1

    # Four rapid uploads of new data: one version, one more execution.
    folder = folder_of(tmp_path, "quarter", 4)
    threads = [threading.Thread(target=data.seed, args=(live, str(folder))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = settle(live, 2)
    assert len(found) == 2
    assert len(data.list_versions(live)) == 2

    # The listing a person reads shows both, newest first, with what started them.
    result = CliRunner().invoke(app, ["pipeline", "list"])
    assert result.exit_code == 0, result.output
    ids = [e["PipelineExecutionArn"].rsplit("/", 1)[1] for e in found]
    assert result.output.index(ids[0]) < result.output.index(ids[1])
    assert result.output.count("EventBridge") == 2


def test_start_pipeline_execution_runs_it_and_a_repeated_token_starts_nothing(
    live: Settings,
) -> None:
    echo_pipeline(live)
    result = CliRunner().invoke(app, ["pipeline", "start", "--param", "Epochs=3"])
    assert result.exit_code == 0, result.output
    [execution] = settle(live, 1)
    assert (
        execution["PipelineExecutionFailureReason"]
        == "Echo: manifest raw/mnist/latest.json epochs 3"
    )
    client = boto3.client("sagemaker")
    arns = {
        client.start_pipeline_execution(
            PipelineName=live.pipeline_name, ClientRequestToken="t" * 40
        )["PipelineExecutionArn"]
        for _ in range(3)
    }
    assert len(arns) == 1
    assert len(settle(live, 2)) == 2
    described = client.describe_pipeline_execution(PipelineExecutionArn=arns.pop())
    assert described["PipelineExecutionStatus"] == "Failed"


def test_unknown_execution_has_no_steps(live: Settings) -> None:
    echo_pipeline(live)
    client = boto3.client("sagemaker")
    arn = f"arn:aws:sagemaker:{live.region}:123456789012:pipeline/x/execution/nothing"
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.list_pipeline_execution_steps(PipelineExecutionArn=arn)


def test_executions_survive_an_emulator_restart(live: Settings) -> None:
    echo_pipeline(live)
    data.seed(live, "sample")
    before = settle(live, 1)
    stack.stop(live)
    stack.start(live)
    after = executions(live)
    assert [(e["PipelineExecutionArn"], e["PipelineExecutionStatus"]) for e in after] == [
        (e["PipelineExecutionArn"], e["PipelineExecutionStatus"]) for e in before
    ]
    # The replayed S3 events started nothing.
    time.sleep(2)
    assert len(executions(live)) == 1


@pytest.mark.slow
def test_a_schedule_rule_fires_at_its_rate(live: Settings) -> None:
    arn = echo_pipeline(live)
    events = boto3.client("events")
    events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)", State="ENABLED")
    events.put_targets(
        Rule="every-minute",
        Targets=[{"Id": "start", "Arn": arn, "RoleArn": trigger_role(live)}],
    )
    [execution] = settle(live, 1, timeout=100)
    assert "every-minute: schedule" in execution["PipelineExecutionDescription"]


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("rate(5 minutes)", "2026-11-30T10:00:00", "2026-11-30T10:05:00"),
        ("rate(1 day)", "2026-11-30T10:00:00", "2026-12-01T10:00:00"),
        # Terraform's default: Mondays 03:00 UTC (30 Nov 2026 is a Monday).
        ("cron(0 3 ? * MON *)", "2026-11-30T02:59:00", "2026-11-30T03:00:00"),
        ("cron(0 3 ? * MON *)", "2026-11-30T03:00:00", "2026-12-07T03:00:00"),
        ("cron(15 */6 * * ? *)", "2026-11-30T06:20:00", "2026-11-30T12:15:00"),
        ("cron(0 0 1 JAN ? *)", "2026-11-30T00:00:00", "2027-01-01T00:00:00"),
        # EventBridge numbers weekdays 1-7 = SUN-SAT: 2-6 is Monday to Friday.
        ("cron(0 9 ? * 2-6 *)", "2026-12-05T10:00:00", "2026-12-07T09:00:00"),
        ("cron(0 3 L * ? *)", "2026-11-30T04:00:00", "2026-12-31T03:00:00"),
        ("cron(0 9 ? * 2#1 *)", "2026-12-08T00:00:00", "2027-01-04T09:00:00"),
        ("cron(0 0 1 1 ? 2028-2030)", "2026-11-30T00:00:00", "2028-01-01T00:00:00"),
    ],
)
def test_schedule_expressions_fire_when_eventbridge_would(
    expression: str, after: str, expected: str
) -> None:
    assert next_fire(expression, at(after)) == at(expected)


def test_an_expression_it_cannot_read_never_fires() -> None:
    assert next_fire("every monday", 0.0) is None
    assert next_fire("cron(0 3 * * ?)", 0.0) is None  # five fields: not EventBridge's
    assert next_fire("cron(61 3 * * ? *)", 0.0) is None
    assert next_fire("cron(0 0 1 1 ? 2020)", at("2026-11-30T00:00:00")) is None


@pytest.mark.slow
def test_a_new_dataset_version_trains_registers_once_with_its_lineage(
    live: Settings, tmp_path: Path
) -> None:
    """The real pipeline, triggered by data alone; tiny epochs and no accuracy bar."""
    result = CliRunner().invoke(
        app,
        [
            "pipeline",
            "upsert",
            "--trigger-param",
            "Epochs=1",
            "--trigger-param",
            "AccuracyThreshold=0",
            "--trigger-param",
            "MinClassRecall=0",
            "--trigger-param",
            "MinVariationAccuracy=0",
            "--trigger-param",
            "MinParityAgreement=0",
            "--trigger-param",
            "MaxModelSizeBytes=10000000",  # one epoch: int8 may not be kept
        ],
    )
    assert result.exit_code == 0, result.output
    folder = folder_of(tmp_path, "fifth", 5)
    threads = [threading.Thread(target=data.seed, args=(live, str(folder))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [execution] = settle(live, 1, timeout=600)
    assert execution["PipelineExecutionStatus"] == "Succeeded", execution
    sagemaker = boto3.client("sagemaker")
    [summary] = sagemaker.list_model_packages(ModelPackageGroupName=live.model_package_group)[
        "ModelPackageSummaryList"
    ]
    package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
    metadata = package["CustomerMetadataProperties"]
    [version] = data.list_versions(live)
    assert metadata["dataset_version"] == version.version
    assert metadata["dataset_manifest_sha256"] == version.manifest_sha256
    s3 = boto3.client("s3")
    lineage = json.loads(
        s3.get_object(
            Bucket=live.model_bucket,
            Key=f"models/{live.model_package_group}/{metadata['sha256']}/lineage.json",
        )["Body"].read()
    )
    assert lineage["objects"] == [
        {k: o[k] for k in ("key", "sha256", "size")} for o in version.objects
    ]
    labels = read_pair(folder / IMAGES, folder / LABELS).labels
    assert version.digits == len(labels) == int(np.ceil(10_000 / 5))


def test_a_reset_forgets_executions_and_their_tokens(live: Settings) -> None:
    echo_pipeline(live)
    client = boto3.client("sagemaker")
    token = "r" * 40
    first = client.start_pipeline_execution(
        PipelineName=live.pipeline_name, ClientRequestToken=token
    )["PipelineExecutionArn"]
    settle(live, 1)
    requests.post(f"{live.emulator_url}/moto-api/reset", timeout=10).raise_for_status()
    stack.bootstrap(live)
    echo_pipeline(live)
    second = client.start_pipeline_execution(
        PipelineName=live.pipeline_name, ClientRequestToken=token
    )["PipelineExecutionArn"]
    # Had the old token been kept, the emulator would answer with an execution it no
    # longer has, and nothing would run.
    assert [e["PipelineExecutionArn"] for e in settle(live, 1)] == [second]
    assert first.rsplit("/", 1)[0] == second.rsplit("/", 1)[0]
