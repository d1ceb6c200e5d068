"""playground.aws_preflight against the emulator standing in for an account.

What the emulator can hold (identity, buckets, roles, functions, the OIDC provider) is
checked for real; what it cannot answer (Service Quotas for SageMaker, Lambda's account
settings, CloudFront's account verification) must come back `unchecked`, by name, never `ok`.
"""

from __future__ import annotations

import json

import boto3
import requests

from mlops_settings import Settings
from playground import aws_preflight
from playground.aws_preflight import OK, PROBLEM, UNCHECKED, Plan

PREFIX = "acme-preflight"


def plan(settings: Settings, github: bool = True) -> Plan:
    return Plan(
        name_prefix=PREFIX,
        state_bucket=f"{PREFIX}-terraform-state",
        region=settings.region,
        github=github,
    )


def by_check(findings: list[aws_preflight.Finding]) -> dict[str, aws_preflight.Finding]:
    return {finding.check: finding for finding in findings}


def test_an_empty_account_has_nothing_in_the_way(emulator: Settings) -> None:
    findings = by_check(aws_preflight.preflight(plan(emulator)))
    assert findings["identity"].status == OK
    assert "account 123456789012" in findings["identity"].detail
    assert findings[f"state bucket {PREFIX}-terraform-state"].status == OK
    assert findings["names"].status == OK
    assert findings["GitHub OIDC provider"].status == OK
    # The emulator holds no SageMaker quotas, no Lambda account settings and no CloudFront
    # verification: said by name, with what to do, never passed as ok.
    for name in (
        "SageMaker quota: ml.m5.xlarge for processing job usage",
        "SageMaker quota: ml.m5.xlarge for training job usage",
        "Lambda concurrency",
        "CloudFront",
    ):
        assert findings[name].status == UNCHECKED, name
        assert findings[name].todo, name
    assert "enable_cloudfront=false" in findings["CloudFront"].todo
    assert not [f for f in findings.values() if f.status == PROBLEM]


def test_names_in_use_and_the_oidc_provider_are_named_with_the_way_on(
    emulator: Settings,
) -> None:
    region = emulator.region
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=f"{PREFIX}-terraform-state")
    s3.create_bucket(Bucket=f"{PREFIX}-models")
    iam = boto3.client("iam", region_name=region)
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(RoleName=f"{PREFIX}-feedback", AssumeRolePolicyDocument=json.dumps(trust))
    provider = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["a" * 40],
    )["OpenIDConnectProviderArn"]
    findings = by_check(aws_preflight.preflight(plan(emulator)))
    assert "skip step 2" in findings[f"state bucket {PREFIX}-terraform-state"].detail
    assert findings[f"bucket {PREFIX}-models"].status == OK  # this account's already
    assert findings[f"IAM role {PREFIX}-feedback"].status == PROBLEM
    assert "names" not in findings
    oidc = findings["GitHub OIDC provider"]
    assert oidc.status == PROBLEM
    assert oidc.todo == f"export TF_VAR_github_oidc_provider_arn={provider}"


def test_the_checks_send_nothing_aws_would_refuse(emulator: Settings) -> None:
    # The emulator is the session's: other tests' deliberate refusals are counted before this.
    violations = f"{emulator.endpoint_url}/_playground/violations"
    before = requests.get(violations, timeout=10).json()["violations"]
    aws_preflight.preflight(plan(emulator))
    report = requests.get(violations, timeout=10).json()
    assert report["violations"] == before, list(report["recent"])[
        -(report["violations"] - before) :
    ]
