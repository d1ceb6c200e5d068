"""The step cache's key and expiry, as SageMaker's ("Default cache key attributes")."""

from __future__ import annotations

import pytest

from localaws.local_runner.cache import cache_key, duration_seconds
from localaws.local_runner.graph import PipelineError

PROCESSING = {
    "AppSpecification": {"ImageUri": "image", "ContainerArguments": ["--seed", "7"]},
    "Environment": {"MODE": "fast"},
    "ProcessingInputs": [{"InputName": "raw", "S3Input": {"S3Uri": "s3://b/raw/v1/"}}],
    "ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": "s3://b/exec-1/out"}}]},
    "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge"}},
    "RoleArn": "arn:aws:iam::123456789012:role/a",
}


def changed(arguments: dict, path: tuple, value: object) -> dict:
    copy = {**arguments}
    target = copy
    for part in path[:-1]:
        target[part] = dict(target[part])
        target = target[part]
    target[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    "path",
    [
        ("AppSpecification", "ContainerArguments"),
        ("Environment", "MODE"),
        ("ProcessingInputs",),
    ],
)
def test_a_processing_steps_key_follows_its_key_attributes(path: tuple) -> None:
    assert cache_key("Processing", changed(PROCESSING, path, ["other"])) != cache_key(
        "Processing", PROCESSING
    )


@pytest.mark.parametrize(
    "path",
    [("ProcessingOutputConfig",), ("ProcessingResources",), ("RoleArn",)],
)
def test_other_arguments_do_not_change_the_key(path: tuple) -> None:
    # Outputs named after the execution, another instance type or role: still a cache hit.
    assert cache_key("Processing", changed(PROCESSING, path, {"x": 1})) == cache_key(
        "Processing", PROCESSING
    )


def test_a_training_steps_key_is_its_hyperparameters_and_inputs_not_its_outputs() -> None:
    training = {
        "AlgorithmSpecification": {"TrainingImage": "image"},
        "HyperParameters": {"epochs": "10"},
        "InputDataConfig": [{"ChannelName": "train"}],
        "OutputDataConfig": {"S3OutputPath": "s3://b/training"},
    }
    key = cache_key("Training", training)

    assert cache_key("Training", {**training, "HyperParameters": {"epochs": "11"}}) != key
    assert cache_key("Training", {**training, "OutputDataConfig": {"S3OutputPath": "x"}}) == key
    assert cache_key("Processing", training) != key
    with pytest.raises(PipelineError, match="not cached"):
        cache_key("Condition", training)


def test_expiry_reads_sagemakers_durations() -> None:
    assert duration_seconds("P30D") == 30 * 86400
    assert duration_seconds("30d") == 30 * 86400
    assert duration_seconds("T16m") == 16 * 60
    assert duration_seconds("5y") == 5 * 365 * 86400
    assert duration_seconds("P1M") == 30 * 86400  # before T, M is months
    assert duration_seconds("30dT5h") == 30 * 86400 + 5 * 3600
    with pytest.raises(PipelineError, match="cannot read the cache expiry"):
        duration_seconds("thirty days")
