"""The people of docs/aws.md sign as their roles locally, and their policies hold them there."""

from __future__ import annotations

import getpass

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from functions.get_models.fixtures import register_model
from mlops_settings import Settings
from playground import people, roles
from playground.cli import app


def _register(settings: Settings) -> int:
    registered = register_model(
        boto3.client("sagemaker"),
        boto3.client("s3"),
        group=settings.model_package_group,
        bucket=settings.model_bucket,
        region=settings.region,
        seed=1,
        status="PendingManualApproval",
    )
    return registered.version


def _denied(error: pytest.ExceptionInfo[ClientError], action: str, role: str) -> None:
    answer = error.value.response["Error"]
    assert answer["Code"] in ("AccessDenied", "AccessDeniedException")
    assert f"assumed-role/{role}/" in answer["Message"]
    assert f"perform: {action} on resource" in answer["Message"]


def test_each_person_signs_as_their_role(emulator: Settings) -> None:
    for person in roles.PEOPLE:
        with people.acting_as(emulator, person) as who:
            arn = people.client("sts", emulator).get_caller_identity()["Arn"]
        role = roles.person_role(emulator, person).name
        assert who == person
        assert arn.endswith(f":assumed-role/{role}/{person}-{getpass.getuser()}")
    # Outside any person's block: the default credentials again.
    assert "assumed-role" not in people.client("sts", emulator).get_caller_identity()["Arn"]


@pytest.mark.denials
def test_the_approver_may_not_write_training_data(emulator: Settings) -> None:
    with people.acting_as(emulator, "approver"), pytest.raises(ClientError) as error:
        people.client("s3", emulator).put_object(
            Bucket=emulator.data_bucket, Key=f"{emulator.raw_prefix}/x/manifest.json", Body=b"{}"
        )
    _denied(error, "s3:PutObject", roles.person_role(emulator, "approver").name)


@pytest.mark.denials
def test_the_reviewer_may_not_approve_a_model(emulator: Settings) -> None:
    version = _register(emulator)
    sagemaker = boto3.client("sagemaker")
    [package] = sagemaker.list_model_packages(ModelPackageGroupName=emulator.model_package_group)[
        "ModelPackageSummaryList"
    ]
    with people.acting_as(emulator, "reviewer"), pytest.raises(ClientError) as error:
        people.client("sagemaker", emulator).update_model_package(
            ModelPackageArn=package["ModelPackageArn"], ModelApprovalStatus="Approved"
        )
    _denied(error, "sagemaker:UpdateModelPackage", roles.person_role(emulator, "reviewer").name)
    assert version == 1
    described = sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])
    assert described["ModelApprovalStatus"] == "PendingManualApproval"


def test_the_person_setting_chooses_who_signs(
    emulator: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _register(emulator)
    monkeypatch.setenv("PLAYGROUND_PERSON", "root")
    result = CliRunner().invoke(app, ["models", "approve", str(version)])
    assert result.exit_code == 0, result.output
    # The emulator's dummy key: moto names it user/moto.
    assert "approved by arn:aws:sts::123456789012:user/moto" in " ".join(result.output.split())


@pytest.mark.denials
def test_a_reviewer_setting_on_models_approve_is_refused_as_aws_would(
    emulator: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _register(emulator)
    monkeypatch.setenv("PLAYGROUND_PERSON", "reviewer")
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["models", "approve", str(version)])
    assert result.exit_code != 0, result.output
    assert "AccessDenied" in result.output
    assert "sagemaker:DescribeModelPackageGroup" in " ".join(result.output.split())


@pytest.mark.denials
def test_a_data_command_refused_ends_with_aws_words_not_a_traceback(emulator: Settings) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    before = boto3.client("s3").list_objects_v2(Bucket=emulator.data_bucket).get("KeyCount", 0)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "playground"), "data", "ls"],
        env={**os.environ, "PLAYGROUND_PERSON": "approver", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: AWS refused ListObjectsV2: AccessDenied: User: ")
    assert "assumed-role/mnist-playground-model-approver/" in done.stderr
    assert "s3:ListBucket" in done.stderr
    after = boto3.client("s3").list_objects_v2(Bucket=emulator.data_bucket).get("KeyCount", 0)
    assert after == before
