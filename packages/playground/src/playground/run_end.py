"""When a local execution ends: its MLflow run closes and its run report gets the AWS projection.

Called with the runner's record by `playground pipeline run` and, for executions the emulator
started, by `localaws.pipeline_worker` (``LOCALAWS_EXECUTION_END_HOOK``, set in
`playground.stack`). Neither part decides the execution's outcome: a failure is named in one
line and the other part still runs.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from localaws.local_runner import RunRecord
from mlops_settings import Settings
from pipelines.mnist.code import report
from playground import aws_cost, executions, tracked_runs


def report_uri(record: RunRecord) -> str | None:
    """Where evaluate put this execution's run report (``s3://...``), None when it wrote none."""
    located = executions.from_run(record).evaluation.get("report") or {}
    return str(located["run"]) if located.get("run") else None


def add_projection(record: RunRecord, s3: Any) -> str | None:
    """Add the run's projected AWS time and cost (`aws_cost.estimate_run`) to its run report.

    The section ("In AWS (projected)") holds the same sentence `playground pipeline show`
    prints and a row per step (wall and billed seconds, dollars). The report next to the model
    is left as evaluate wrote it. Returns the report's URI, or None when the run has no report
    (it failed before evaluate). Raises botocore's errors when S3 refuses.
    """
    uri = report_uri(record)
    if uri is None:
        return None
    estimate = aws_cost.estimate_run(record)
    rows = [
        (
            step.name,
            step.instance_type or "none (SageMaker's own work)",
            f"{step.wall_seconds:.0f}",
            f"{step.billed_seconds:.0f}",
            f"{step.usd:.4f}",
        )
        for step in (estimate.run.steps if estimate.run else ())
    ]
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    got = s3.get_object(Bucket=bucket, Key=key)
    page = got["Body"].read().decode("utf-8")
    page = report.with_section(
        page,
        "aws",
        estimate.text,
        rows,
        ("step", "instance", "seconds in AWS", "billed seconds", "USD"),
    )
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=page.encode("utf-8"),
        ContentType=got.get("ContentType") or "text/html; charset=utf-8",
    )
    return uri


def ended(record: RunRecord, s3: Any | None = None) -> None:
    """Everything that follows an execution's end (see the module's docstring)."""
    tracked_runs.close(record)
    try:
        add_projection(record, s3 or boto3.client("s3", region_name=Settings().region))
    except (BotoCoreError, ClientError, ValueError, UnicodeDecodeError) as exc:
        print(f"the run report of execution {record.execution_id} has no AWS projection: {exc}")
