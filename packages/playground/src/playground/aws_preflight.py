"""Before the first apply: what in this AWS account would stop docs/aws.md, and what to do.

Read-only: every call is a Get, List, Describe or Head with the deployer's own credentials,
so it can run before anything exists. Each check ends `ok`, `problem` (with what to do) or
`unchecked` (the account or the endpoint did not answer the question; named, never guessed).

The rules checked, and where they come from:

- SageMaker processing and training jobs need a quota above 0 for their instance type (Service
  Quotas, service code `sagemaker`, quotas "<type> for processing job usage" and "<type> for
  training job usage"); new accounts often have 0 and the first execution fails with
  `ResourceLimitExceeded`.
- Lambda keeps at least 100 concurrent executions unreserved, so reserving N needs
  `UnreservedConcurrentExecutions - N >= 100` (Lambda Developer Guide, "Configuring reserved
  concurrency"); a new account's quota of 10 allows no reservation at all.
- CloudFront refuses new distributions of unverified accounts (`AccessDenied: Your account must
  be verified before you can add new CloudFront resources`); no read-only call tells, so the
  check says how to find out and the way on without CloudFront.
- Bucket names are global: a `403` on HeadBucket means another account owns the name.
- One GitHub OIDC provider per account: if it exists, Terraform must be given its ARN.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

OK, PROBLEM, UNCHECKED = "ok", "problem", "unchecked"
LAMBDA_MIN_UNRESERVED = 100  # Lambda Developer Guide, "Configuring reserved concurrency"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"


@dataclass(frozen=True)
class Finding:
    """One check: its name, outcome (ok, problem, unchecked), what was seen, what to do."""

    check: str
    status: str
    detail: str
    todo: str = ""


@dataclass(frozen=True)
class Plan:
    """What the runbook will create: the prefix and the choices that change the checks."""

    name_prefix: str
    state_bucket: str
    region: str
    processing_instance_type: str = "ml.m5.xlarge"
    training_instance_type: str = "ml.m5.xlarge"
    api_reserved_concurrency: int = 5
    feedback_reserved_concurrency: int = 2
    github: bool = False
    model_package_group: str = "mnist"
    pipeline_name: str = "mnist-training"

    @property
    def buckets(self) -> list[str]:
        """The buckets Terraform creates (global names)."""
        return [f"{self.name_prefix}-{name}" for name in ("data", "models", "site", "logs")]

    @property
    def roles(self) -> list[str]:
        """The IAM roles Terraform creates."""
        names = ["sagemaker-execution", "get-models", "feedback", "training-trigger"]
        if self.github:
            names += ["github-deploy", "github-plan"]
        return [f"{self.name_prefix}-{name}" for name in names]

    @property
    def functions(self) -> list[str]:
        """The Lambda functions Terraform creates."""
        return [f"{self.name_prefix}-get-models", f"{self.name_prefix}-feedback"]


def _error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', '?')}: {error.get('Message', '')}".strip()
    return str(exc)


def check_identity(session: Any) -> Finding:
    """Who the credentials are (sts:GetCallerIdentity needs no permission)."""
    try:
        who = session.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        return Finding(
            "identity",
            PROBLEM,
            _error(exc),
            "configure the deployer's credentials (aws configure, or AWS_PROFILE)",
        )
    return Finding("identity", OK, f"account {who['Account']}, {who['Arn']}")


def check_sagemaker_quotas(session: Any, plan: Plan) -> list[Finding]:
    """The account's quota for each job the pipeline runs, by instance type."""
    wanted = {
        f"{plan.processing_instance_type} for processing job usage": "processing",
        f"{plan.training_instance_type} for training job usage": "training",
    }
    found: dict[str, float] = {}
    try:
        pages = session.client("service-quotas").get_paginator("list_service_quotas")
        for page in pages.paginate(ServiceCode="sagemaker"):
            for quota in page.get("Quotas", []):
                if quota.get("QuotaName") in wanted:
                    found[quota["QuotaName"]] = float(quota.get("Value", 0))
    except (ClientError, BotoCoreError) as exc:
        return [
            Finding(
                f"SageMaker quota: {name}",
                UNCHECKED,
                f"Service Quotas did not answer ({_error(exc)})",
                "check it in the Service Quotas console (Amazon SageMaker); at least 1 is needed",
            )
            for name in wanted
        ]
    findings = []
    for name, kind in wanted.items():
        value = found.get(name)
        check = f"SageMaker quota: {name}"
        if value is None:
            findings.append(Finding(check, UNCHECKED, "not listed for this account and region"))
        elif value < 1:
            findings.append(
                Finding(
                    check,
                    PROBLEM,
                    f"{value:g}: every {kind} job would fail with ResourceLimitExceeded",
                    "aws service-quotas request-service-quota-increase --service-code sagemaker "
                    f"--quota-code <code of '{name}'> --desired-value 1 (hours to days)",
                )
            )
        else:
            findings.append(Finding(check, OK, f"{value:g} instance(s)"))
    return findings


def check_lambda_concurrency(session: Any, plan: Plan) -> Finding:
    """Whether the account can reserve the concurrency the two functions ask for."""
    reserved = max(plan.api_reserved_concurrency, 0) + max(plan.feedback_reserved_concurrency, 0)
    try:
        settings = session.client("lambda").get_account_settings()
    except (ClientError, BotoCoreError) as exc:
        return Finding(
            "Lambda concurrency",
            UNCHECKED,
            f"GetAccountSettings did not answer ({_error(exc)})",
            "see the Lambda console's account concurrency; below "
            f"{reserved + LAMBDA_MIN_UNRESERVED}: set API_RESERVED_CONCURRENCY=-1 "
            "FEEDBACK_RESERVED_CONCURRENCY=-1",
        )
    limit = settings.get("AccountLimit", {})
    unreserved = int(limit.get("UnreservedConcurrentExecutions", 0))
    total = int(limit.get("ConcurrentExecutions", 0))
    if reserved and unreserved - reserved < LAMBDA_MIN_UNRESERVED:
        return Finding(
            "Lambda concurrency",
            PROBLEM,
            f"quota {total}, {unreserved} unreserved: reserving {reserved} would leave fewer "
            f"than the {LAMBDA_MIN_UNRESERVED} Lambda keeps unreserved",
            "export API_RESERVED_CONCURRENCY=-1 FEEDBACK_RESERVED_CONCURRENCY=-1 (no cap, no "
            "cost bound) and set the same repository variables, or ask for a quota increase",
        )
    return Finding(
        "Lambda concurrency", OK, f"quota {total}, {unreserved} unreserved, {reserved} reserved"
    )


def check_cloudfront(session: Any) -> Finding:
    """CloudFront's account verification cannot be read; say how to tell and the way on."""
    try:
        count = len(
            session.client("cloudfront")
            .list_distributions()
            .get("DistributionList", {})
            .get("Items", [])
            or []
        )
    except (ClientError, BotoCoreError) as exc:
        return Finding(
            "CloudFront",
            UNCHECKED,
            f"ListDistributions did not answer ({_error(exc)})",
            "if the first apply fails with 'Your account must be verified', open a case with "
            "AWS Support; meanwhile TF_VAR_enable_cloudfront=false and "
            "TF_VAR_site_origin=http://localhost:5173 serve the site from your machine",
        )
    if count:
        return Finding(
            "CloudFront", OK, f"{count} distribution(s) exist: the account may create them"
        )
    return Finding(
        "CloudFront",
        UNCHECKED,
        "no distribution yet; whether this account may create one shows only on the first apply",
        "if it fails with 'Your account must be verified', open a case with AWS Support; "
        "meanwhile TF_VAR_enable_cloudfront=false and TF_VAR_site_origin=http://localhost:5173 "
        "(the site served by `playground site serve`) deploy everything else",
    )


def _bucket_state(s3: Any, bucket: str) -> str:
    """'free', 'yours' or 'taken' (403: another account owns the global name)."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchBucket", "NotFound"}:
            return "free"
        if code in {"403", "AccessDenied", "Forbidden"}:
            return "taken"
        raise
    return "yours"


def check_names(session: Any, plan: Plan) -> list[Finding]:
    """Whether the names the runbook creates are free, already this account's, or taken."""
    s3 = session.client("s3")
    findings = []
    try:
        state = _bucket_state(s3, plan.state_bucket)
        findings.append(
            Finding(
                f"state bucket {plan.state_bucket}",
                PROBLEM if state == "taken" else OK,
                {
                    "free": "free: step 2 creates it",
                    "yours": "exists in this account: skip step 2",
                    "taken": "owned by another account",
                }[state],
                "choose another TF_VAR_name_prefix" if state == "taken" else "",
            )
        )
        for bucket in plan.buckets:
            state = _bucket_state(s3, bucket)
            if state == "taken":
                findings.append(
                    Finding(
                        f"bucket {bucket}",
                        PROBLEM,
                        "owned by another account (bucket names are global)",
                        "choose another TF_VAR_name_prefix",
                    )
                )
            elif state == "yours":
                findings.append(Finding(f"bucket {bucket}", OK, "exists in this account already"))
    except (ClientError, BotoCoreError) as exc:
        findings.append(Finding("bucket names", UNCHECKED, f"HeadBucket failed ({_error(exc)})"))
    findings += _existing(
        "IAM role", plan.roles, lambda name: session.client("iam").get_role(RoleName=name)
    )
    findings += _existing(
        "Lambda function",
        plan.functions,
        lambda name: session.client("lambda").get_function(FunctionName=name),
    )
    sagemaker = session.client("sagemaker")
    findings += _existing(
        "model package group",
        [f"{plan.name_prefix}-{plan.model_package_group}"],
        lambda name: sagemaker.describe_model_package_group(ModelPackageGroupName=name),
    )
    findings += _existing(
        "pipeline",
        [f"{plan.name_prefix}-{plan.pipeline_name}"],
        lambda name: sagemaker.describe_pipeline(PipelineName=name),
    )
    if len(findings) == 1:  # the state bucket's only
        findings.append(Finding("names", OK, f"no {plan.name_prefix}-* resource exists yet"))
    if plan.github:
        findings.append(_github_provider(session))
    return findings


def _existing(kind: str, names: Iterable[str], read: Any) -> list[Finding]:
    """A finding for each name that exists already (Terraform would fail to create it)."""
    findings = []
    for name in names:
        try:
            read(name)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if code in {"NoSuchEntity", "ResourceNotFoundException", "ResourceNotFound"} or (
                code == "ValidationException" and "not" in message.lower()
            ):
                continue
            findings.append(Finding(f"{kind} {name}", UNCHECKED, _error(exc)))
            continue
        except BotoCoreError as exc:
            findings.append(Finding(f"{kind} {name}", UNCHECKED, _error(exc)))
            continue
        findings.append(
            Finding(
                f"{kind} {name}",
                PROBLEM,
                "exists already, not in this deployment's state",
                "if it is a previous deployment's, `make tf-destroy` it with that state, or "
                "choose another TF_VAR_name_prefix",
            )
        )
    return findings


def _github_provider(session: Any) -> Finding:
    try:
        providers = session.client("iam").list_open_id_connect_providers()
    except (ClientError, BotoCoreError) as exc:
        return Finding("GitHub OIDC provider", UNCHECKED, _error(exc))
    for provider in providers.get("OpenIDConnectProviderList", []):
        if provider["Arn"].endswith(f"/{GITHUB_OIDC_HOST}"):
            return Finding(
                "GitHub OIDC provider",
                PROBLEM,
                f"exists already ({provider['Arn']}); one per account",
                f"export TF_VAR_github_oidc_provider_arn={provider['Arn']}",
            )
    return Finding("GitHub OIDC provider", OK, "none yet: the first apply creates it")


def preflight(plan: Plan, session: Any | None = None) -> list[Finding]:
    """Every check for `plan`, in the order docs/aws.md needs them.

    The region is the plan's (AWS_REGION in the runbook); boto3 reads the endpoint and the
    credentials from the environment as the AWS CLI does.
    """
    session = session or boto3.Session(region_name=plan.region)
    identity = check_identity(session)
    findings = [Finding("region", OK, plan.region), identity]
    if identity.status != OK:
        return findings
    findings += check_sagemaker_quotas(session, plan)
    findings.append(check_lambda_concurrency(session, plan))
    findings.append(check_cloudfront(session))
    findings += check_names(session, plan)
    return findings


def region_from_environment() -> str | None:
    """The region the runbook's shell sets (AWS_REGION, else AWS_DEFAULT_REGION)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
