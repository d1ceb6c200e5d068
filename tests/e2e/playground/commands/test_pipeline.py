"""`playground pipeline` end to end: upsert and start in the emulator, full local runs."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import numpy as np
import pytest
from typer.testing import CliRunner

from mlops_settings import Settings
from pipelines.mnist.code import idx
from playground.cli import app

SAMPLE = Path(__file__).parents[4] / "packages/pipelines/src/pipelines/mnist/data"
PER_CLASS = 150  # a small slice keeps the end-to-end run short on two cores
cli = CliRunner()


def invoke(*args: str):
    return cli.invoke(app, ["pipeline", *args])


def text(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def upload_slice(settings: Settings, tmp_path: Path, labels_hook=None) -> None:
    """The first PER_CLASS digits of every class from the offline sample, as raw IDX files."""
    pair = idx.read_pair(
        SAMPLE / "train-images-idx3-ubyte.gz", SAMPLE / "train-labels-idx1-ubyte.gz"
    )
    chosen = np.concatenate([np.flatnonzero(pair.labels == d)[:PER_CLASS] for d in range(10)])
    images, labels = pair.images[chosen], pair.labels[chosen].copy()
    if labels_hook:
        labels = labels_hook(labels)
    s3 = boto3.client("s3")
    for name, array in (
        ("train-images-idx3-ubyte.gz", images),
        ("train-labels-idx1-ubyte.gz", labels),
    ):
        path = tmp_path / name
        idx.write_idx_gz(array, path)
        s3.upload_file(str(path), settings.data_bucket, f"{settings.raw_prefix}/{name}")


def packages(settings: Settings) -> list[dict]:
    client = boto3.client("sagemaker")
    summaries = client.list_model_packages(ModelPackageGroupName=settings.model_package_group)[
        "ModelPackageSummaryList"
    ]
    return [client.describe_model_package(ModelPackageName=s["ModelPackageArn"]) for s in summaries]


@pytest.mark.slow
def test_definition_upsert_and_start_against_the_emulator(emulator: Settings, tmp_path: Path):
    target = tmp_path / "definition.json"
    result = invoke("definition", "--output", str(target))
    assert result.exit_code == 0, result.output
    document = json.loads(target.read_text())
    assert [s["Name"] for s in document["Steps"]] == [
        "PrepareData",
        "TrainModel",
        "EvaluateModel",
        "ModelGate",
    ]

    result = invoke("upsert")
    assert result.exit_code == 0, result.output
    assert (
        f"created arn:aws:sagemaker:us-east-1:123456789012:pipeline/{emulator.pipeline_name}"
        in text(result)
    )
    assert "updated" in text(invoke("upsert"))

    result = invoke("start", "--param", "Epochs=2")
    assert result.exit_code == 0, result.output
    client = boto3.client("sagemaker")
    executions = client.list_pipeline_executions(PipelineName=emulator.pipeline_name)[
        "PipelineExecutionSummaries"
    ]
    assert len(executions) == 1
    stored = client.describe_pipeline_definition_for_execution(
        PipelineExecutionArn=executions[0]["PipelineExecutionArn"]
    )
    assert json.loads(stored["PipelineDefinition"]) == document


@pytest.mark.slow
def test_local_run_registers_once_then_hits_the_cache_and_gates(emulator: Settings, tmp_path: Path):
    upload_slice(emulator, tmp_path)
    # Few epochs on a small slice: well above chance (10%), far from the real threshold.
    relaxed = ["--param", "Epochs=6", "--param", "AccuracyThreshold=0.3"]

    first = invoke("run", *relaxed)

    assert first.exit_code == 0, first.output
    [package] = packages(emulator)
    assert package["ModelApprovalStatus"] == "Approved"
    metadata = package["CustomerMetadataProperties"]
    for key in (
        "sha256",
        "size_bytes",
        "test_accuracy",
        "dataset_hash",
        "git_commit",
        "pipeline_execution_id",
        "input_spec_version",
    ):
        assert metadata.get(key), key
    assert float(metadata["test_accuracy"]) >= 0.3
    url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert (
        url
        == f"s3://{emulator.model_bucket}/models/{emulator.model_package_group}/{metadata['sha256']}/model.onnx"
    )
    assert f"registered version {package['ModelPackageVersion']}" in text(first)
    runs = sorted((Path(emulator.state_dir) / "pipeline-runs").iterdir())
    assert metadata["pipeline_execution_id"] == runs[0].name
    assert (runs[0] / "logs" / "TrainModel.log").read_text().count("epoch") >= 2

    second = invoke("run", *relaxed)

    assert second.exit_code == 0, second.output
    assert text(second).count("cached") >= 4  # prepare, train, evaluate, register
    assert len(packages(emulator)) == 1

    strict = invoke("run", "--param", "Epochs=6", "--param", "AccuracyThreshold=0.9999")

    assert strict.exit_code == 1
    assert "model gate failed: test accuracy" in text(strict)
    assert "(needs >= 0.9999)" in text(strict)
    assert len(packages(emulator)) == 1


@pytest.mark.slow
def test_bad_data_stops_the_run_before_training_and_resume_finishes_it(
    emulator: Settings, tmp_path: Path
):
    def corrupt(labels: np.ndarray) -> np.ndarray:
        labels[:5] = 11
        return labels

    upload_slice(emulator, tmp_path, corrupt)

    result = invoke("run", "--param", "Epochs=6", "--param", "AccuracyThreshold=0.3")

    assert result.exit_code == 1
    assert "PrepareData" in text(result)
    assert "labels" in text(result).lower()
    [run_file] = (Path(emulator.state_dir) / "pipeline-runs").glob("*/run.json")
    record = json.loads(run_file.read_text())
    assert record["steps"]["PrepareData"]["status"] == "Failed"
    assert record["steps"]["TrainModel"]["status"] == "NotExecuted"
    assert packages(emulator) == []
    assert f"playground pipeline run --resume {record['execution_id']}" in text(result)

    upload_slice(emulator, tmp_path)  # the data fixed, the same execution carries on
    resumed = invoke("run", "--resume")

    assert resumed.exit_code == 0, resumed.output
    assert f"execution {record['execution_id']}: Succeeded" in text(resumed)
    [package] = packages(emulator)
    assert package["CustomerMetadataProperties"]["pipeline_execution_id"] == record["execution_id"]
