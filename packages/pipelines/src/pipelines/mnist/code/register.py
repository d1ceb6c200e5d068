"""Register step: put the evaluated ONNX model in the SageMaker Model Registry.

Runs as a SageMaker processing job after the gate passed. Inputs:
/opt/ml/processing/model/model.onnx (the evaluate step's chosen model),
/opt/ml/processing/evaluation/evaluation.json and /opt/ml/processing/manifest/manifest.json.
Uploads the model and the evaluation report content-addressed
(``s3://<bucket>/models/<group>/<sha256>/``) and creates one model package per
contracts/registry-entry.md. Prints the package ARN and writes it to
/opt/ml/processing/output/registration/registration.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from container import fail, opt_ml, sha256_bytes, write_json
from dataset import DatasetError, find_manifest, lineage, read_manifest
from registry_entry import (
    INPUT_NAME,
    INPUT_SHAPE,
    OUTPUT_NAME,
    OUTPUT_SHAPE,
    EntryError,
    check_description,
    check_metadata,
    encode_shape,
    model_data_source,
)

INPUT_SPEC_VERSION = "2"  # contracts/preprocessing.md, the inputs train.py augments for
APPROVAL_STATUSES = ("Approved", "PendingManualApproval")
CONTENT_TYPE = "application/json"

# The serving image the registry entry names (the API requires one; the browser never uses
# it). SageMaker's PyTorch inference image, looked up here rather than through the sagemaker
# SDK, which processing containers may not have. Accounts as in the SDK's
# image_uri_config/pytorch.json; every region not listed uses the default account. It cannot
# follow the training image (2.10, py313): the newest inference image the locked SDK lists is
# 2.6.0 for py312, and tests/unit/pipelines/mnist/code/test_register.py fails when a newer SDK
# lists a newer one or moves an account.
SERVING_IMAGE = "pytorch-inference:2.6.0-cpu-py312"
DEFAULT_IMAGE_ACCOUNT = "763104351884"
IMAGE_ACCOUNTS = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-east-2": "975050140332",
    "ap-northeast-3": "364406365360",
    "ap-south-2": "772153158452",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ap-southeast-5": "550225433462",
    "ap-southeast-6": "633930458069",
    "ap-southeast-7": "590183813437",
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-2": "380420809688",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "me-west-1": "124382933778",
    "mx-central-1": "637423239942",
    "us-gov-east-1": "446045086412",
    "us-gov-west-1": "442386744353",
}
# A commit, a commit with uncommitted changes on top (a local run), or no git checkout at all.
_GIT_COMMIT = re.compile(r"^([0-9a-f]{40}(-dirty)?|unknown)$")


class RegistrationError(RuntimeError):
    """An input is missing or inconsistent; nothing was registered."""


def serving_image(region: str) -> str:
    """The PyTorch inference image URI for a region."""
    account = IMAGE_ACCOUNTS.get(region, DEFAULT_IMAGE_ACCOUNT)
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/{SERVING_IMAGE}"


def read_inputs(args: argparse.Namespace) -> tuple[bytes, dict[str, Any], bytes, dict[str, Any]]:
    """The model bytes, the evaluation report (parsed and raw) and the manifest, cross-checked."""
    paths = {
        "model": Path(args.model_dir) / "model.onnx",
        "evaluation": Path(args.evaluation_dir) / "evaluation.json",
        "manifest": Path(args.manifest_dir) / "manifest.json",
    }
    for name, path in paths.items():
        if not path.is_file():
            raise RegistrationError(f"{name} file not found: {path}")
    model = paths["model"].read_bytes()
    evaluation_raw = paths["evaluation"].read_bytes()
    evaluation = json.loads(evaluation_raw)
    manifest = json.loads(paths["manifest"].read_text())
    digest = sha256_bytes(model)
    if evaluation["model"]["sha256"] != digest:
        raise RegistrationError(
            f"model.onnx has SHA-256 {digest[:12]}..., but evaluation.json evaluated "
            f"{evaluation['model']['sha256'][:12]}...: not the evaluated model"
        )
    if evaluation["dataset_hash"] != manifest["dataset_hash"]:
        raise RegistrationError(
            "evaluation.json and manifest.json name different datasets "
            f"({evaluation['dataset_hash'][:12]}... vs {manifest['dataset_hash'][:12]}...)"
        )
    return model, evaluation, evaluation_raw, manifest


def upload_once(s3: Any, bucket: str, key: str, data: bytes, content_type: str) -> bool:
    """Upload unless the key exists (content-addressed keys are never overwritten).

    An existing model file must hold the same bytes; returns whether it uploaded.
    """
    from botocore.exceptions import ClientError

    try:
        existing = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NoSuchKey", "404"):
            raise
    else:
        if key.endswith(".onnx") and sha256_bytes(existing) != sha256_bytes(data):
            raise RegistrationError(f"s3://{bucket}/{key} exists with different bytes")
        return False
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    return True


def metadata(
    args: argparse.Namespace, model: bytes, evaluation: dict[str, Any], manifest: dict[str, Any]
) -> dict[str, str]:
    """CustomerMetadataProperties per the registry contract (every value a string).

    Raises:
        EntryError: a value SageMaker would refuse (registry_entry.check_metadata).
    """
    return check_metadata(
        {
            "sha256": sha256_bytes(model),
            "size_bytes": str(len(model)),
            "test_accuracy": f"{evaluation['metrics']['accuracy']['value']:.4f}",
            "dataset_hash": manifest["dataset_hash"],
            "git_commit": args.git_commit,
            "pipeline_execution_id": args.pipeline_execution_id,
            "input_spec_version": INPUT_SPEC_VERSION,
            "input_name": INPUT_NAME,
            "input_shape": encode_shape(INPUT_SHAPE),
            "output_name": OUTPUT_NAME,
            "output_shape": encode_shape(OUTPUT_SHAPE),
            "quantized": "true" if evaluation["model"]["quantized"] else "false",
            **per_class_metadata(evaluation),
        }
    )


def per_class_metadata(evaluation: dict[str, Any]) -> dict[str, str]:
    """`recall_<d>` and `precision_<d>` for every digit of evaluation.json's per_class.

    Empty when the report has no per-class figures (contracts/registry-entry.md: all or none).
    Values have 4 decimals, like `test_accuracy`.
    """
    per_class = evaluation["metrics"].get("per_class") or {}
    entries: dict[str, str] = {}
    for digit in sorted(per_class, key=int):
        entries[f"recall_{int(digit)}"] = f"{per_class[digit]['recall']:.4f}"
        entries[f"precision_{int(digit)}"] = f"{per_class[digit]['precision']:.4f}"
    return entries


def read_lineage(args: argparse.Namespace) -> dict[str, Any] | None:
    """The dataset version's lineage from its manifest, or None without --dataset-dir."""
    if not args.dataset_dir:
        return None
    try:
        manifest, digest = read_manifest(find_manifest(Path(args.dataset_dir)))
    except DatasetError as exc:
        raise RegistrationError(str(exc)) from None
    return lineage(manifest, digest)


def register(args: argparse.Namespace) -> dict[str, Any]:
    """Upload the files and create the model package; returns the registration record."""
    import boto3

    model, evaluation, evaluation_raw, manifest = read_inputs(args)
    region = args.region or os.environ.get("AWS_REGION") or boto3.session.Session().region_name
    if not region:
        raise RegistrationError("no region: pass --region or set AWS_REGION")
    properties = metadata(args, model, evaluation, manifest)
    trained_on = read_lineage(args)
    if trained_on:
        properties["dataset_version"] = str(trained_on["dataset_version"])
        properties["dataset_manifest_sha256"] = str(trained_on["manifest_sha256"])
    # The MLflow run the evaluate step logged (32 hex, within the metadata pattern), if any.
    mlflow_run_id = (evaluation.get("tracking") or {}).get("mlflow_run_id")
    if mlflow_run_id:
        properties["mlflow_run_id"] = str(mlflow_run_id)
    # Accuracy on the test images people corrected (contracts/feedback.md), when there were any.
    feedback = evaluation.get("feedback") or {}
    if feedback.get("test_count"):
        properties["feedback_test_accuracy"] = f"{float(feedback['test_accuracy']):.4f}"
        properties["feedback_test_count"] = str(int(feedback["test_count"]))
    properties = check_metadata(properties)  # lineage and tracking values too, before any write
    prefix = f"models/{args.model_package_group}/{properties['sha256']}"
    s3 = boto3.client("s3", region_name=region)
    uploaded = {
        "model.onnx": upload_once(
            s3, args.model_bucket, f"{prefix}/model.onnx", model, "application/octet-stream"
        ),
        "evaluation.json": upload_once(
            s3, args.model_bucket, f"{prefix}/evaluation.json", evaluation_raw, CONTENT_TYPE
        ),
    }
    if trained_on:
        # The raw objects (keys, SHA-256, S3 version ids) the model was trained on.
        lineage_raw = (json.dumps(trained_on, indent=2) + "\n").encode()
        uploaded["lineage.json"] = upload_once(
            s3, args.model_bucket, f"{prefix}/lineage.json", lineage_raw, CONTENT_TYPE
        )
    model_url = f"s3://{args.model_bucket}/{prefix}/model.onnx"
    evaluation_url = f"s3://{args.model_bucket}/{prefix}/evaluation.json"
    kind = "int8" if properties["quantized"] == "true" else "fp32"
    description = check_description(
        f"accuracy {float(properties['test_accuracy']):.2%}, {len(model) / 1024:.1f} KB {kind}, "
        f"dataset {manifest['dataset_hash'][:12]}"
    )
    sagemaker = boto3.client("sagemaker", region_name=region)
    existing = find_version_with_sha256(sagemaker, args.model_package_group, properties["sha256"])
    if existing is not None:
        # The same bytes are already a version (e.g. a rerun after an unrelated commit): one
        # model, one version. Its approval stays whatever a person or an earlier run decided.
        return {
            "model_package_arn": existing["ModelPackageArn"],
            "model_package_group": args.model_package_group,
            "approval_status": existing["ModelApprovalStatus"],
            "model_data_url": model_url,
            "evaluation_url": evaluation_url,
            "uploaded": uploaded,
            "description": existing.get("ModelPackageDescription", description),
            "customer_metadata": existing.get("CustomerMetadataProperties", properties),
            "already_registered": True,
        }
    response = sagemaker.create_model_package(
        ModelPackageGroupName=args.model_package_group,
        ModelPackageDescription=description,
        InferenceSpecification={
            "Containers": [
                {"Image": serving_image(region), "ModelDataSource": model_data_source(model_url)}
            ],
            "SupportedContentTypes": [CONTENT_TYPE],
            "SupportedResponseMIMETypes": [CONTENT_TYPE],
        },
        ModelMetrics={
            "ModelQuality": {"Statistics": {"ContentType": CONTENT_TYPE, "S3Uri": evaluation_url}}
        },
        ModelApprovalStatus=args.approval_status,
        CustomerMetadataProperties=properties,
    )
    arn = response["ModelPackageArn"]
    return {
        "model_package_arn": arn,
        "model_package_group": args.model_package_group,
        "approval_status": args.approval_status,
        "model_data_url": model_url,
        "evaluation_url": evaluation_url,
        "uploaded": uploaded,
        "description": description,
        "customer_metadata": properties,
        "already_registered": False,
    }


def find_version_with_sha256(sagemaker: Any, group: str, sha256: str) -> dict[str, Any] | None:
    """The newest model package of the group whose model file has this SHA-256, if any."""
    paginator = sagemaker.get_paginator("list_model_packages")
    pages = paginator.paginate(
        ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending"
    )
    for page in pages:
        for summary in page.get("ModelPackageSummaryList", []):
            package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
            if package.get("CustomerMetadataProperties", {}).get("sha256") == sha256:
                return dict(package)
    return None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments (defaults are SageMaker's processing-job locations)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-package-group", required=True)
    parser.add_argument("--model-bucket", required=True)
    parser.add_argument("--approval-status", default="PendingManualApproval")
    parser.add_argument("--git-commit", default="unknown")
    parser.add_argument("--pipeline-execution-id", default="unknown")
    parser.add_argument("--region", default="")
    parser.add_argument("--model-dir", default=str(opt_ml("processing/model")))
    parser.add_argument("--evaluation-dir", default=str(opt_ml("processing/evaluation")))
    parser.add_argument("--manifest-dir", default=str(opt_ml("processing/manifest")))
    parser.add_argument(
        "--dataset-dir", default="", help="folder holding the dataset version's manifest"
    )
    parser.add_argument("--output-dir", default=str(opt_ml("processing/output/registration")))
    parser.add_argument(
        "--mlflow-tracking-uri", default="", help="end the execution's MLflow run there"
    )
    parser.add_argument(
        "--execution-started-at", default="", help="the execution's start (ISO 8601)"
    )
    args = parser.parse_args(argv)
    if args.approval_status not in APPROVAL_STATUSES:
        parser.error(f"--approval-status must be one of {', '.join(APPROVAL_STATUSES)}")
    if not _GIT_COMMIT.match(args.git_commit):
        parser.error(
            "--git-commit must be 40 hex digits (with -dirty for uncommitted changes) or "
            f"'unknown', got {args.git_commit!r}"
        )
    if not args.pipeline_execution_id.strip():
        parser.error("--pipeline-execution-id must not be empty")
    return args


def end_run(args: argparse.Namespace, failure: str) -> None:
    """End the execution's MLflow run: register is its last step (tracking.py).

    Where a runner watches the execution (the local one), its own end corrects this one.
    Tracking never decides the step's outcome.
    """
    if not args.mlflow_tracking_uri or args.pipeline_execution_id in ("", "unknown"):
        return
    import time

    from tracking import ExecutionFacts, close_execution, epoch_ms

    now = int(time.time() * 1000)
    facts = ExecutionFacts(
        args.pipeline_execution_id,
        epoch_ms(args.execution_started_at) or now,
        now,
        failed=bool(failure),
        reason=failure,
        final=False,
    )
    try:
        close_execution(args.mlflow_tracking_uri, facts)
    except Exception as exc:  # tracking is for people
        print(f"MLflow tracking at {args.mlflow_tracking_uri}: run not ended: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    try:
        record = register(args)
    except (RegistrationError, EntryError) as exc:
        fail(f"register failed: {exc}")
        end_run(args, f"register failed: {exc}")
        return 1
    except Exception as exc:
        fail(f"register failed: {type(exc).__name__}: {exc}")
        end_run(args, f"register failed: {type(exc).__name__}: {exc}")
        raise
    end_run(args, "")
    write_json(Path(args.output_dir) / "registration.json", record)
    if record["already_registered"]:
        print(f"already registered (same sha256), reusing: {record['model_package_arn']}")
    else:
        print(record["model_package_arn"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
