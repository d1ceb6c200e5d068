"""`playground models`: list the registry's model versions, approve or reject one.

Approving a version makes it appear in `GET /models`; rejecting removes it. Every update
resends the approval status, an approval description and the full metadata, because the
emulator's `update_model_package` clears the fields a request omits. Who decided and why goes
into `ApprovalDescription` (free text, one line, 1,024 characters); the metadata allows no
free text (contracts/registry-entry.md).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import typer
from rich.table import Table

from pipelines.mnist.code import registry_entry
from playground import people
from playground.cli_steps import as_person
from playground.console import console, fail, settings_or_exit

app = typer.Typer(help="Model versions in the registry: list, show, approve, reject.")

APPROVED = "Approved"
REJECTED = "Rejected"
# Written into the metadata by earlier versions of this command; SageMaker refuses most
# reasons there, so an update removes it.
LEGACY_REJECTION_REASON = "rejection_reason"
LEGACY_SHAPE_KEYS = ("input_shape", "output_shape")
STATUSES = (APPROVED, "PendingManualApproval", REJECTED)
_STATUS_STYLE = {APPROVED: "green", REJECTED: "red", "PendingManualApproval": "yellow"}


def _as_the_approver(command: Callable[..., None]) -> Callable[..., None]:
    """Run a `models` command as the approver of docs/aws.md, who runs them in the runbook.

    `playground.people`: the ``person`` setting chooses another.
    """

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        with as_person(settings_or_exit(), "approver"):
            command(*args, **kwargs)

    return run


def _client(service: str) -> Any:
    """A client of the target, signed as the command's person."""
    return people.client(service, settings_or_exit())


def _clients() -> tuple[Any, str]:
    return _client("sagemaker"), settings_or_exit().model_package_group


def _caller() -> str:
    """Who is deciding: the ARN of the caller's AWS identity."""
    sts = _client("sts")
    try:
        return str(sts.get_caller_identity()["Arn"])
    except sts.exceptions.ClientError as exc:
        raise fail(f"cannot tell who you are (sts get-caller-identity): {exc}") from None


def _describe_version(sagemaker: Any, group: str, version: int) -> dict[str, Any]:
    from functions.get_models.registry import is_not_found, model_package_arn

    try:
        group_arn = sagemaker.describe_model_package_group(ModelPackageGroupName=group)[
            "ModelPackageGroupArn"
        ]
        return dict(
            sagemaker.describe_model_package(ModelPackageName=model_package_arn(group_arn, version))
        )
    except sagemaker.exceptions.ClientError as exc:
        if is_not_found(exc):
            raise fail(f"model version {version} of group {group!r} does not exist") from None
        raise fail(f"registry error: {exc}") from None


def _size(text: str | None) -> str:
    if not text or not text.isdigit():
        return "-"
    size = float(text)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return "-"


def _accuracy(text: str | None) -> str:
    try:
        return f"{float(text or ''):.2%}"
    except ValueError:
        return "-"


def _tensor(metadata: dict[str, str], which: str) -> str:
    name, shape = metadata.get(f"{which}_name"), metadata.get(f"{which}_shape")
    if not name or not shape:
        return "-"
    try:
        dims = registry_entry.decode_shape(shape)
    except registry_entry.EntryError as exc:
        return f"{name} (unreadable shape: {exc})"
    return f"{name} [{', '.join(str(d) for d in dims)}]"


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if isinstance(moment, datetime) else "-"


def _status(status: str | None) -> str:
    text = status or "-"
    style = _STATUS_STYLE.get(text)
    return f"[{style}]{text}[/]" if style else text


@app.command("list")
@_as_the_approver
def list_versions(
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="Newest versions to show."),
    status: str | None = typer.Option(
        None, "--status", help="Only this approval status (Approved, PendingManualApproval, ...)."
    ),
) -> None:
    """A table of the newest model versions: version, status, accuracy, size, created."""
    if status is not None and status not in STATUSES:
        raise fail(f"--status must be one of {', '.join(STATUSES)}, got {status!r}", code=2)
    sagemaker, group = _clients()
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
    }
    if status:
        request["ModelApprovalStatus"] = status
    summaries: list[dict[str, Any]] = []
    try:
        with console.status("reading the registry..."):
            paginator = sagemaker.get_paginator("list_model_packages")
            for page in paginator.paginate(**request):
                summaries += page.get("ModelPackageSummaryList", [])
                if len(summaries) >= limit:
                    break
            summaries = summaries[:limit]
            details = [
                sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"])
                for s in summaries
            ]
    except sagemaker.exceptions.ClientError as exc:
        raise fail(f"registry error: {exc}") from None
    if not details:
        console.print(f"no model versions in group {group!r}")
        return
    table = Table(title=f"model versions of {group!r} (newest first)")
    for column in ("version", "status", "accuracy", "size", "created", "sha256"):
        table.add_column(column, justify="right" if column in ("version", "size") else "left")
    for item in details:
        metadata = item.get("CustomerMetadataProperties") or {}
        table.add_row(
            str(item.get("ModelPackageVersion", "-")),
            _status(item.get("ModelApprovalStatus")),
            _accuracy(metadata.get("test_accuracy")),
            _size(metadata.get("size_bytes")),
            _when(item.get("CreationTime")),
            (metadata.get("sha256") or "-")[:12],
        )
    console.print(table)


@app.command("show")
@_as_the_approver
def show(version: int = typer.Argument(..., min=1, help="The version number.")) -> None:
    """Everything the registry holds about one version."""
    sagemaker, group = _clients()
    item = _describe_version(sagemaker, group, version)
    metadata = item.get("CustomerMetadataProperties") or {}
    containers = (item.get("InferenceSpecification") or {}).get("Containers") or [{}]
    statistics = ((item.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics")
    table = Table(title=f"{group} version {version}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = [
        ("status", _status(item.get("ModelApprovalStatus"))),
        ("approval note", item.get("ApprovalDescription") or "-"),
        ("created", _when(item.get("CreationTime"))),
        ("description", item.get("ModelPackageDescription") or "-"),
        ("model file", registry_entry.model_file_uri(containers[0]) or "-"),
        ("evaluation", (statistics or {}).get("S3Uri", "-")),
        ("report", _report(registry_entry.model_file_uri(containers[0]))),
        ("MLflow run", metadata.get("mlflow_run_id") or "none (not tracked)"),
        ("accuracy", _accuracy(metadata.get("test_accuracy"))),
        ("input", _tensor(metadata, "input")),
        ("output", _tensor(metadata, "output")),
        ("size", _size(metadata.get("size_bytes"))),
        ("arn", item.get("ModelPackageArn", "-")),
        *_per_digit(metadata),
    ]
    rows += [
        (f"metadata {key}", value)
        for key, value in sorted(metadata.items())
        if not _PER_DIGIT.match(key)
    ]
    for field, value in rows:
        table.add_row(field, str(value))
    console.print(table)


_PER_DIGIT = re.compile(r"^(recall|precision)_([0-9]+)$")


def _per_digit(metadata: dict[str, str]) -> list[tuple[str, str]]:
    """One row per figure with every digit's value (`recall_<d>`, `precision_<d>`), if any."""
    figures: dict[str, dict[int, str]] = {}
    for key, value in metadata.items():
        match = _PER_DIGIT.match(key)
        if match:
            figures.setdefault(match[1], {})[int(match[2])] = value
    return [
        (f"{kind} per digit", "  ".join(f"{d}: {v}" for d, v in sorted(figures[kind].items())))
        for kind in ("recall", "precision")
        if kind in figures
    ]


def _report(model_url: str | None) -> str:
    """The run report next to the model file (contracts/registry-entry.md), if it is there."""
    from botocore.exceptions import ClientError

    if not model_url or not model_url.startswith("s3://"):
        return "-"
    folder = model_url.rsplit("/", 1)[0]
    bucket, _, key = f"{folder}/report.html".removeprefix("s3://").partition("/")
    s3 = _client("s3")
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return "none (registered before the pipeline wrote run reports)"
    return f"s3://{bucket}/{key}"


def _resendable(metadata: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The metadata to send back with an update, and the keys to remove.

    Entries written before the current contract (only the emulator ever accepted them) get
    their shapes re-encoded and lose their free-text rejection reason.
    """
    metadata = dict(metadata)
    remove = []
    if LEGACY_REJECTION_REASON in metadata:
        metadata.pop(LEGACY_REJECTION_REASON)
        remove.append(LEGACY_REJECTION_REASON)
    for key in LEGACY_SHAPE_KEYS:
        if "," in metadata.get(key, ""):
            metadata[key] = metadata[key].replace(",", registry_entry.SHAPE_SEPARATOR)
    return metadata, remove


def _set_status(version: int, status: str, reason: str | None = None) -> None:
    sagemaker, group = _clients()
    item = _describe_version(sagemaker, group, version)
    current = item.get("ModelApprovalStatus")
    if current == status and reason is None:
        console.print(f"version {version} is already {status}")
        return
    decision = "approved" if status == APPROVED else "rejected"
    try:
        note = registry_entry.approval_description(decision, _caller(), reason)
        metadata, remove = _resendable(item.get("CustomerMetadataProperties") or {})
        if metadata:
            registry_entry.check_metadata(metadata)
    except registry_entry.EntryError as exc:
        raise fail(f"version {version} was not changed: {exc}") from None
    request: dict[str, Any] = {
        "ModelPackageArn": item["ModelPackageArn"],
        "ModelApprovalStatus": status,
        "ApprovalDescription": note,
    }
    if metadata:
        request["CustomerMetadataProperties"] = metadata
    if remove:
        request["CustomerMetadataPropertiesToRemove"] = remove
    try:
        sagemaker.update_model_package(**request)
    except sagemaker.exceptions.ClientError as exc:
        raise fail(f"registry error: {exc}") from None
    console.print(f"version {version}: {_status(current)} -> {_status(status)}")
    console.print(f"approval note: {note}", markup=False)


@app.command("approve")
@_as_the_approver
def approve(version: int = typer.Argument(..., min=1, help="The version number.")) -> None:
    """Approve a version: the API starts serving it."""
    _set_status(version, APPROVED)


def check_reason(reason: str) -> str:
    """The reason as typed, if it fits SageMaker's ApprovalDescription; exits otherwise.

    Checked before any request: empty, longer than 1,024 characters, or more than one line.
    """
    limit = registry_entry.APPROVAL_DESCRIPTION_MAX
    if not reason.strip():
        raise fail("--reason must not be empty", code=2)
    if len(reason) > limit:
        raise fail(
            f"--reason has {len(reason):,} characters; SageMaker keeps at most {limit:,} "
            "in a version's approval description (with who rejected it): shorten it",
            code=2,
        )
    if any(char in registry_entry.LINE_TERMINATORS for char in reason):
        raise fail("--reason must be one line: SageMaker refuses line breaks there", code=2)
    return reason.strip()


@app.command("reject")
def reject(
    version: int = typer.Argument(..., min=1, help="The version number."),
    reason: str | None = typer.Option(
        None,
        "--reason",
        help="Why, in your own words (one line; kept with your identity in the approval note).",
    ),
) -> None:
    """Reject a version: the API stops serving it."""
    checked = None if reason is None else check_reason(reason)  # before any request
    _as_the_approver(_set_status)(version, REJECTED, checked)
