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
    """(new dataset version rule, schedule rule): the pipeline's name + the contract's suffixes."""
    contract = _contract(settings)
    return (
        settings.pipeline_name + contract["new_dataset_version"]["name_suffix"],
        settings.pipeline_name + contract["schedule"]["name_suffix"],
    )


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
    changed += _remove_renamed_rule(events, settings, schedule_rule)
    for name, shape in wanted.items():
        events.put_rule(Name=name, State="ENABLED", **shape)
        listed = list(fixed)
        target: dict[str, Any] = {
            "Id": f"start-{settings.pipeline_name}",
            "Arn": pipeline_arn,
            "RoleArn": role_arn,
            "SageMakerPipelineParameters": {"PipelineParameterList": listed},
        }
        events.put_targets(Rule=name, Targets=[target])
        changed.append(f"EventBridge rule {name}")
    return changed


def _remove_renamed_rule(events: Any, settings: Settings, schedule_rule: str) -> list[str]:
    """Delete the schedule rule under its name before the contract ("<pipeline>-schedule").

    Left in place, a stack set up before would run the pipeline twice on every schedule.
    """
    old = f"{settings.pipeline_name}-schedule"
    if old == schedule_rule:
        return []
    try:
        targets = events.list_targets_by_rule(Rule=old)["Targets"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return []
        raise
    if targets:
        events.remove_targets(Rule=old, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=old)
    return [f"EventBridge rule {old} removed (renamed {schedule_rule})"]
