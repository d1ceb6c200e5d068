"""The real emulator with its pipeline middleware, and a pipeline that runs nothing heavy.

For tests of what starts pipeline executions (a new dataset version's manifest, a schedule, a
feedback review): `live_stack` runs the emulator process as `make up` does, `echo_pipeline`
installs a one-step pipeline and its triggers, `settle` waits for executions to finish.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest

from localaws.background import free_port
from mlops_settings import Settings
from playground import roles, stack, triggers
from support.denials import assert_no_new_denials

# A pipeline that runs nothing heavy: its one step fails with the parameters it was given, so
# the failure reason shows what the trigger passed.
ECHO_DEFINITION = {
    "Version": "2020-12-01",
    "Parameters": [
        {"Name": "DatasetManifestKey", "Type": "String", "DefaultValue": "raw/mnist/latest.json"},
        {"Name": "Epochs", "Type": "Integer", "DefaultValue": 10},
    ],
    "Steps": [
        {
            "Name": "Echo",
            "Type": "Fail",
            "Arguments": {
                "ErrorMessage": {
                    "Std:Join": {
                        "On": " ",
                        "Values": [
                            "manifest",
                            {"Get": "Parameters.DatasetManifestKey"},
                            "epochs",
                            {"Get": "Parameters.Epochs"},
                        ],
                    }
                }
            },
        }
    ],
}


@contextmanager
def live_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    """The real emulator process (journal + pipeline middleware) on a free port, stopped
    afterwards; every AWS client of the process points at it."""
    monkeypatch.setenv("PLAYGROUND_EMULATOR_PORT", str(free_port()))
    monkeypatch.setenv("PLAYGROUND_STATE_DIR", str(tmp_path / "state"))
    for key in [k for k in os.environ if k.startswith("AWS_PROFILE") or "ENDPOINT_URL" in k]:
        monkeypatch.delenv(key)
    for key, value in Settings().aws_environment().items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    stack.start(settings)
    try:
        yield settings
        # Every actor of these flows (EventBridge's target, the jobs, the CLI's people) acts
        # as its role with enforcement on: any denial is a policy AWS would refuse too.
        assert_no_new_denials(settings.emulator_url, 0)
    finally:
        stack.stop(settings)


def trigger_role(settings: Settings) -> str:
    """The role EventBridge's targets run as: Terraform's ``training_trigger`` (`make up`'s)."""
    return roles.role_arn(settings, "training_trigger")


def echo_pipeline(settings: Settings, fixed: dict[str, str] | None = None) -> str:
    """The echo pipeline with the pipeline jobs' role, its triggers with the trigger's role."""
    client = boto3.client("sagemaker")
    arn = client.create_pipeline(
        PipelineName=settings.pipeline_name,
        PipelineDefinition=json.dumps(ECHO_DEFINITION),
        RoleArn=roles.role_arn(settings, "sagemaker_execution"),
    )["PipelineArn"]
    triggers.install(settings, arn, trigger_role(settings), fixed)
    return str(arn)


def executions(settings: Settings) -> list[dict]:
    client = boto3.client("sagemaker")
    return list(
        client.list_pipeline_executions(PipelineName=settings.pipeline_name)[
            "PipelineExecutionSummaries"
        ]
    )


def settle(settings: Settings, count: int, timeout: float = 60.0) -> list[dict]:
    """Wait until `count` executions exist and none is still executing (a little longer, to
    catch an extra one that should not come)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = executions(settings)
        if len(found) >= count and all(e["PipelineExecutionStatus"] != "Executing" for e in found):
            time.sleep(1.5)
            return executions(settings)
        time.sleep(0.3)
    raise AssertionError(f"expected {count} settled executions, have {executions(settings)}")
