"""Run one SageMaker pipeline execution that the emulator recorded, with the local runner.

Started by the emulator (`localaws.emulated_pipelines`) as
``python -m localaws.pipeline_worker --record PATH --state-dir DIR`` with boto3 pointed at
the emulator. Reads the execution's definition as SageMaker stored it
(``DescribePipelineDefinitionForExecution``) and its parameters from the record, runs it with
`localaws.local_runner.LocalRunner` (the runner `playground pipeline run` uses, sharing its
step cache), and writes each step's progress into the record for Describe/List calls.

When the execution has ended, the function named by ``LOCALAWS_EXECUTION_END_HOOK``
(``package.module:function``, if set) is called with the runner's record: where SageMaker
sends a "Pipeline Execution Status Change" event to EventBridge for whoever listens (AWS docs,
"Track pipeline executions with Amazon EventBridge"), a project hooks in here, without this
package knowing what it does (the playground closes the execution's MLflow run).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import boto3

from localaws.credentials import job_credentials
from localaws.execution import ExecutionRecord, Status, StepProgress, now
from localaws.local_runner import (
    LocalRunner,
    PipelineError,
    RunRecord,
    StepRecord,
    new_execution_id,
)

END_HOOK_VARIABLE = "LOCALAWS_EXECUTION_END_HOOK"


class RecordReporter:
    """Writes step progress into the execution's record (JSON, replaced atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def update(self, change: dict[str, Any], step: str | None = None) -> None:
        """Set the fields in ``change`` on the record, or on one step's entry.

        Raises:
            TypeError: a field the record (or `StepProgress`) does not have.
        """
        with self.lock:
            record = ExecutionRecord.read(self.path)
            if step is None:
                record = dataclasses.replace(record, **change)
            else:
                progress = record.steps.get(step) or StepProgress()
                record.steps[step] = dataclasses.replace(progress, **change)
            record.write(self.path)

    def step_started(self, name: str, kind: str) -> None:
        """A step began."""
        self.update({"type": kind, "status": Status.EXECUTING, "started_at": now()}, name)

    def step_output(self, name: str, line: str) -> None:
        """The step's script printed a line (kept out of the record; it is in the log)."""

    def step_finished(self, record: StepRecord) -> None:
        """A step ended: succeeded, failed or came from the cache."""
        self.update(
            {
                "status": Status.parse(record.status),
                "ended_at": now(),
                "cached": record.cached,
                "failure": record.failure,
                "seconds": round(record.seconds, 3),
            },
            record.name,
        )


def run(record_path: Path, state_dir: Path) -> int:
    """Run the execution described by the record; returns 0 when it succeeded."""
    reporter = RecordReporter(record_path)
    record = ExecutionRecord.read(record_path)
    reporter.update({"pid": os.getpid(), "started_at": now()})
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    arn = record.execution_arn
    try:
        sagemaker = boto3.client("sagemaker", region_name=region)
        document = json.loads(
            sagemaker.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)[
                "PipelineDefinition"
            ]
        )
        account = arn.split(":")[4]
        runner = LocalRunner(
            document,
            record.pipeline_name,
            state_dir,
            boto3.client("s3", region_name=region),
            region,
            account,
            reporter,
            job_credentials=job_credentials(os.environ["AWS_ENDPOINT_URL"], region),
        )
        parameters = {str(p["Name"]): str(p["Value"]) for p in record.parameters}
        # Linked before the run starts, so a listing joins the run to this execution while it
        # runs (one execution, not an API execution and a local run beside it).
        local_id = new_execution_id()
        reporter.update(
            {"local_execution_id": local_id, "run_folder": str(runner.runs_dir / local_id)}
        )
        result = runner.run(parameters, execution_id=local_id)
    except (PipelineError, ValueError, KeyError) as exc:
        reporter.update({"status": Status.FAILED, "failure_reason": str(exc), "ended_at": now()})
        print(f"execution {arn} cannot run: {exc}", flush=True)
        return 1
    except Exception as exc:  # recorded, so Describe reports it rather than hanging
        reporter.update(
            {
                "status": Status.FAILED,
                "failure_reason": f"{type(exc).__name__}: {exc}",
                "ended_at": now(),
            }
        )
        raise
    execution_ended(result)
    reporter.update(
        {
            "status": Status.parse(result.status),
            "failure_reason": result.failure_reason,
            "ended_at": now(),
            "local_execution_id": result.execution_id,
            "run_folder": result.folder,
        }
    )
    print(f"execution {arn}: {result.status} (local run {result.execution_id})", flush=True)
    return 0 if result.status == Status.SUCCEEDED else 1


def execution_ended(record: RunRecord) -> None:
    """Call the ``LOCALAWS_EXECUTION_END_HOOK`` function, if any, with the ended execution.

    A hook that cannot be found or that raises is named in the worker's log; the execution's
    outcome stands.
    """
    spec = os.environ.get(END_HOOK_VARIABLE, "")
    if not spec:
        return
    module, _, name = spec.partition(":")
    try:
        getattr(importlib.import_module(module), name)(record)
    except Exception as exc:  # a listener's trouble is not the execution's
        print(f"{END_HOOK_VARIABLE}={spec} failed: {type(exc).__name__}: {exc}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m localaws.pipeline_worker")
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    return run(args.record, args.state_dir)


if __name__ == "__main__":
    raise SystemExit(main())
