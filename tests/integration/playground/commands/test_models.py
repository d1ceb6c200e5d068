"""`playground models` against the emulator: the table, approval, rejection."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result

from functions.get_models.fixtures import RegisteredModel, register_model, written_entry
from functions.get_models.handler import ModelsApi
from mlops_settings import Settings
from playground import roles
from playground.cli import app

Register = Callable[..., RegisteredModel]
Run = Callable[..., Result]


@pytest.fixture
def register(emulator: Settings) -> Register:
    sagemaker, s3 = boto3.client("sagemaker"), boto3.client("s3")

    def _register(**kwargs: object) -> RegisteredModel:
        return register_model(
            sagemaker,
            s3,
            group=emulator.model_package_group,
            bucket=emulator.model_bucket,
            region=emulator.region,
            **kwargs,  # type: ignore[arg-type]
        )

    return _register


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["models", *args])


def _served_versions(settings: Settings) -> list[int]:
    event = {"rawPath": "/models", "requestContext": {"http": {"method": "GET"}}}
    body = json.loads(ModelsApi(settings)(event)["body"])
    return [m["version"] for m in body["models"]]


def _described(model: RegisteredModel) -> Any:
    return boto3.client("sagemaker").describe_model_package(ModelPackageName=model.arn)


def test_emulator_clears_metadata_an_update_omits(register: Register) -> None:
    # The reason every update resends the full state.
    model = register(seed=1, status="PendingManualApproval")
    boto3.client("sagemaker").update_model_package(
        ModelPackageArn=model.arn, ModelApprovalStatus="Approved"
    )
    assert "CustomerMetadataProperties" not in _described(model)


def test_list_shows_version_status_accuracy_size_created(run: Run, register: Register) -> None:
    register(seed=1, accuracy=0.9871, model_bytes=b"x" * 2048)
    register(seed=2, status="PendingManualApproval", accuracy=0.5)
    result = run("list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row2 = next(line for line in lines if "PendingManualApproval" in line)
    row1 = next(line for line in lines if "Approved" in line)
    assert lines.index(row2) < lines.index(row1)  # newest first
    assert "98.71%" in row1
    assert "2.0 KB" in row1
    assert "50.00%" in row2
    for column in ("version", "status", "accuracy", "size", "created"):
        assert column in result.output


def test_list_of_an_empty_group_says_so(run: Run, emulator: Settings) -> None:
    result = run("list")
    assert result.exit_code == 0
    assert "no model versions" in result.output


def test_approve_keeps_the_metadata_and_the_api_serves_it(
    run: Run, register: Register, emulator: Settings
) -> None:
    model = register(seed=1, status="PendingManualApproval")
    assert _served_versions(emulator) == []
    result = run("approve", str(model.version))
    assert result.exit_code == 0, result.output
    assert "PendingManualApproval -> Approved" in result.output
    described = _described(model)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["CustomerMetadataProperties"] == model.metadata
    assert described["ApprovalDescription"]
    assert _served_versions(emulator) == [model.version]


REASON = "misreads 7s, see #12 (tried)"


def _approver() -> str:
    """Who `models approve`/`reject` sign as: the approver of docs/aws.md, in their role."""
    role = roles.person_role(Settings(), "approver").name
    return f"arn:aws:sts::{roles.LOCAL_ACCOUNT}:assumed-role/{role}/approver-{getpass.getuser()}"


def test_reject_with_a_free_text_reason_keeps_metadata_and_the_api_drops_it(
    run: Run, register: Register, emulator: Settings
) -> None:
    model = register(seed=1, status="Approved")
    assert _served_versions(emulator) == [model.version]
    result = run("reject", str(model.version), "--reason", REASON)
    assert result.exit_code == 0, result.output
    described = _described(model)
    assert described["ModelApprovalStatus"] == "Rejected"
    # The reason and who gave it go where SageMaker takes free text, never into the metadata.
    assert described["ApprovalDescription"] == f"rejected by {_approver()}: {REASON}"
    assert described["CustomerMetadataProperties"] == model.metadata
    assert _served_versions(emulator) == []
    shown = run("show", str(model.version))
    assert shown.exit_code == 0, shown.output
    assert REASON in shown.output


def test_the_api_tells_a_browser_why_a_version_was_withdrawn_but_not_who_withdrew_it(
    run: Run, register: Register, emulator: Settings
) -> None:
    model = register(seed=1, status="Approved")
    assert run("reject", str(model.version), "--reason", REASON).exit_code == 0
    event = {"rawPath": f"/models/{model.version}", "requestContext": {"http": {"method": "GET"}}}
    answer = ModelsApi(emulator)(event)
    error = json.loads(answer["body"])["error"]
    assert answer["statusCode"] == 404
    assert (error["code"], error["reason"]) == ("not_found", REASON)
    assert _approver() not in answer["body"]
    # A version that was never approved, or one rejected without a person's reason, has none.
    pending = register(seed=2, status="PendingManualApproval")
    event = {"rawPath": f"/models/{pending.version}", "requestContext": {"http": {"method": "GET"}}}
    assert "reason" not in json.loads(ModelsApi(emulator)(event)["body"])["error"]


def test_approving_a_rejected_version_replaces_the_rejection_note(
    run: Run, register: Register
) -> None:
    model = register(seed=1, status="PendingManualApproval")
    assert run("reject", str(model.version), "--reason", "looked odd").exit_code == 0
    assert run("approve", str(model.version)).exit_code == 0
    described = _described(model)
    assert described["CustomerMetadataProperties"] == model.metadata
    assert described["ApprovalDescription"] == f"approved by {_approver()}"


def test_a_reason_longer_than_sagemaker_keeps_is_refused_before_any_request(
    run: Run, register: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = register(seed=1)
    with monkeypatch.context() as patch:
        # Nothing listens here: a request would fail with a connection error instead.
        patch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        result = run("reject", str(model.version), "--reason", "x" * 1025)
    assert result.exit_code == 2
    assert "--reason has 1,025 characters; SageMaker keeps at most 1,024" in result.output
    assert _described(model)["ModelApprovalStatus"] == "Approved"


def test_a_reason_over_several_lines_is_refused(run: Run, register: Register) -> None:
    model = register(seed=1)
    result = run("reject", str(model.version), "--reason", "first line\nsecond line")
    assert result.exit_code == 2
    assert "--reason must be one line" in result.output
    assert _described(model)["ModelApprovalStatus"] == "Approved"


def test_a_reason_that_fits_alone_but_not_with_the_approver_changes_nothing(
    run: Run, register: Register
) -> None:
    model = register(seed=1)
    result = run("reject", str(model.version), "--reason", "x" * 1024)
    assert result.exit_code == 1
    assert f"version {model.version} was not changed" in result.output
    assert "SageMaker allows 0 to 1024" in result.output
    assert _described(model)["ModelApprovalStatus"] == "Approved"


def test_the_entry_register_py_writes_is_shown_and_listed(run: Run, emulator: Settings) -> None:
    entry = written_entry()
    boto3.client("sagemaker").create_model_package(**entry)
    metadata = entry["CustomerMetadataProperties"]
    shown = run("show", "1")
    assert shown.exit_code == 0, shown.output
    assert "input [N, 1, 28, 28]" in shown.output
    assert "logits [N, 10]" in shown.output
    assert metadata["sha256"] in shown.output
    listed = run("list")
    assert f"{float(metadata['test_accuracy']):.2%}" in listed.output


def test_an_entry_from_before_the_contract_is_upgraded_when_decided_on() -> None:
    # Only an emulator before strict mode ever stored such an entry, so it is built here.
    from playground.commands.models import _resendable

    legacy = {"sha256": "ab" * 32, "input_shape": "N,1,28,28", "output_shape": "N,10"}
    metadata, remove = _resendable({**legacy, "rejection_reason": "see #12 (old)"})
    assert metadata == {"sha256": "ab" * 32, "input_shape": "N:1:28:28", "output_shape": "N:10"}
    assert remove == ["rejection_reason"]


def test_approving_twice_changes_nothing(run: Run, register: Register) -> None:
    model = register(seed=1, status="Approved")
    result = run("approve", str(model.version))
    assert result.exit_code == 0
    assert "already Approved" in result.output


def test_show_prints_the_registry_entry(run: Run, register: Register) -> None:
    model = register(seed=3)
    result = run("show", str(model.version))
    assert result.exit_code == 0, result.output
    assert model.sha256 in result.output
    assert model.model_data_url in result.output
    assert "metadata pipeline_execution_id" in result.output
    # Each figure's ten digits on one row, not twenty metadata rows.
    recall = "  ".join(f"{d}: {model.metadata[f'recall_{d}']}" for d in range(10))
    assert recall in " ".join(result.output.split("│"))
    assert "metadata recall_0" not in result.output


@pytest.mark.parametrize("command", ["show", "approve", "reject"])
def test_missing_version_is_a_clear_error(run: Run, register: Register, command: str) -> None:
    register(seed=1)
    result = run(command, "42")
    assert result.exit_code == 1
    assert "model version 42" in result.output
    assert "does not exist" in result.output


@pytest.mark.parametrize("version", ["abc", "0", "-3", "1.5"])
def test_bad_version_argument_is_a_usage_error(run: Run, emulator: Settings, version: str) -> None:
    result = run("approve", version)
    assert result.exit_code == 2


def test_empty_reason_is_refused(run: Run, register: Register) -> None:
    model = register(seed=1)
    result = run("reject", str(model.version), "--reason", "  ")
    assert result.exit_code == 2
    assert "--reason must not be empty" in result.output
    assert _described(model)["ModelApprovalStatus"] == "Approved"


def test_list_filters_by_status_and_refuses_unknown_ones(run: Run, register: Register) -> None:
    register(seed=1, status="Approved")
    register(seed=2, status="Rejected")
    only = run("list", "--status", "Rejected")
    assert only.exit_code == 0
    assert "Rejected" in only.output
    assert "Approved" not in only.output.replace("approved", "")
    bad = run("list", "--status", "Maybe")
    assert bad.exit_code == 2
    assert "--status must be one of" in bad.output


def test_show_names_the_run_report_next_to_the_model(run: Run, register: Register) -> None:
    model = register(seed=4)
    before = run("show", str(model.version))
    folder = model.model_data_url.rsplit("/", 1)[0]
    bucket, _, prefix = folder.removeprefix("s3://").partition("/")
    boto3.client("s3").put_object(Bucket=bucket, Key=f"{prefix}/report.html", Body=b"<html>")

    after = run("show", str(model.version))

    assert "none (registered before the pipeline wrote run reports)" in before.output
    assert after.exit_code == 0, after.output
    assert f"{folder}/report.html" in " ".join(after.output.split())
