from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from functions.get_models.registry import InvalidEntryError, parse_model_version

METADATA = {
    "sha256": "ab" * 32,
    "size_bytes": "112640",
    "test_accuracy": "0.9871",
    "dataset_hash": "cd" * 32,
    "git_commit": "unknown",
    "pipeline_execution_id": "exec-1",
    "input_spec_version": "1",
    "input_name": "input",
    "input_shape": "N,1,28,28",
    "output_name": "logits",
    "output_shape": "N,10",
    "quantized": "false",
}


def _description(**metadata_changes: str | None) -> dict[str, Any]:
    metadata = {**METADATA, **metadata_changes}
    return {
        "ModelPackageVersion": 4,
        "CreationTime": datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [{"Image": "x", "ModelDataUrl": "s3://bucket-name/models/m.onnx"}]
        },
        "CustomerMetadataProperties": {k: v for k, v in metadata.items() if v is not None},
    }


def test_contract_entry_becomes_the_api_fields() -> None:
    body = parse_model_version(_description()).to_json()
    assert body == {
        "version": 4,
        "created_at": "2026-11-26T12:00:00.000Z",
        "metrics": {"test_accuracy": 0.9871},
        "size_bytes": 112640,
        "sha256": "ab" * 32,
        "quantized": False,
        "input_spec": {
            "version": 1,
            "name": "input",
            "shape": ["N", 1, 28, 28],
            "output": {"name": "logits", "shape": ["N", 10]},
        },
        "provenance": {
            "dataset_hash": "cd" * 32,
            "git_commit": "unknown",
            "pipeline_execution_id": "exec-1",
        },
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sha256": None}, "sha256 is missing"),
        ({"sha256": "AB" * 32}, "64 lowercase hex"),
        ({"size_bytes": "0"}, "size_bytes='0' is not a positive integer"),
        ({"size_bytes": "12kB"}, "size_bytes"),
        ({"test_accuracy": "high"}, "not a number"),
        ({"test_accuracy": "1.5"}, r"not in \[0, 1\]"),
        ({"test_accuracy": "nan"}, r"not in \[0, 1\]"),
        ({"input_shape": "N,1,,28"}, "bad dimension"),
        ({"input_spec_version": None}, "input_spec_version is missing"),
        ({"quantized": "yes"}, "quantized"),
        ({"git_commit": ""}, "git_commit is missing"),
    ],
)
def test_entry_breaking_the_contract_is_refused(
    change: dict[str, str | None], message: str
) -> None:
    with pytest.raises(InvalidEntryError, match=message):
        parse_model_version(_description(**change))


def test_entry_without_an_s3_model_file_is_refused() -> None:
    description = _description()
    description["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] = "https://x/m.onnx"
    with pytest.raises(InvalidEntryError, match="s3://"):
        parse_model_version(description)
