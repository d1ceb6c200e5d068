"""Registry entries for tests and benchmarks, written as the pipeline's register step does.

Follows contracts/registry-entry.md field by field, so the handler and the `playground models`
commands are exercised on the same shape of entry the pipeline writes. Not part of the Lambda
deployment zip.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

SERVING_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@dataclass(frozen=True)
class RegisteredModel:
    """What a test needs to know about a version it registered."""

    version: int
    arn: str
    sha256: str
    size_bytes: int
    model_data_url: str
    status: str
    metadata: dict[str, str]


def fake_onnx_bytes(seed: int, size: int = 2048) -> bytes:
    """Deterministic stand-in bytes for a model file (the API never parses the ONNX)."""
    block = hashlib.sha256(f"model-{seed}".encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def register_model(
    sagemaker: Any,
    s3: Any,
    *,
    group: str,
    bucket: str,
    region: str,
    status: str = "Approved",
    seed: int = 0,
    model_bytes: bytes | None = None,
    accuracy: float = 0.97,
    upload: bool = True,
    quantized: bool = False,
) -> RegisteredModel:
    """Upload a model file (unless `upload` is false) and register it as a new version."""
    data = model_bytes if model_bytes is not None else fake_onnx_bytes(seed)
    sha256 = hashlib.sha256(data).hexdigest()
    prefix = f"models/{group}/{sha256}"
    model_data_url = f"s3://{bucket}/{prefix}/model.onnx"
    evaluation_url = f"s3://{bucket}/{prefix}/evaluation.json"
    dataset_hash = hashlib.sha256(f"dataset-{seed}".encode()).hexdigest()
    if upload:
        s3.put_object(Bucket=bucket, Key=f"{prefix}/model.onnx", Body=data)
        evaluation = {"test_accuracy": accuracy, "dataset_hash": dataset_hash}
        s3.put_object(Bucket=bucket, Key=f"{prefix}/evaluation.json", Body=json.dumps(evaluation))
    metadata = {
        "sha256": sha256,
        "size_bytes": str(len(data)),
        "test_accuracy": f"{accuracy:.4f}",
        "dataset_hash": dataset_hash,
        "git_commit": hashlib.sha1(f"commit-{seed}".encode()).hexdigest(),  # noqa: S324 - an id
        "pipeline_execution_id": f"execution-{seed}",
        "input_spec_version": "2",
        "input_name": "input",
        "input_shape": "N,1,28,28",
        "output_name": "logits",
        "output_shape": "N,10",
        "quantized": "true" if quantized else "false",
    }
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=(
            f"accuracy {accuracy:.4f}, {len(data)} bytes, dataset {dataset_hash[:12]}"
        ),
        InferenceSpecification={
            "Containers": [
                {"Image": SERVING_IMAGE.format(region=region), "ModelDataUrl": model_data_url}
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": evaluation_url}
            }
        },
        ModelApprovalStatus=status,
        CustomerMetadataProperties=metadata,
    )["ModelPackageArn"]
    version = int(arn.rsplit("/", 1)[1])
    return RegisteredModel(version, arn, sha256, len(data), model_data_url, status, metadata)
