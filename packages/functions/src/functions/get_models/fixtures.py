"""Registry entries for tests and benchmarks, as the pipeline's register step writes them.

Every entry starts from contracts/fixtures/registry-entry.json, the entry the real
`register.py` wrote (`pipelines.mnist.export_registry_fixture` produces it, a test checks it is
current); only the values that differ from model to model (hash, size, accuracy, lineage,
status, file locations) are replaced, with the writer's own encodings. Not part of the Lambda
deployment zip.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PER_CLASS_PREFIXES = ("recall_", "precision_")
REGISTRY_ENTRY = Path(__file__).resolve().parents[5] / "contracts/fixtures/registry-entry.json"


def written_entry() -> dict[str, Any]:
    """The registry entry as register.py wrote it (a fresh copy)."""
    return dict(json.loads(REGISTRY_ENTRY.read_text()))


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
    per_class: bool = True,
    beside: Mapping[str, bytes] | None = None,
) -> RegisteredModel:
    """Upload a model file (unless `upload` is false) and register it as a new version.

    Args:
        sagemaker: the registry client.
        s3: the S3 client.
        group: the model package group.
        bucket: the model bucket.
        region: the region in the serving image URI.
        status: the approval status to register with.
        seed: makes the stand-in bytes, hashes and ids of this version.
        model_bytes: the model file (default: stand-in bytes from `seed`).
        accuracy: the test accuracy to record.
        upload: put the model file and an evaluation.json in S3.
        quantized: record an int8 model.
        per_class: keep the written entry's `recall_<d>`/`precision_<d>` figures; False for
            an entry registered before they were recorded.
        beside: more files to put in the model's folder, by name (`report.html`,
            `confusion_matrix.png`...), as the evaluate step does.
    """
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
    for name, body in (beside or {}).items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
    entry = written_entry()
    written = entry["CustomerMetadataProperties"]
    metadata = {
        **written,
        "sha256": sha256,
        "size_bytes": str(len(data)),
        "test_accuracy": f"{accuracy:.4f}",
        "dataset_hash": dataset_hash,
        "git_commit": hashlib.sha1(f"commit-{seed}".encode()).hexdigest(),  # noqa: S324 - an id
        "pipeline_execution_id": f"execution-{seed}",
        "quantized": "true" if quantized else "false",
    }
    if metadata.keys() != written.keys():
        raise ValueError(f"the writer's metadata keys changed: {sorted(written)}")
    if not per_class:
        metadata = {k: v for k, v in metadata.items() if not k.startswith(PER_CLASS_PREFIXES)}
    specification = copy.deepcopy(entry["InferenceSpecification"])
    container = specification["Containers"][0]
    container["ModelDataSource"]["S3DataSource"]["S3Uri"] = model_data_url
    container["Image"] = container["Image"].replace(".us-east-1.", f".{region}.")
    metrics = copy.deepcopy(entry["ModelMetrics"])
    metrics["ModelQuality"]["Statistics"]["S3Uri"] = evaluation_url
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=(
            f"accuracy {accuracy:.2%}, {len(data) / 1024:.1f} KB, dataset {dataset_hash[:12]}"
        ),
        InferenceSpecification=specification,
        ModelMetrics=metrics,
        ModelApprovalStatus=status,
        CustomerMetadataProperties=metadata,
    )["ModelPackageArn"]
    version = int(arn.rsplit("/", 1)[1])
    return RegisteredModel(version, arn, sha256, len(data), model_data_url, status, metadata)
