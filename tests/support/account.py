"""An account's configuration as plain data, to compare the local stack with Terraform's.

`describe` reads, through the AWS APIs only, what decides how the system behaves: each
bucket's versioning, encryption, public access block, CORS, notifications, policy, lifecycle
and logging; each role's trust policy and inline and attached policies; each Lambda function's
role, runtime, handler, resources, environment, concurrency, Function URL and resource policy;
the log groups; every EventBridge rule and its targets; the model package groups and the
pipelines. Data (objects, model versions, executions) is not configuration and is left out.

`flatten` turns it into {path: value} so two accounts compare leaf by leaf, and a difference
names exactly the setting that differs (``buckets/<name>/versioning``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

Clients = Callable[[str], Any]


def _or_none(call: Callable[[], Any], *missing: str) -> Any:
    """The call's answer, or None when the service says the thing is not configured."""
    try:
        return call()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in missing:
            return None
        raise


def _policy(text: str | None) -> Any:
    """A policy document keyed by statement id (or position), so statements compare alone."""
    if not text:
        return None
    document = json.loads(text)
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    return {str(s.get("Sid") or i): s for i, s in enumerate(statements)}


def buckets(s3: Any, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Each bucket's configuration, by name."""
    found: dict[str, Any] = {}
    for bucket in sorted(b["Name"] for b in s3.list_buckets()["Buckets"]):
        if bucket in set(skip):
            continue
        versioning = s3.get_bucket_versioning(Bucket=bucket)
        notification = s3.get_bucket_notification_configuration(Bucket=bucket)
        notification.pop("ResponseMetadata", None)
        cors = _or_none(lambda b=bucket: s3.get_bucket_cors(Bucket=b), "NoSuchCORSConfiguration")
        policy = _or_none(
            lambda b=bucket: s3.get_bucket_policy(Bucket=b)["Policy"], "NoSuchBucketPolicy"
        )
        block = _or_none(
            lambda b=bucket: s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"],
            "NoSuchPublicAccessBlockConfiguration",
        )
        encryption = _or_none(
            lambda b=bucket: s3.get_bucket_encryption(Bucket=b)[
                "ServerSideEncryptionConfiguration"
            ]["Rules"],
            "ServerSideEncryptionConfigurationNotFoundError",
        )
        lifecycle = _or_none(
            lambda b=bucket: s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"],
            "NoSuchLifecycleConfiguration",
        )
        logging = s3.get_bucket_logging(Bucket=bucket).get("LoggingEnabled")
        found[bucket] = {
            "versioning": versioning.get("Status"),
            "encryption": encryption,
            "public access block": block,
            "cors": {str(r.get("ID", i)): r for i, r in enumerate(cors["CORSRules"])}
            if cors
            else None,
            "notification": notification or None,
            "policy": _policy(policy),
            "lifecycle": {r["ID"]: r for r in lifecycle} if lifecycle else None,
            "logging": logging,
        }
    return found


def roles(iam: Any) -> dict[str, Any]:
    """Each role's trust policy and its inline and attached policies, by name."""
    found: dict[str, Any] = {}
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            name = role["RoleName"]
            inline = {
                policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
            }
            attached = sorted(
                p["PolicyArn"]
                for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
            )
            found[name] = {
                "trust policy": iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"],
                "inline policies": inline,
                "attached policies": attached,
            }
    return found


def functions(lambda_: Any) -> dict[str, Any]:
    """Each Lambda function's settings, URL and resource policy, by name."""
    found: dict[str, Any] = {}
    for page in lambda_.get_paginator("list_functions").paginate():
        for summary in page["Functions"]:
            name = summary["FunctionName"]
            function = lambda_.get_function(FunctionName=name)
            config = function["Configuration"]
            url = _or_none(
                lambda n=name: lambda_.get_function_url_config(FunctionName=n),
                "ResourceNotFoundException",
            )
            policy = _or_none(
                lambda n=name: lambda_.get_policy(FunctionName=n)["Policy"],
                "ResourceNotFoundException",
            )
            found[name] = {
                "role": config.get("Role"),
                "runtime": config.get("Runtime"),
                "handler": config.get("Handler"),
                "architectures": config.get("Architectures"),
                "memory": config.get("MemorySize"),
                "timeout": config.get("Timeout"),
                "environment": config.get("Environment", {}).get("Variables"),
                "tracing": config.get("TracingConfig", {}).get("Mode"),
                "reserved concurrency": function.get("Concurrency", {}).get(
                    "ReservedConcurrentExecutions"
                ),
                "url": {"auth type": url.get("AuthType"), "cors": url.get("Cors")} if url else None,
                "policy": _policy(policy),
            }
    return found


# Log groups a service makes when it runs (SageMaker's jobs write to these), not configuration.
RUN_TIME_LOG_GROUPS = ("/aws/sagemaker/",)


def log_groups(logs: Any) -> dict[str, Any]:
    """Each log group's retention, by name (not those a service makes at run time)."""
    return {
        group["logGroupName"]: {"retention days": group.get("retentionInDays")}
        for page in logs.get_paginator("describe_log_groups").paginate()
        for group in page["logGroups"]
        if not group["logGroupName"].startswith(RUN_TIME_LOG_GROUPS)
    }


def rules(events: Any) -> dict[str, Any]:
    """Each EventBridge rule of the default bus, with its targets by id."""
    found: dict[str, Any] = {}
    for rule in events.list_rules()["Rules"]:
        name = rule["Name"]
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
        found[name] = {
            "state": rule.get("State"),
            "event pattern": json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None,
            "schedule": rule.get("ScheduleExpression"),
            "targets": {target.pop("Id"): target for target in targets},
        }
    return found


def sagemaker(client: Any) -> dict[str, Any]:
    """The model package groups and the pipelines (role and definition), by name."""
    groups = {
        g["ModelPackageGroupName"]: {}
        for g in client.list_model_package_groups()["ModelPackageGroupSummaryList"]
    }
    pipelines = {}
    for summary in client.list_pipelines()["PipelineSummaries"]:
        pipeline = client.describe_pipeline(PipelineName=summary["PipelineName"])
        pipelines[pipeline["PipelineName"]] = {
            "role": pipeline.get("RoleArn"),
            "definition": json.loads(pipeline["PipelineDefinition"]),
        }
    return {"model package groups": groups, "pipelines": pipelines}


def describe(clients: Clients, skip_buckets: Iterable[str] = ()) -> dict[str, Any]:
    """The account's configuration (see the module's docstring)."""
    return {
        "buckets": buckets(clients("s3"), skip_buckets),
        "roles": roles(clients("iam")),
        "functions": functions(clients("lambda")),
        "log groups": log_groups(clients("logs")),
        "rules": rules(clients("events")),
        **sagemaker(clients("sagemaker")),
    }


ABSENT = "(absent)"


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """{``a/b/c``: leaf} of nested dicts; lists and other values are leaves.

    A list of plain values is sorted (AWS keeps them as sets: a policy's actions, CORS
    headers); an empty dict is a leaf of its own.
    """
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{path}/{key}" if path else str(key)))
        return flat
    if isinstance(value, list) and all(isinstance(v, str | int | float | bool) for v in value):
        return {path: sorted(value, key=str)}
    return {path: value}


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{path: (expected value, actual value)} of every leaf that differs or is on one side.

    A leaf on one side only has `ABSENT` on the other.
    """
    left, right = flatten(expected), flatten(actual)
    found = {}
    for path in sorted(set(left) | set(right)):
        a, b = left.get(path, ABSENT), right.get(path, ABSENT)
        if a != b:
            found[path] = (a, b)
    return found
