"""Fixtures shared by unit tests of more than one package."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

ROLE = "arn:aws:iam::123456789012:role/mnist-sagemaker-execution"


@pytest.fixture(scope="session")
def _mnist_definition_once() -> dict[str, Any]:
    from moto import mock_aws

    saved = dict(os.environ)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]
    try:
        with mock_aws():
            import boto3

            from mlops_settings import Settings
            from pipelines.mnist import pipeline

            settings = Settings()
            s3 = boto3.client("s3", region_name=settings.region)
            location = {"LocationConstraint": settings.region}
            kwargs = (
                {} if settings.region == "us-east-1" else {"CreateBucketConfiguration": location}
            )
            s3.create_bucket(Bucket=settings.data_bucket, **kwargs)
            return pipeline.definition(settings, ROLE)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def mnist_definition(_mnist_definition_once: dict[str, Any]) -> dict[str, Any]:
    """The MNIST pipeline's definition (a copy each test may change), built once a session
    against an in-process S3 (moto, no network): building it imports the SageMaker SDK."""
    return copy.deepcopy(_mnist_definition_once)
