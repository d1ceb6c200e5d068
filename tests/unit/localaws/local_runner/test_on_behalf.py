"""The image a job pulls, read as SageMaker reads it: which ECR repository, in whose account."""

from __future__ import annotations

import pytest

from localaws.local_runner.jobs import JobError
from localaws.local_runner.on_behalf import CANNOT_PULL, job_image, repository_arn


def test_a_deep_learning_container_is_a_repository_in_awss_account() -> None:
    uri = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.10.0-cpu-py313"
    assert repository_arn(uri) == "arn:aws:ecr:eu-west-1:763104351884:repository/pytorch-training"
    digest = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/tool@sha256:" + "a" * 64
    assert repository_arn(digest) == "arn:aws:ecr:us-east-1:123456789012:repository/team/tool"
    china = "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-training:2.10.0-cpu-py313"
    assert repository_arn(china).startswith("arn:aws-cn:ecr:cn-north-1:727897471807:")


def test_an_image_outside_ecr_cannot_be_pulled() -> None:
    with pytest.raises(JobError) as failed:
        repository_arn("docker.io/library/python:3.13")
    assert str(failed.value).startswith(CANNOT_PULL)


def test_each_job_kind_names_its_image_in_its_own_field() -> None:
    assert job_image("Processing", {"AppSpecification": {"ImageUri": "a"}}) == "a"
    assert job_image("Training", {"AlgorithmSpecification": {"TrainingImage": "b"}}) == "b"
