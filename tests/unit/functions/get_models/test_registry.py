from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.get_models.fixtures import written_entry
from functions.get_models.registry import InvalidEntryError, parse_model_version

# The entry the real register.py wrote (contracts/fixtures/registry-entry.json).
WRITTEN = written_entry()
METADATA = WRITTEN["CustomerMetadataProperties"]


def _description(**metadata_changes: str | None) -> dict[str, Any]:
    """A DescribeModelPackage answer for the written entry, as the registry returns it."""
    metadata = {**METADATA, **metadata_changes}
    return {
        **copy.deepcopy(WRITTEN),
        "ModelPackageVersion": 4,
        "CreationTime": datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        "CustomerMetadataProperties": {k: v for k, v in metadata.items() if v is not None},
    }


def test_the_entry_register_py_writes_becomes_the_api_fields() -> None:
    body = parse_model_version(_description()).to_json()
    assert body == {
        "version": 4,
        "created_at": "2026-11-26T12:00:00.000Z",
        "metrics": {
            "test_accuracy": float(METADATA["test_accuracy"]),
            "per_class": [
                {
                    "digit": digit,
                    "precision": float(METADATA[f"precision_{digit}"]),
                    "recall": float(METADATA[f"recall_{digit}"]),
                }
                for digit in range(10)
            ],
        },
        "size_bytes": int(METADATA["size_bytes"]),
        "sha256": METADATA["sha256"],
        "quantized": False,
        "input_spec": {
            "version": int(METADATA["input_spec_version"]),
            "name": "input",
            "shape": ["N", 1, 28, 28],
            "output": {"name": "logits", "shape": ["N", 10]},
        },
        "provenance": {
            "dataset_hash": METADATA["dataset_hash"],
            "git_commit": METADATA["git_commit"],
            "pipeline_execution_id": METADATA["pipeline_execution_id"],
            "dataset_version": None,
        },
    }


def test_an_entry_written_before_per_digit_figures_has_none_and_still_lists() -> None:
    older = _description(**{k: None for k in METADATA if k.startswith(("recall_", "precision_"))})
    assert parse_model_version(older).to_json()["metrics"]["per_class"] is None


def test_the_dataset_version_is_part_of_the_provenance() -> None:
    entry = _description(dataset_version="cd27dd7af04e1ad2")
    assert parse_model_version(entry).to_json()["provenance"]["dataset_version"] == (
        "cd27dd7af04e1ad2"
    )


def test_shapes_written_before_the_colon_encoding_are_still_read() -> None:
    legacy = _description(input_shape="N,1,28,28", output_shape="N,10")
    assert parse_model_version(legacy).input.shape == ("N", 1, 28, 28)
    assert parse_model_version(legacy).output.shape == ("N", 10)


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
        ({"input_shape": "N:1::28"}, "bad dimension"),
        ({"output_shape": "N:10.5"}, "bad dimension"),
        ({"input_spec_version": None}, "input_spec_version is missing"),
        ({"quantized": "yes"}, "quantized"),
        ({"git_commit": ""}, "git_commit is missing"),
        ({"recall_3": "0.9x"}, "recall_3='0.9x' is not a number"),
        ({"precision_0": "1.01"}, r"precision_0='1.01' is not in \[0, 1\]"),
        ({"recall_9": None}, "both figures of every digit"),
        ({"precision_0": None, "recall_0": None}, "both figures of every digit"),
    ],
)
def test_entry_breaking_the_contract_is_refused(
    change: dict[str, str | None], message: str
) -> None:
    with pytest.raises(InvalidEntryError, match=message):
        parse_model_version(_description(**change))


def test_entry_without_an_s3_model_file_is_refused() -> None:
    description = _description()
    source = description["InferenceSpecification"]["Containers"][0]["ModelDataSource"]
    source["S3DataSource"]["S3Uri"] = "https://x/m.onnx"
    with pytest.raises(InvalidEntryError, match="s3://"):
        parse_model_version(description)


def test_the_model_file_comes_from_the_model_data_source() -> None:
    description = _description()
    container = description["InferenceSpecification"]["Containers"][0]
    uri = container["ModelDataSource"]["S3DataSource"]["S3Uri"]

    assert container["ModelDataSource"]["S3DataSource"]["CompressionType"] == "None"
    assert "ModelDataUrl" not in container
    assert parse_model_version(description).model_data_url == uri


def test_an_entry_registered_before_the_model_data_source_is_still_read() -> None:
    description = _description()
    container = description["InferenceSpecification"]["Containers"][0]
    uri = container.pop("ModelDataSource")["S3DataSource"]["S3Uri"]
    container["ModelDataUrl"] = uri

    assert parse_model_version(description).model_data_url == uri
