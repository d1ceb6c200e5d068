"""register.py: one model package per the registry contract, in the emulator."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import regex

from mlops_settings import Settings

pytestmark = pytest.mark.slow  # these train a model (on the tiny slice)

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def inputs(evaluated: Path, tmp_path: Path) -> Path:
    """The register job's /opt/ml: the evaluate step's model and report, the manifest."""
    opt_ml = tmp_path / "opt_ml"
    for folder, source in (
        ("processing/model", evaluated / "processing/output/model/model.onnx"),
        ("processing/evaluation", evaluated / "processing/evaluation/evaluation.json"),
        ("processing/manifest", evaluated / "processing/manifest/manifest.json"),
    ):
        (opt_ml / folder).mkdir(parents=True)
        shutil.copy(source, opt_ml / folder)
    return opt_ml


def register(run_step: Callable[..., Any], opt_ml: Path, settings: Settings, *extra: str) -> Any:
    return run_step(
        "register.py",
        opt_ml,
        *("--model-package-group", settings.model_package_group),
        *("--model-bucket", settings.model_bucket),
        *("--git-commit", COMMIT, "--pipeline-execution-id", "exec-42"),
        *extra,
    )


def sagemaker_refuses(package: dict[str, Any]) -> list[str]:
    """Metadata keys and values that break SageMaker's pattern (its service model's)."""
    shapes = boto3.client("sagemaker").meta.service_model._shape_resolver
    pattern = shapes.get_shape_by_name("CustomerMetadataValue").metadata["pattern"]
    allowed = regex.compile(pattern[1 : pattern.index(")")])
    return [
        text
        for pair in package["CustomerMetadataProperties"].items()
        for text in pair
        if not 1 <= len(text) <= 256 or not allowed.fullmatch(text)
    ]


def packages(settings: Settings) -> list[dict[str, Any]]:
    listing = boto3.client("sagemaker").list_model_packages(
        ModelPackageGroupName=settings.model_package_group
    )
    return [dict(summary) for summary in listing["ModelPackageSummaryList"]]


def test_registers_one_package_with_the_full_contract(
    emulator: Settings, inputs: Path, run_step: Callable[..., Any]
) -> None:
    model = (inputs / "processing/model/model.onnx").read_bytes()
    evaluation = json.loads((inputs / "processing/evaluation/evaluation.json").read_text())
    manifest = json.loads((inputs / "processing/manifest/manifest.json").read_text())
    digest = hashlib.sha256(model).hexdigest()

    run = register(run_step, inputs, emulator, "--approval-status", "Approved")

    assert run.returncode == 0, run.stderr
    arn = run.stdout.strip().splitlines()[-1]
    package = boto3.client("sagemaker").describe_model_package(ModelPackageName=arn)
    group, bucket = emulator.model_package_group, emulator.model_bucket
    prefix = f"s3://{bucket}/models/{group}/{digest}"
    assert package["ModelPackageGroupName"] == group
    assert package["ModelPackageVersion"] == 1
    assert package["ModelApprovalStatus"] == "Approved"
    container = package["InferenceSpecification"]["Containers"][0]
    # One uncompressed file: ModelDataUrl would have to name a .tar.gz (registry-entry.md).
    assert "ModelDataUrl" not in container
    assert container["ModelDataSource"] == {
        "S3DataSource": {
            "S3Uri": f"{prefix}/model.onnx",
            "S3DataType": "S3Object",
            "CompressionType": "None",
        }
    }
    assert re.fullmatch(
        r"763104351884\.dkr\.ecr\.us-east-1\.amazonaws\.com/pytorch-inference:[\w.-]+",
        container["Image"],
    )
    assert package["InferenceSpecification"]["SupportedContentTypes"] == ["application/json"]
    assert package["InferenceSpecification"]["SupportedResponseMIMETypes"] == ["application/json"]
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics == {"ContentType": "application/json", "S3Uri": f"{prefix}/evaluation.json"}
    accuracy = evaluation["metrics"]["accuracy"]["value"]
    # Each digit's recall and precision, as the details view shows them (all ten digits).
    per_class = evaluation["metrics"]["per_class"]
    figures = {
        f"{kind}_{digit}": f"{per_class[str(digit)][kind]:.4f}"
        for digit in range(10)
        for kind in ("recall", "precision")
    }
    assert package["CustomerMetadataProperties"] == {
        **figures,
        "sha256": digest,
        "size_bytes": str(len(model)),
        "test_accuracy": f"{accuracy:.4f}",
        "dataset_hash": manifest["dataset_hash"],
        "git_commit": COMMIT,
        "pipeline_execution_id": "exec-42",
        "input_spec_version": "2",
        "input_name": "input",
        "input_shape": "N:1:28:28",
        "output_name": "logits",
        "output_shape": "N:10",
        "quantized": "true" if evaluation["model"]["quantized"] else "false",
    }
    assert sagemaker_refuses(package) == []
    assert f"accuracy {accuracy:.2%}" in package["ModelPackageDescription"]
    assert manifest["dataset_hash"][:12] in package["ModelPackageDescription"]

    s3 = boto3.client("s3")
    stored = s3.get_object(Bucket=bucket, Key=f"models/{group}/{digest}/model.onnx")
    assert stored["Body"].read() == model
    report = s3.get_object(Bucket=bucket, Key=f"models/{group}/{digest}/evaluation.json")
    assert json.loads(report["Body"].read()) == evaluation
    record = json.loads((inputs / "processing/output/registration/registration.json").read_text())
    assert record["model_package_arn"] == arn
    assert record["uploaded"] == {"model.onnx": True, "evaluation.json": True}


def test_the_same_model_registered_again_reuses_its_version_and_file(
    emulator: Settings, inputs: Path, run_step: Callable[..., Any]
) -> None:
    first = register(run_step, inputs, emulator, "--approval-status", "Approved")
    # A rerun after an unrelated commit: same bytes, other commit, default approval mode.
    second = register(run_step, inputs, emulator, "--git-commit", "b" * 40)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "already registered" in second.stdout
    listed = packages(emulator)
    assert [p["ModelApprovalStatus"] for p in listed] == ["Approved"]
    record = json.loads((inputs / "processing/output/registration/registration.json").read_text())
    assert record["already_registered"] is True
    assert record["uploaded"] == {"model.onnx": False, "evaluation.json": False}


def test_a_version_whose_file_was_deleted_gets_it_back_when_registered_again(
    emulator: Settings, inputs: Path, run_step: Callable[..., Any]
) -> None:
    """register is never cached: a rerun re-checks the package's files, not a stale record."""
    first = register(run_step, inputs, emulator, "--approval-status", "Approved")
    assert first.returncode == 0, first.stderr
    model = (inputs / "processing/model/model.onnx").read_bytes()
    key = f"models/{emulator.model_package_group}/{hashlib.sha256(model).hexdigest()}/model.onnx"
    s3 = boto3.client("s3")
    s3.delete_object(Bucket=emulator.model_bucket, Key=key)

    second = register(run_step, inputs, emulator, "--approval-status", "Approved")

    assert second.returncode == 0, second.stderr
    assert s3.get_object(Bucket=emulator.model_bucket, Key=key)["Body"].read() == model
    record = json.loads((inputs / "processing/output/registration/registration.json").read_text())
    assert record["uploaded"]["model.onnx"] is True
    assert len(packages(emulator)) == 1


def test_a_model_other_than_the_evaluated_one_is_not_registered(
    emulator: Settings, inputs: Path, run_step: Callable[..., Any]
) -> None:
    (inputs / "processing/model/model.onnx").write_bytes(b"some other model")

    run = register(run_step, inputs, emulator, "--approval-status", "Approved")

    assert run.returncode == 1
    assert "not the evaluated model" in run.failure
    assert packages(emulator) == []
    listing = boto3.client("s3").list_objects_v2(Bucket=emulator.model_bucket)
    assert listing.get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--approval-status", "Rejected"), "--approval-status must be one of"),
        (("--git-commit", "main"), "--git-commit must be 40 hex digits (with -dirty"),
        (("--git-commit", COMMIT + "-modified"), "--git-commit must be 40 hex digits (with -dirty"),
    ],
)
def test_bad_arguments_are_refused(
    emulator: Settings,
    inputs: Path,
    run_step: Callable[..., Any],
    args: tuple[str, ...],
    message: str,
) -> None:
    run = register(run_step, inputs, emulator, *args)

    assert run.returncode == 2
    assert message in run.stderr
    assert packages(emulator) == []


def test_a_value_sagemaker_refuses_fails_the_step_before_anything_is_stored(
    emulator: Settings, inputs: Path, run_step: Callable[..., Any]
) -> None:
    run = register(
        run_step, inputs, emulator, "--pipeline-execution-id", "run 7, retried (see #12)"
    )

    assert run.returncode == 1
    assert "CustomerMetadataProperties[pipeline_execution_id] has ','" in run.failure
    assert "SageMaker allows only" in run.failure
    assert packages(emulator) == []
    listing = boto3.client("s3").list_objects_v2(Bucket=emulator.model_bucket)
    assert listing.get("KeyCount", 0) == 0


def test_a_dirty_working_tree_is_recorded_as_such(
    emulator: Settings, inputs: Path, run_step: Callable[..., Any]
) -> None:
    run = register(run_step, inputs, emulator, "--git-commit", f"{COMMIT}-dirty")

    assert run.returncode == 0, run.stderr
    package = boto3.client("sagemaker").describe_model_package(
        ModelPackageName=run.stdout.strip().splitlines()[-1]
    )
    assert package["CustomerMetadataProperties"]["git_commit"] == f"{COMMIT}-dirty"


def test_accuracy_on_peoples_corrections_goes_into_the_metadata_when_there_were_any(
    emulator: Settings, inputs: Path, run_step: Callable[..., Any]
) -> None:
    path = inputs / "processing/evaluation/evaluation.json"
    evaluation = json.loads(path.read_text())
    evaluation["feedback"] = {"test_count": 7, "test_correct": 5, "test_accuracy": 5 / 7}
    path.write_text(json.dumps(evaluation))

    run = register(run_step, inputs, emulator, "--approval-status", "Approved")

    assert run.returncode == 0, run.stderr
    arn = run.stdout.strip().splitlines()[-1]
    package = boto3.client("sagemaker").describe_model_package(ModelPackageName=arn)
    metadata = package["CustomerMetadataProperties"]
    assert metadata["feedback_test_accuracy"] == "0.7143"
    assert metadata["feedback_test_count"] == "7"
    assert sagemaker_refuses(package) == []
