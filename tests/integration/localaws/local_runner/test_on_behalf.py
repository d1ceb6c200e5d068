"""What SageMaker does as the job's role outside the script, done by the runner as that role.

One processing step runs on an emulator with IAM enforcement on, as the job role of
iam/sagemaker-execution.json rendered for `make up`'s names (`playground.roles`), and as
that role with one action taken out: the image pull and the log writes are decided as IAM
decides them, and a role that could not do them in AWS fails the step.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from localaws.credentials import job_credentials
from localaws.emulator import DENIALS_PATH
from localaws.local_runner import FAILED, SUCCEEDED, LocalRunner
from mlops_settings import Settings
from playground import roles
from support.in_process_emulator import enforcing_emulator

ACCOUNT = "123456789012"
REGION = "us-east-1"
SETTINGS = Settings(target="local")
BUCKET = SETTINGS.data_bucket
PREFIX = f"pipelines/{SETTINGS.pipeline_name}"
# The image pipeline.py names (AWS's Deep Learning Containers registry).
IMAGE = f"763104351884.dkr.ecr.{REGION}.amazonaws.com/pytorch-training:2.10.0-cpu-py313"
SCRIPT = """
import os
from pathlib import Path
root = Path(os.environ["OPT_ML"])
print("reading", (root / "processing/input/raw/numbers.txt").read_text().strip())
(root / "processing/output/data/done.txt").write_text("done")
print("wrote done.txt")
"""


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An emulator enforcing IAM, with the data bucket, the step's code and its input."""
    with enforcing_emulator(tmp_path_factory.mktemp("emulator")) as url:
        s3 = root_client(url, "s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/code/step.py", Body=SCRIPT.encode())
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/input/numbers.txt", Body=b"1 2 3")
        yield url


def root_client(endpoint: str, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def job_role(endpoint: str, name: str, without: str = "") -> str:
    """The job role of iam/sagemaker-execution.json, named ``name``, less one action."""
    role = next(r for r in roles.service_roles(SETTINGS) if r.resource == "sagemaker_execution")
    policies = roles.rendered_policies(role, SETTINGS, ACCOUNT)
    for document in policies.values():
        for statement in document["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            statement["Action"] = [a for a in actions if a != without]
        document["Statement"] = [s for s in document["Statement"] if s["Action"]]
    iam = root_client(endpoint, "iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(role.trust_policy(ACCOUNT)))
    for policy_name, document in policies.items():
        iam.put_role_policy(
            RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
        )
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def definition(role_arn: str) -> dict[str, Any]:
    def s3_input(name: str, key: str, local: str) -> dict[str, Any]:
        return {
            "InputName": name,
            "S3Input": {
                "S3Uri": f"s3://{BUCKET}/{key}",
                "LocalPath": local,
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
            },
        }

    output = {
        "Std:Join": {
            "On": "/",
            "Values": [
                f"s3://{BUCKET}/{PREFIX}/executions",
                {"Get": "Execution.PipelineExecutionId"},
            ],
        }
    }
    step = {
        "Name": "Prepare",
        "Type": "Processing",
        "Arguments": {
            "RoleArn": role_arn,
            "AppSpecification": {
                "ImageUri": IMAGE,
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/step.py"],
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                    "VolumeSizeInGB": 30,
                }
            },
            "ProcessingInputs": [
                s3_input("code", f"{PREFIX}/code/step.py", "/opt/ml/processing/input/code"),
                s3_input("raw", f"{PREFIX}/input", "/opt/ml/processing/input/raw"),
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "data",
                        "S3Output": {
                            "S3Uri": output,
                            "LocalPath": "/opt/ml/processing/output/data",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
    }
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [step]}


def run_as(endpoint: str, role_arn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    runner = LocalRunner(
        definition(role_arn),
        "test-pipeline",
        tmp_path,
        root_client(endpoint, "s3"),
        REGION,
        ACCOUNT,
        job_credentials=job_credentials(endpoint, REGION),
    )
    return runner.run()


def denials(endpoint: str) -> dict[str, Any]:
    return dict(requests.get(f"{endpoint}{DENIALS_PATH}", timeout=10).json())


def test_the_job_role_pulls_the_image_and_writes_its_log_with_zero_denials(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = denials(endpoint)["denials"]
    record = run_as(endpoint, job_role(endpoint, "jobs-real"), tmp_path, monkeypatch)
    assert record.status == SUCCEEDED, record.failure_reason
    report = denials(endpoint)
    assert report["denials"] == before, report["recent"][-3:]
    # The statements the README listed as unused locally are now used, by these calls.
    used = report["used"]["jobs-real"]
    calls = {action for statement in used.values() for action in statement}
    assert {
        "ecr:GetAuthorizationToken",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    } <= calls
    # `aws logs` shows the script's lines in SageMaker's group, in the job's stream.
    logs = root_client(endpoint, "logs")
    job = record.steps["Prepare"].properties["ProcessingJobName"]
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix=f"{job}/algo-1-"
    )["logStreams"]
    assert len(streams) == 1
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/ProcessingJobs",
        logStreamName=streams[0]["logStreamName"],
        startFromHead=True,
    )["events"]
    assert [e["message"] for e in events] == ["reading 1 2 3", "wrote done.txt"]


def test_a_role_that_cannot_pull_the_image_fails_the_step_as_sagemaker_does(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = job_role(endpoint, "jobs-no-pull", without="ecr:BatchGetImage")
    record = run_as(endpoint, role, tmp_path, monkeypatch)
    assert record.status == FAILED
    reason = record.steps["Prepare"].failure or ""
    assert reason.startswith(
        "ClientError: Cannot pull algorithm container. Either the image does not exist or "
        "its permissions are incorrect."
    ), reason
    assert "assumed-role/jobs-no-pull/" in reason, reason
    assert (
        "is not authorized to perform: ecr:BatchGetImage on resource: "
        f"arn:aws:ecr:{REGION}:763104351884:repository/pytorch-training" in reason
    ), reason
    assert "because no identity-based policy allows the ecr:BatchGetImage action" in reason
    # Nothing ran: no log stream, no output.
    assert not (tmp_path / "runs" / record.execution_id / "logs" / "Prepare.log").exists()
    last = denials(endpoint)["recent"][-1]
    assert (last["role"], last["action"]) == ("jobs-no-pull", "ecr:BatchGetImage")


def test_a_role_that_cannot_write_its_log_fails_the_step_with_the_denial(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = job_role(endpoint, "jobs-no-log", without="logs:PutLogEvents")
    record = run_as(endpoint, role, tmp_path, monkeypatch)
    assert record.status == FAILED
    reason = record.steps["Prepare"].failure or ""
    assert reason.startswith("ClientError: AccessDeniedException: User: "), reason
    assert "is not authorized to perform: logs:PutLogEvents on resource: " in reason, reason
    assert ":log-group:/aws/sagemaker/ProcessingJobs:log-stream:" in reason, reason
    last = denials(endpoint)["recent"][-1]
    assert (last["role"], last["action"]) == ("jobs-no-log", "logs:PutLogEvents")
