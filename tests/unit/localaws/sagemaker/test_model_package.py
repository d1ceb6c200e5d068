"""SageMaker's documented rules for a model package's model data (sagemaker.model_package)."""

from __future__ import annotations

from typing import Any

import pytest

from localaws.sagemaker.model_package import model_data_problems


def request(container: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"InferenceSpecification": {"Containers": [{"Image": "img", **container}]}, **extra}


def source(uri: str, kind: str = "S3Object", compression: str = "None") -> dict[str, Any]:
    return {"S3DataSource": {"S3Uri": uri, "S3DataType": kind, "CompressionType": compression}}


@pytest.mark.parametrize(
    "container",
    [
        {"ModelDataUrl": "s3://b/models/model.tar.gz"},
        {"ModelDataSource": source("s3://b/models/model.onnx")},
        {"ModelDataSource": source("s3://b/models/", kind="S3Prefix")},
        {"ModelDataSource": source("s3://b/models/model.tar.gz", compression="Gzip")},
        {},
    ],
)
def test_what_the_reference_documents_passes(container: dict[str, Any]) -> None:
    assert model_data_problems(request(container), versioned=True) == []


@pytest.mark.parametrize(
    ("container", "versioned", "found"),
    [
        ({"ModelDataUrl": "s3://b/model.onnx"}, True, "single gzip compressed tar archive"),
        ({"ModelDataUrl": "s3://b/model.gz"}, True, "(.tar.gz suffix)"),
        ({"ModelDataSource": source("s3://b/m.onnx")}, False, "unversioned model package"),
        ({"ModelDataSource": source("s3://b/models", kind="S3Prefix")}, True, "forward slash"),
        (
            {"ModelDataSource": source("s3://b/models/", kind="S3Prefix", compression="Gzip")},
            True,
            "CompressionType Gzip needs S3DataType S3Object",
        ),
    ],
)
def test_what_the_reference_refuses_is_named(
    container: dict[str, Any], versioned: bool, found: str
) -> None:
    [problem] = model_data_problems(request(container), versioned)
    assert found in problem
    assert "InferenceSpecification.Containers.1" in problem


def test_additional_specifications_and_source_algorithms_are_checked_too() -> None:
    params = {
        "AdditionalInferenceSpecifications": [
            {"Containers": [{"Image": "img", "ModelDataUrl": "s3://b/a.onnx"}]}
        ],
        "SourceAlgorithmSpecification": {
            "SourceAlgorithms": [{"AlgorithmName": "x", "ModelDataUrl": "s3://b/b.onnx"}]
        },
    }
    problems = model_data_problems(params, versioned=True)
    assert [p.split("' at '")[1].split("'")[0] for p in problems] == [
        "AdditionalInferenceSpecifications.1.Containers.1.ModelDataUrl",
        "SourceAlgorithmSpecification.SourceAlgorithms.1.ModelDataUrl",
    ]
