"""Benchmark: what MLflow tracking costs, in pipeline time and in `make up` start-up.

A throwaway stack (`playground.throwaway`), the offline sample seeded into it, and the MLflow
service `make up` starts (`playground.commands.up.mlflow_service`, on a free port, state in
the throwaway folder). Prints the service's start-up time (start to its /health answering),
first on an empty database and again on a restart, then two local runs of the pipeline on
the sample, each with its own empty step cache so both train: one without a tracking URI,
one logging to that MLflow. The ratio of their wall times is the cost of tracking. Figures
are printed, never asserted.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import boto3

from playground.background import free_port
from playground.throwaway import throwaway_stack

TARGET_RATIO = 1.05
TARGET_START_S = 3.0
EPOCHS = os.environ.get("BENCH_EPOCHS", "3")


def main() -> int:
    with throwaway_stack() as local:
        local.activate()
        os.environ["PLAYGROUND_MLFLOW_PORT"] = str(free_port())
        return bench(Path(local.settings.state_dir))


def bench(state: Path) -> int:
    from mlops_settings import load_settings
    from pipelines.local_runner import LocalRunner
    from pipelines.mnist import pipeline
    from playground import data
    from playground.commands.pipeline import git_commit
    from playground.commands.up import mlflow_environment, mlflow_service
    from playground.definition_cache import load_definition

    settings = load_settings()
    data.seed(settings, "sample")
    service = mlflow_service(settings)
    began = time.perf_counter()
    service.start(120.0, env=mlflow_environment(settings))
    start_s = time.perf_counter() - began
    try:
        document, _ = load_definition(settings)
        s3 = boto3.client("s3", region_name=settings.region)
        walls = {}
        for label, uri in (("without tracking", ""), ("with tracking", service.url)):
            runner = LocalRunner(
                document,
                settings.pipeline_name,
                state / label.replace(" ", "-"),
                s3,
                settings.region,
                "123456789012",
            )
            began = time.perf_counter()
            record = runner.run(
                {"GitCommit": git_commit(), "Epochs": EPOCHS, "MlflowTrackingUri": uri}
            )
            walls[label] = time.perf_counter() - began
            evaluate = record.steps[pipeline.EVALUATE]
            tracked = evaluate.property_files.get("Evaluation", {}).get("tracking", {})
            print(
                f"{label:<17} {walls[label]:6.1f} s  ({record.status}; evaluate "
                f"{evaluate.seconds:.1f} s; MLflow run {tracked.get('mlflow_run_id')})"
            )
    finally:
        service.stop()
    # A restart (`make down`, `make up`): the database exists, no migrations.
    began = time.perf_counter()
    service.start(120.0, env=mlflow_environment(settings))
    restart_s = time.perf_counter() - began
    service.stop()
    ratio = walls["with tracking"] / walls["without tracking"]
    print(
        f"MLflow service start-up to ready: first {start_s:.1f} s, restart {restart_s:.1f} s "
        f"(target <= {TARGET_START_S:.0f} s; `make up` launches it first and waits only "
        "before the pipeline run, so the emulator start and the seeding overlap it)"
    )
    print(
        f"pipeline run on the sample, Epochs={EPOCHS}, no cache: with/without tracking "
        f"ratio {ratio:.3f} (target <= {TARGET_RATIO})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
