"""playground.aws_preflight's rules on the answers a new AWS account gives (botocore stubs)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
from botocore.stub import Stubber

from playground import aws_preflight
from playground.aws_preflight import OK, PROBLEM, Plan

PLAN = Plan(name_prefix="acme", state_bucket="acme-terraform-state", region="eu-west-1")


class StubbedSession:
    """A session whose clients answer from stubs (no network)."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}

    def client(self, service: str) -> Any:
        if service not in self.clients:
            client = boto3.client(
                service,
                region_name="eu-west-1",
                aws_access_key_id="k",
                aws_secret_access_key="s",
            )
            self.clients[service] = client
            self.stubs[service] = Stubber(client)
            self.stubs[service].activate()
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        self.client(service)
        return self.stubs[service]


def quota(name: str, value: float) -> dict[str, Any]:
    return {"QuotaName": name, "Value": value, "QuotaCode": "L-1", "ServiceCode": "sagemaker"}


def test_a_zero_quota_is_a_problem_with_the_request_to_make() -> None:
    session = StubbedSession()
    session.stub("service-quotas").add_response(
        "list_service_quotas",
        {
            "Quotas": [
                quota("ml.m5.xlarge for processing job usage", 0),
                quota("ml.m5.xlarge for training job usage", 2),
                quota("ml.p3.2xlarge for training job usage", 0),
            ]
        },
        {"ServiceCode": "sagemaker"},
    )
    findings = {f.check: f for f in aws_preflight.check_sagemaker_quotas(session, PLAN)}
    processing = findings["SageMaker quota: ml.m5.xlarge for processing job usage"]
    assert processing.status == PROBLEM
    assert "ResourceLimitExceeded" in processing.detail
    assert "request-service-quota-increase" in processing.todo
    assert findings["SageMaker quota: ml.m5.xlarge for training job usage"].status == OK


def test_a_new_accounts_lambda_quota_of_10_cannot_reserve() -> None:
    session = StubbedSession()
    limit = {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}
    session.stub("lambda").add_response("get_account_settings", {"AccountLimit": limit})
    finding = aws_preflight.check_lambda_concurrency(session, PLAN)
    assert finding.status == PROBLEM
    assert "API_RESERVED_CONCURRENCY=-1 FEEDBACK_RESERVED_CONCURRENCY=-1" in finding.todo


def test_the_lambda_rule_keeps_100_unreserved() -> None:
    # 5 + 2 reserved out of 107 unreserved leaves exactly the 100 Lambda keeps.
    for unreserved, status in ((107, OK), (106, PROBLEM)):
        session = StubbedSession()
        limit = {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": unreserved}
        session.stub("lambda").add_response("get_account_settings", {"AccountLimit": limit})
        assert aws_preflight.check_lambda_concurrency(session, PLAN).status == status
    # Without reservations (-1) nothing needs to stay free.
    session = StubbedSession()
    limit = {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}
    session.stub("lambda").add_response("get_account_settings", {"AccountLimit": limit})
    uncapped = replace(PLAN, api_reserved_concurrency=-1, feedback_reserved_concurrency=-1)
    assert aws_preflight.check_lambda_concurrency(session, uncapped).status == OK


def test_a_bucket_name_owned_by_another_account_is_a_problem() -> None:
    session = StubbedSession()
    s3 = session.stub("s3")
    s3.add_client_error("head_bucket", "404", http_status_code=404)  # the state bucket: free
    s3.add_client_error("head_bucket", "403", http_status_code=403)  # acme-data: taken
    for _ in range(3):
        s3.add_client_error("head_bucket", "404", http_status_code=404)
    for _ in range(4):
        session.stub("iam").add_client_error("get_role", "NoSuchEntity", http_status_code=404)
    for _ in range(2):
        session.stub("lambda").add_client_error(
            "get_function", "ResourceNotFoundException", http_status_code=404
        )
    sagemaker = session.stub("sagemaker")
    sagemaker.add_client_error(
        "describe_model_package_group", "ValidationException", "Model package group not found"
    )
    sagemaker.add_client_error(
        "describe_pipeline", "ResourceNotFound", "Pipeline does not exist", http_status_code=404
    )
    findings = {f.check: f for f in aws_preflight.check_names(session, PLAN)}
    assert findings["bucket acme-data"].status == PROBLEM
    assert "TF_VAR_name_prefix" in findings["bucket acme-data"].todo
    assert findings["state bucket acme-terraform-state"].status == OK
