"""`playground pipeline` helpers that need no emulator: a run's commit, what it registered."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from localaws.local_runner import SUCCEEDED, RunRecord, StepRecord
from pipelines.mnist import pipeline as mnist
from playground.cli import app
from playground.commands import pipeline as pipeline_commands
from playground.provenance import git_commit


def test_git_commit_is_forty_hex_or_unknown(tmp_path: Path):
    assert git_commit(tmp_path) == "unknown"
    commit = git_commit(Path(__file__).parent)
    assert commit == "unknown" or len(commit.removesuffix("-dirty")) == 40


def test_a_working_tree_with_uncommitted_changes_is_dirty(tmp_path: Path):
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "train.py").write_text("epochs = 1\n")
    git("add", "train.py")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "HEAD")
    assert git_commit(tmp_path) == head
    (tmp_path / "train.py").write_text("epochs = 2\n")
    assert git_commit(tmp_path) == f"{head}-dirty"
    git("commit", "-q", "-am", "second")
    (tmp_path / "new_step.py").write_text("")
    assert git_commit(tmp_path) == f"{git('rev-parse', 'HEAD')}-dirty"


def test_upsert_refuses_the_aws_target_where_only_terraform_writes_the_pipeline(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_TARGET", "aws")
    monkeypatch.setenv("PLAYGROUND_DATA_BUCKET", "acme-data")
    monkeypatch.setenv("PLAYGROUND_MODEL_BUCKET", "acme-models")
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["pipeline", "upsert", "--git-commit", "a" * 40])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert (
        "only Terraform writes the pipeline: `make pipeline-definition && make tf-apply`" in message
    )


def record_with_registration(
    registration: dict[str, object], cached: bool = False
) -> tuple[RunRecord, object]:
    """A run whose register step succeeded and wrote ``registration`` (an S3 stand-in)."""
    uri = "s3://models/pipelines/run1/registration"
    step = StepRecord(
        mnist.REGISTER,
        "Processing",
        status=SUCCEEDED,
        cached=cached,
        properties={
            "ProcessingOutputConfig": {
                "Outputs": [{"OutputName": mnist.REGISTRATION_OUTPUT, "S3Output": {"S3Uri": uri}}]
            }
        },
    )
    record = RunRecord("run1", "p", {}, status=SUCCEEDED, steps={mnist.REGISTER: step})

    class S3:
        def get_object(self, **where: str) -> dict[str, object]:
            assert f"s3://{where['Bucket']}/{where['Key']}" == f"{uri}/registration.json"
            return {"Body": io.BytesIO(json.dumps(registration).encode())}

    return record, S3()


ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mnist/1"


def test_a_run_that_registered_a_model_says_which_version() -> None:
    record, s3 = record_with_registration(
        {"model_package_arn": ARN, "approval_status": "Approved", "already_registered": False}
    )
    assert pipeline_commands.registration_of(record, s3).sentence() == (  # type: ignore[union-attr]
        "registered version 1 Approved"
    )


@pytest.mark.parametrize(
    ("registration", "cached"),
    [
        (
            {"model_package_arn": ARN, "approval_status": "Approved", "already_registered": True},
            False,
        ),
        (
            {"model_package_arn": ARN, "approval_status": "Approved", "already_registered": False},
            True,
        ),
    ],
    ids=["same-model-already-a-version", "register-step-from-the-cache"],
)
def test_a_run_that_registered_nothing_new_does_not_claim_a_registration(
    registration: dict[str, object], cached: bool
) -> None:
    record, s3 = record_with_registration(registration, cached)
    found = pipeline_commands.registration_of(record, s3)
    assert found is not None
    said = found.sentence()
    assert not said.startswith("registered version")
    assert said == "registered nothing new: the model is version 1 already (Approved)"
