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
from typing import Any

import boto3

from mlops_settings import Settings


def rule_names(settings: Settings) -> tuple[str, str]:
    """(new dataset version rule, schedule rule), named after the pipeline."""
    return f"{settings.pipeline_name}-new-dataset-version", f"{settings.pipeline_name}-schedule"


def manifest_event_pattern(settings: Settings) -> dict[str, Any]:
    """Matches the creation of a dataset manifest, and no other object (no data file)."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [settings.data_bucket]},
            "object": {"key": [{"wildcard": f"{settings.raw_prefix}/*/manifest.json"}]},
        },
    }


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
