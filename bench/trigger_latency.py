"""Benchmark: from a dataset manifest landing in S3 to the pipeline execution starting (local).

A fresh emulator process (journal + pipeline middleware, as `make up` starts it) on a free port,
a pipeline with one instant step and the triggers `playground pipeline upsert` installs. Then
five new dataset versions, one after another; for each, the times from the manifest's PUT
being acknowledged to (1) the execution being recorded (the EventBridge hop calling
StartPipelineExecution), (2) the local runner's process running, (3) its first step starting.
Clocks: this machine's wall clock on both sides. Figures are printed, never asserted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from localaws.background import free_port

UPLOADS = 5
DEFINITION = {
    "Version": "2020-12-01",
    "Parameters": [{"Name": "DatasetManifestKey", "Type": "String", "DefaultValue": "none"}],
    "Steps": [
        {
            "Name": "Check",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [
                    {
                        "Type": "Equals",
                        "LeftValue": {"Get": "Parameters.DatasetManifestKey"},
                        "RightValue": "none",
                    }
                ],
                "IfSteps": [],
                "ElseSteps": [],
            },
        }
    ],
}


def epoch(text: str | None) -> float | None:
    return dt.datetime.fromisoformat(text).timestamp() if text else None


def main() -> int:
    state = Path(tempfile.mkdtemp(prefix="bench-trigger-"))
    os.environ.update(
        {
            "PLAYGROUND_EMULATOR_PORT": str(free_port()),
            "PLAYGROUND_STATE_DIR": str(state),
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from mlops_settings import load_settings

    settings = load_settings()
    os.environ.update(settings.aws_environment())
    settings = load_settings()

    import numpy as np

    from localaws.emulated_pipelines import EXECUTIONS_FOLDER
    from pipelines.mnist.code.idx import read_pair, write_idx_gz
    from playground import data, stack, triggers

    stack.start(settings)
    try:
        sagemaker = boto3.client("sagemaker", region_name=settings.region)
        role = "arn:aws:iam::123456789012:role/bench"
        arn = sagemaker.create_pipeline(
            PipelineName=settings.pipeline_name,
            PipelineDefinition=json.dumps(DEFINITION),
            RoleArn=role,
        )["PipelineArn"]
        triggers.install(settings, arn, role)

        acknowledged: dict[str, float] = {}
        client = boto3.client("s3", region_name=settings.region)

        put_object = client.put_object

        def timed_put(**kwargs: Any) -> Any:
            answer = put_object(**kwargs)
            if str(kwargs.get("Key", "")).endswith("/manifest.json"):
                acknowledged[kwargs["Key"]] = time.time()  # the PUT is acknowledged
            return answer

        client.put_object = timed_put  # type: ignore[method-assign]
        data._s3 = lambda _settings: client  # type: ignore[assignment]

        images, labels = data.SPLITS["train"]
        pair = read_pair(data.SAMPLE_DIR / images, data.SAMPLE_DIR / labels)
        rows: list[tuple[float, float, float]] = []
        for number in range(UPLOADS):
            folder = state / f"version-{number}"
            folder.mkdir()
            pick = np.arange(number, 10_000, 2)  # a different half each time: a new version
            write_idx_gz(pair.images[pick], folder / images)
            write_idx_gz(pair.labels[pick], folder / labels)
            result = data.seed(settings, str(folder))
            key = f"{settings.raw_prefix}/{result.version}/manifest.json"
            landed = acknowledged[key]
            record = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                for path in (state / "emulator" / EXECUTIONS_FOLDER).glob("*.json"):
                    if path.name == "tokens.json":
                        continue
                    candidate = json.loads(path.read_text())
                    # The rule passes static parameters; the description names the event's key.
                    if key in candidate.get("description", "") and candidate.get("steps"):
                        record = candidate
                if record:
                    break
                time.sleep(0.02)
            if record is None:
                print(f"upload {number}: no execution within 60 s", file=sys.stderr)
                return 1
            step = next(iter(record["steps"].values()))
            rows.append(
                (
                    (epoch(record["requested_at"]) or landed) - landed,
                    (epoch(record.get("started_at")) or landed) - landed,
                    (epoch(step.get("started_at")) or landed) - landed,
                )
            )
    finally:
        stack.stop(settings)

    print("manifest landing -> execution starting, local emulator, 5 new dataset versions")
    for name, column in zip(
        (
            "execution recorded (EventBridge hop)",
            "local runner process running",
            "first step started",
        ),
        zip(*rows, strict=True),
        strict=True,
    ):
        values = [v * 1000 for v in column]
        print(
            f"  {name:<38} median {statistics.median(values):7.0f} ms   max {max(values):7.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
