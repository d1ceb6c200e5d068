"""The pipeline's triggers in the emulator, as `terraform/events.tf` creates them in AWS.

A new dataset version's manifest (``<raw prefix>/<version>/manifest.json``, written last by
`playground data seed`) and a schedule start the pipeline: the data bucket sends its object
events to EventBridge, one rule matches only manifest keys, another fires on the schedule, and
both target the SageMaker pipeline with the pipeline's defaults, so both train on
``<raw prefix>/latest.json``, which `playground data seed` writes before the manifest: when the
manifest's event arrives, ``latest.json`` already names that version.

The targets pass no value taken from the event: a rule's SageMaker pipeline parameters are
static values (reading JSON paths from the event into target parameters is a feature of
EventBridge Pipes, not of rules; see the EventBridge user guide, "Amazon EventBridge Pipes
targets", "Dynamic path parameters").
"""

from __future__ import annotations

import json
from pathlib import Path
from string import Template
from typing import Any

import boto3
from botocore.exceptions import ClientError

from mlops_settings import Settings

# Both rules are written once, here and for Terraform (templatefile in terraform/events.tf):
# ${data_bucket} and ${raw_prefix} are filled in by each side.
CONTRACT = Path(__file__).resolve().parents[4] / "contracts" / "pipeline-triggers.json"


def _contract(settings: Settings) -> dict[str, Any]:
    text = Template(CONTRACT.read_text()).substitute(
        data_bucket=settings.data_bucket, raw_prefix=settings.raw_prefix
    )
    return dict(json.loads(text))


def rule_names(settings: Settings) -> tuple[str, str]:
    """(new dataset version rule, schedule rule): the name prefix + the contract's suffixes.

    As terraform/events.tf names them (``${var.name_prefix}<suffix>``).
    """
    contract = _contract(settings)
    return (
        settings.name_prefix + contract["new_dataset_version"]["name_suffix"],
        settings.name_prefix + contract["schedule"]["name_suffix"],
    )


def retry_policy(settings: Settings) -> dict[str, int]:
    """The targets' retry policy (EventBridge's ``RetryPolicy``) from the contract."""
    policy = _contract(settings)["retry_policy"]
    return {
        "MaximumEventAgeInSeconds": int(policy["maximum_event_age_in_seconds"]),
        "MaximumRetryAttempts": int(policy["maximum_retry_attempts"]),
    }


def manifest_event_pattern(settings: Settings) -> dict[str, Any]:
    """Matches the creation of a dataset manifest, and no other object (no data file)."""
    return dict(_contract(settings)["new_dataset_version"]["event_pattern"])


def install(
    settings: Settings,
    pipeline_arn: str,
    role_arn: str,
    parameters: dict[str, str] | None = None,
) -> list[str]:
    """Create or update the bucket's EventBridge delivery, both rules and their targets.

    ``parameters`` are fixed pipeline parameters every triggered execution gets (e.g.
    ``{"Epochs": "1"}`` for a quick rehearsal). Returns what it created or changed.
    """
    s3 = boto3.client("s3", region_name=settings.region)
    events = boto3.client("events", region_name=settings.region)
    changed: list[str] = []
    current = s3.get_bucket_notification_configuration(Bucket=settings.data_bucket)
    if "EventBridgeConfiguration" not in current:
        s3.put_bucket_notification_configuration(
            Bucket=settings.data_bucket,
            NotificationConfiguration={"EventBridgeConfiguration": {}},
        )
        changed.append(f"s3://{settings.data_bucket} events to EventBridge")
    fixed = [{"Name": k, "Value": v} for k, v in sorted((parameters or {}).items())]
    data_rule, schedule_rule = rule_names(settings)
    wanted = {
        data_rule: {"EventPattern": json.dumps(manifest_event_pattern(settings))},
        schedule_rule: {"ScheduleExpression": settings.training_schedule},
    }
    changed += _remove_renamed_rules(events, settings, set(wanted))
    for name, shape in wanted.items():
        events.put_rule(Name=name, State="ENABLED", **shape)
        listed = list(fixed)
        target: dict[str, Any] = {
            "Id": f"start-{settings.pipeline_name}",
            "Arn": pipeline_arn,
            "RoleArn": role_arn,
            "SageMakerPipelineParameters": {"PipelineParameterList": listed},
            "RetryPolicy": retry_policy(settings),
        }
        events.put_targets(Rule=name, Targets=[target])
        changed.append(f"EventBridge rule {name}")
    return changed


def _remove_renamed_rules(events: Any, settings: Settings, current: set[str]) -> list[str]:
    """Delete the rules under the names they had before (left, they would start runs twice).

    Before the contract the schedule rule was ``<pipeline>-schedule``; before the names
    followed Terraform's, both rules were ``<pipeline><suffix>``.
    """
    contract = _contract(settings)
    older = {
        f"{settings.pipeline_name}-schedule",
        settings.pipeline_name + contract["new_dataset_version"]["name_suffix"],
        settings.pipeline_name + contract["schedule"]["name_suffix"],
    }
    removed = []
    for old in sorted(older - current):
        try:
            targets = events.list_targets_by_rule(Rule=old)["Targets"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                continue
            raise
        if targets:
            events.remove_targets(Rule=old, Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=old)
        removed.append(f"EventBridge rule {old} removed (renamed as in Terraform)")
    return removed
