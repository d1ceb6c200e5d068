"""Requests mapped to IAM actions and resource ARNs from the Service Authorization Reference."""

from __future__ import annotations

import pytest

from localaws.iam.actions import UnknownActionError, action_of, fill, needed

WHERE = {"region": "eu-west-1", "account": "123456789012"}


@pytest.mark.parametrize(
    ("service", "operation", "params", "action", "resource"),
    [
        (
            "s3",
            "GetObject",
            {"Bucket": "d", "Key": "raw/a.gz"},
            "s3:GetObject",
            "arn:aws:s3:::d/raw/a.gz",
        ),
        ("s3", "HeadObject", {"Bucket": "d", "Key": "k"}, "s3:GetObject", "arn:aws:s3:::d/k"),
        ("s3", "ListObjectsV2", {"Bucket": "d"}, "s3:ListBucket", "arn:aws:s3:::d"),
        ("s3", "PutBucketCors", {"Bucket": "d"}, "s3:PutBucketCORS", "arn:aws:s3:::d"),
        (
            "sagemaker",
            "StartPipelineExecution",
            {"PipelineName": "mnist-training"},
            "sagemaker:StartPipelineExecution",
            "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/mnist-training",
        ),
        (
            "sagemaker",
            "DescribeModelPackage",
            {"ModelPackageName": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mnist/3"},
            "sagemaker:DescribeModelPackage",
            "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mnist/3",
        ),
        (
            "sagemaker",
            "ListModelPackages",
            {"ModelPackageGroupName": "mnist"},
            "sagemaker:ListModelPackages",
            "*",
        ),
        (
            "lambda",
            "Invoke",
            {"FunctionName": "api"},
            "lambda:InvokeFunction",
            "arn:aws:lambda:eu-west-1:123456789012:function:api",
        ),
        (
            "events",
            "PutRule",
            {"Name": "r"},
            "events:PutRule",
            "arn:aws:events:eu-west-1:123456789012:rule/r",
        ),
        (
            "iam",
            "PassRole",
            {"RoleName": "jobs"},
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/jobs",
        ),
        (
            "logs",
            "PutLogEvents",
            {"logGroupName": "/aws/lambda/f", "logStreamName": "s"},
            "logs:PutLogEvents",
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/f:log-stream:s",
        ),
        (
            "monitoring",
            "PutMetricData",
            {"Namespace": "/aws/sagemaker/x"},
            "cloudwatch:PutMetricData",
            "*",
        ),
    ],
)
def test_operation_to_action_and_resource(
    service: str, operation: str, params: dict, action: str, resource: str
) -> None:
    found = needed(service, operation, params, **WHERE)
    assert found is not None
    assert (found.action, found.resource) == (action, resource)


def test_condition_keys_the_action_supports_come_from_the_request() -> None:
    found = needed(
        "s3", "ListObjectsV2", {"Bucket": "d", "Prefix": "models/", "MaxKeys": 5}, **WHERE
    )
    assert found is not None
    assert found.context == {"s3:prefix": "models/", "s3:max-keys": 5}
    put = needed("monitoring", "PutMetricData", {"Namespace": "/aws/sagemaker/Jobs"}, **WHERE)
    assert put is not None
    assert put.context == {"cloudwatch:namespace": "/aws/sagemaker/Jobs"}


def test_calls_that_need_no_permission_need_nothing() -> None:
    assert needed("sts", "GetCallerIdentity", {}, **WHERE) is None


def test_an_operation_the_reference_does_not_know_is_an_error() -> None:
    with pytest.raises(UnknownActionError, match="s3:FlyToTheMoon"):
        action_of("s3", "FlyToTheMoon")


def test_an_arn_format_needs_every_variable() -> None:
    arn_format = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
    assert fill(arn_format, {"Bucket": "b"}, "aws", "r", "1") is None
    assert fill(arn_format, {"Bucket": "b", "Key": "k/x"}, "aws", "r", "1") == "arn:aws:s3:::b/k/x"
