"""Run one SageMaker pipeline execution that the emulator recorded, with the local runner.

Started by the emulator (`localaws.emulated_pipelines`) as
``python -m localaws.pipeline_worker --record PATH --state-dir DIR`` with boto3 pointed at
the emulator. Reads the execution's definition as SageMaker stored it
(``DescribePipelineDefinitionForExecution``) and its parameters from the record, runs it with
`localaws.local_runner.LocalRunner` (the runner `playground pipeline run` uses, sharing its
step cache), and writes each step's progress into the record for Describe/List calls.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path
from typing import Any

import boto3

from localaws.credentials import job_credentials
from localaws.emulated_pipelines import FAILED, _now, write_json
from localaws.local_runner import SUCCEEDED, LocalRunner, PipelineError, StepRecord

_STEP_STATUS = {SUCCEEDED: "Succeeded", FAILED: "Failed"}


class RecordReporter:
    """Writes step progress into the execution's record (JSON, replaced atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def update(self, change: dict[str, Any], step: str | None = None) -> None:
        """Merge ``change`` into the record, or into one step's entry."""
        with self.lock:
            record = json.loads(self.path.read_text())
            if step is None:
                record.update(change)
            else:
                record.setdefault("steps", {}).setdefault(step, {}).update(change)
            write_json(self.path, record)

    def step_started(self, name: str, kind: str) -> None:
        """A step began."""
        self.update({"type": kind, "status": "Executing", "started_at": _now()}, name)

    def step_output(self, name: str, line: str) -> None:
        """The step's script printed a line (kept out of the record; it is in the log)."""

    def step_finished(self, record: StepRecord) -> None:
        """A step ended: succeeded, failed or came from the cache."""
        self.update(
            {
                "status": _STEP_STATUS.get(record.status, record.status),
                "ended_at": _now(),
                "cached": record.cached,
                "failure": record.failure,
                "seconds": round(record.seconds, 3),
            },
            record.name,
        )


def run(record_path: Path, state_dir: Path) -> int:
    """Run the execution described by the record; returns 0 when it succeeded."""
    reporter = RecordReporter(record_path)
    record = json.loads(record_path.read_text())
    reporter.update({"pid": os.getpid(), "started_at": _now()})
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    arn = str(record["execution_arn"])
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
            str(record["pipeline_name"]),
            state_dir,
            boto3.client("s3", region_name=region),
            region,
            account,
            reporter,
            job_credentials=job_credentials(os.environ["AWS_ENDPOINT_URL"], region),
        )
        parameters = {str(p["Name"]): str(p["Value"]) for p in record.get("parameters", [])}
        result = runner.run(parameters)
    except (PipelineError, ValueError, KeyError) as exc:
        reporter.update({"status": FAILED, "failure_reason": str(exc), "ended_at": _now()})
        print(f"execution {arn} cannot run: {exc}", flush=True)
        return 1
    except Exception as exc:  # recorded, so Describe reports it rather than hanging
        reporter.update(
            {"status": FAILED, "failure_reason": f"{type(exc).__name__}: {exc}", "ended_at": _now()}
        )
        raise
    reporter.update(
        {
            "status": result.status,
            "failure_reason": result.failure_reason,
            "ended_at": _now(),
            "local_execution_id": result.execution_id,
            "run_folder": result.folder,
        }
    )
    print(f"execution {arn}: {result.status} (local run {result.execution_id})", flush=True)
    return 0 if result.status == SUCCEEDED else 1


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m localaws.pipeline_worker")
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    return run(args.record, args.state_dir)


if __name__ == "__main__":
    raise SystemExit(main())
