"""The pipeline's triggers installed in the emulator, under the contract's names."""

from __future__ import annotations

import boto3

from mlops_settings import Settings
from playground import triggers

ROLE = "arn:aws:iam::123456789012:role/trigger"


def test_install_replaces_the_rules_of_the_old_names(emulator: Settings) -> None:
    events = boto3.client("events", region_name=emulator.region)
    pipeline = f"arn:aws:sagemaker:{emulator.region}:123456789012:pipeline/{emulator.pipeline_name}"
    # What stacks set up before the contract, and before Terraform's names, have.
    name = emulator.pipeline_name
    for old in (f"{name}-schedule", f"{name}-training-schedule"):
        events.put_rule(Name=old, ScheduleExpression="rate(7 days)", State="ENABLED")
        events.put_targets(Rule=old, Targets=[{"Id": "start", "Arn": pipeline, "RoleArn": ROLE}])

    changed = triggers.install(emulator, pipeline, ROLE)

    names = {rule["Name"] for rule in events.list_rules()["Rules"]}
    assert names == set(triggers.rule_names(emulator))
    assert f"{emulator.name_prefix}-training-schedule" in names
    assert sum("removed" in line for line in changed) == 2
    assert not any("removed" in line for line in triggers.install(emulator, pipeline, ROLE))
