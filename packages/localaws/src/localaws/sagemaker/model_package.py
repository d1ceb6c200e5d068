"""SageMaker's rules for where a model package's model data is, beyond its API model.

botocore's model types a container's ``ModelDataUrl`` as any ``(https|s3)://`` URL, but the
API reference says it "must point to a single gzip compressed tar archive (.tar.gz suffix)"
(SageMaker API Reference, ``ModelPackageContainerDefinition`` and ``SourceAlgorithm``). An
uncompressed model is handed over as ``ModelDataSource.S3DataSource`` instead, with
``S3DataType: S3Object`` (the object is the model) or ``S3Prefix`` (every object under a key
prefix, which "always ends with a forward slash") and ``CompressionType: None`` (API
Reference, ``S3ModelDataSource``; developer guide, "Deploying uncompressed models"). The
SageMaker SDK refuses ``ModelDataSource`` on an unversioned model package (one created with
``ModelPackageName`` rather than a group: ``sagemaker.core.model_registry``), and so does
this check.

AWS documents the rules, not the messages; the messages here follow SageMaker's style.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from localaws.strict import Operation

ARCHIVE_SUFFIX = ".tar.gz"
OPERATIONS = ("CreateModelPackage", "UpdateModelPackage")


def _containers(params: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every container definition of a request, with where it sits."""
    specifications: list[tuple[str, Any]] = [
        ("InferenceSpecification", params.get("InferenceSpecification"))
    ]
    for key in ("AdditionalInferenceSpecifications", "AdditionalInferenceSpecificationsToAdd"):
        for index, item in enumerate(params.get(key) or []):
            specifications.append((f"{key}.{index + 1}", item))
    for where, specification in specifications:
        if not isinstance(specification, Mapping):
            continue
        for index, container in enumerate(specification.get("Containers") or []):
            if isinstance(container, Mapping):
                yield f"{where}.Containers.{index + 1}", container
    algorithms = (params.get("SourceAlgorithmSpecification") or {}).get("SourceAlgorithms") or []
    for index, algorithm in enumerate(algorithms):
        if isinstance(algorithm, Mapping):
            yield f"SourceAlgorithmSpecification.SourceAlgorithms.{index + 1}", algorithm


def model_data_problems(params: Mapping[str, Any], versioned: bool) -> list[str]:
    """What SageMaker's documentation refuses in a request's model data; empty when fine.

    ``versioned``: the package belongs to a model package group.
    """
    problems = []
    for where, container in _containers(params):
        url = container.get("ModelDataUrl")
        if isinstance(url, str) and not url.endswith(ARCHIVE_SUFFIX):
            problems.append(
                f"Value '{url}' at '{where}.ModelDataUrl' must point to a single gzip compressed "
                f"tar archive ({ARCHIVE_SUFFIX} suffix); for an uncompressed model use "
                "ModelDataSource with S3DataType S3Object and CompressionType None"
            )
        source = container.get("ModelDataSource")
        if not isinstance(source, Mapping):
            continue
        if not versioned:
            problems.append(
                f"'{where}.ModelDataSource' is not supported for an unversioned model package; "
                "create it in a model package group"
            )
        s3 = source.get("S3DataSource")
        if not isinstance(s3, Mapping):
            continue
        uri, kind = s3.get("S3Uri"), s3.get("S3DataType")
        if kind == "S3Prefix" and isinstance(uri, str) and not uri.endswith("/"):
            problems.append(
                f"Value '{uri}' at '{where}.ModelDataSource.S3DataSource.S3Uri' must end with a "
                "forward slash (/) when S3DataType is S3Prefix"
            )
        if kind == "S3Prefix" and s3.get("CompressionType") == "Gzip":
            problems.append(
                f"'{where}.ModelDataSource.S3DataSource': CompressionType Gzip needs "
                "S3DataType S3Object (one gzip compressed tar archive)"
            )
    return problems


def model_package_semantics(operation: Operation) -> str | None:
    """SageMaker's refusal of a CreateModelPackage/UpdateModelPackage's model data, or None.

    A `localaws.strict.ServiceSemantics` check.
    """
    if operation.service.name != "sagemaker" or operation.model.name not in OPERATIONS:
        return None
    params = operation.params
    versioned = operation.model.name == "UpdateModelPackage" or bool(
        params.get("ModelPackageGroupName")
    )
    problems = model_data_problems(params, versioned)
    if not problems:
        return None
    noun = "error" if len(problems) == 1 else "errors"
    return f"{len(problems)} validation {noun} detected: " + "; ".join(problems)
