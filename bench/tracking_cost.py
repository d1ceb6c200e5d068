"""Benchmark: what MLflow tracking costs, in `make up` start-up and in pipeline time.

A throwaway stack (`playground.throwaway`) with the offline sample seeded into it prints the
two figures issue 11 sets targets for, each a median over ``BENCH_REPEATS`` (default 3):

1. `make up` start-up added by the MLflow service: `playground up --no-pipeline` (what
   `make up` runs after setup, here in process, from everything stopped, the data already
   seeded) timed with the MLflow service and with it left out (`playground.services.
   mlflow_service`, where `up` gets its service, replaced by one that never starts),
   alternating; the figure is the difference of the two medians. Also printed: how long `up`
   itself waited on the service (launch plus waiting for its /health), the first start on an
   empty database, and the bare start-up of the service (launch to /health, nothing else
   running).
2. The cost of tracking: local runs of the pipeline on the sample (``BENCH_EPOCHS``, default
   3), each with its own empty step cache so every run trains, without a tracking URI and
   logging to that MLflow, alternating; per pair the ratio of wall times, and the median
   ratio. The evaluate step's seconds (where the logging happens) are printed too, and the
   ratio of the runs' CPU seconds (this process and its finished children: the steps), which
   other work on a busy machine disturbs much less than wall time. Last, what the logging
   itself adds to the evaluate step, measured apart from training's noise: a fresh Python
   process (as a step is) logging a run shaped like the pipeline's (3 epochs, 40 metrics, 17
   parameters, 3 pictures of 30 KB, a 100 KB report) with tracking.py, against one that is
   given no URI, ``BENCH_LOGS`` (default 7) of each; that difference over the median run
   without tracking is the ratio with training's noise taken out.

Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from localaws.background import BackgroundService, ServiceState, free_port
from playground.throwaway import throwaway_stack

TARGET_RATIO = 1.05
TARGET_START_S = 3.0
EPOCHS = os.environ.get("BENCH_EPOCHS", "3")
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
LOGS = int(os.environ.get("BENCH_LOGS", "7"))

waited: list[float] = []  # seconds one `up` spent in the MLflow service's start/wait calls


class _TimedService(BackgroundService):
    """The real MLflow service; the time `up` spends in its start and wait calls is noted
    (once: `start` calls `wait_ready`)."""

    def start(self, *args: Any, **kwargs: Any) -> ServiceState:
        return _timed(lambda: super(_TimedService, self).start(*args, **kwargs))

    def wait_ready(self, *args: Any, **kwargs: Any) -> None:
        _timed(lambda: super(_TimedService, self).wait_ready(*args, **kwargs))


_depth = [0]


def _timed(call: Callable[[], Any]) -> Any:
    _depth[0] += 1
    began = time.perf_counter()
    try:
        return call()
    finally:
        _depth[0] -= 1
        if _depth[0] == 0:
            waited.append(time.perf_counter() - began)


class _AbsentService(BackgroundService):
    """`up` without MLflow: nothing is started, nothing is waited for, nothing to report."""

    def start(self, *args: Any, **kwargs: Any) -> ServiceState:
        return self.state()

    def state(self) -> ServiceState:
        return ServiceState(True, True, None, {})

    def wait_ready(self, *args: Any, **kwargs: Any) -> None:
        return None


def _as(kind: type[BackgroundService], real: Callable[[Any], BackgroundService]) -> Any:
    def make(settings: Any) -> BackgroundService:
        service = real(settings)
        return kind(**{name: getattr(service, name) for name in service.__dataclass_fields__})

    return make


def main() -> int:
    with throwaway_stack() as local:
        local.activate()
        os.environ["PLAYGROUND_MLFLOW_PORT"] = str(free_port())
        return bench(Path(local.settings.state_dir))


def bench(state: Path) -> int:
    from mlops_settings import load_settings
    from playground import data

    settings = load_settings()
    data.seed(settings, "sample")
    service_s, ratios, cpu_ratios, base_s, logging_s = tracking_cost(settings, state)
    first_s, with_s, without_s, waits = startup_added(settings)
    added = statistics.median(with_s) - statistics.median(without_s)
    print(
        f"`make up` start-up added by the MLflow service: {added:+.1f} s (target <= "
        f"{TARGET_START_S:.0f} s); `up --no-pipeline` median {statistics.median(with_s):.1f} s "
        f"with, {statistics.median(without_s):.1f} s without ({len(with_s)} each); first start "
        f"on an empty database {first_s:.1f} s with; `up` waited on MLflow median "
        f"{statistics.median(waits):.2f} s; the service alone starts in "
        f"{service_s:.1f} s"
    )
    print(
        f"cost of tracking: with/without ratio {statistics.median(ratios):.3f} median of "
        f"{len(ratios)} pairs ({', '.join(f'{r:.3f}' for r in ratios)}; target <= "
        f"{TARGET_RATIO}); pipeline on the sample, Epochs={EPOCHS}, no cache; CPU-seconds "
        f"ratio {statistics.median(cpu_ratios):.3f} median "
        f"({', '.join(f'{r:.3f}' for r in cpu_ratios)})"
    )
    print(
        f"logging one execution in the evaluate step adds {logging_s:.2f} s (median of {LOGS}); "
        f"over the median run without tracking ({base_s:.1f} s) that is a ratio of "
        f"{(base_s + logging_s) / base_s:.3f}"
    )
    return 0


def tracking_cost(
    settings: Any, state: Path
) -> tuple[float, list[float], list[float], float, float]:
    """The service's bare start-up (s), the with/without-tracking wall-time and CPU ratios,
    the median run without tracking (s) and what logging adds to a step (s)."""
    from localaws.local_runner import LocalRunner
    from pipelines.mnist import pipeline
    from playground.definition_cache import load_definition
    from playground.provenance import git_commit
    from playground.services import mlflow_environment, mlflow_service

    service = mlflow_service(settings)
    began = time.perf_counter()
    service.start(120.0, env=mlflow_environment(settings))
    service_s = time.perf_counter() - began
    ratios, cpu_ratios, bases = [], [], []
    try:
        document, _ = load_definition(settings)
        s3 = boto3.client("s3", region_name=settings.region)
        for repeat in range(REPEATS):
            walls, cpus = {}, {}
            pair = [("without tracking", ""), ("with tracking", service.url)]
            for label, uri in pair if repeat % 2 == 0 else pair[::-1]:
                runner = LocalRunner(
                    document,
                    settings.pipeline_name,
                    state / f"{label.replace(' ', '-')}-{repeat}",
                    s3,
                    settings.region,
                    "123456789012",
                )
                began, cpu = time.perf_counter(), _cpu_seconds()
                record = runner.run(
                    {"GitCommit": git_commit(), "Epochs": EPOCHS, "MlflowTrackingUri": uri}
                )
                walls[label] = time.perf_counter() - began
                cpus[label] = _cpu_seconds() - cpu
                evaluate = record.steps[pipeline.EVALUATE]
                tracked = evaluate.property_files.get("Evaluation", {}).get("tracking", {})
                print(
                    f"{label:<17} {walls[label]:6.1f} s, {cpus[label]:6.1f} CPU s  "
                    f"({record.status}; evaluate "
                    f"{evaluate.seconds:.1f} s; MLflow run {tracked.get('mlflow_run_id')})",
                    flush=True,
                )
            ratios.append(walls["with tracking"] / walls["without tracking"])
            cpu_ratios.append(cpus["with tracking"] / cpus["without tracking"])
            bases.append(walls["without tracking"])
        logging_s = logging_in_a_step(service.url)
    finally:
        service.stop()
    return service_s, ratios, cpu_ratios, statistics.median(bases), logging_s


_LOG_ONE = """
import sys
sys.path.insert(0, sys.argv[1])
import random, tracking
rng = random.Random(0)
run = tracking.TrackedRun(
    "execution bench",
    params={f"param{i}": i for i in range(17)},
    metrics={f"metric{i}": i / 40 for i in range(40)},
    history=[{"epoch": e, "loss": 1 / e, "val_loss": 1 / e, "accuracy": 1 - 1 / e,
              "val_accuracy": 1 - 1 / e} for e in (1, 2, 3)],
    tags={"pipeline_execution_id": "bench"},
    files={**{f"pictures/p{i}.png": rng.randbytes(30_000) for i in range(3)},
           "report.html": rng.randbytes(100_000), "evaluation.json": b"{}"},
)
tracking.log_run(sys.argv[2], run)
"""


def logging_in_a_step(url: str) -> float:
    """Median seconds a fresh process logging a pipeline-sized run to ``url`` takes more than
    one given no URI (tracking.py prints one line and logs nothing)."""
    import subprocess

    import pipelines.mnist

    code = str(Path(pipelines.mnist.__file__).parent / "code")
    times: dict[str, list[float]] = {url: [], "": []}
    for _ in range(LOGS):
        for uri in (url, ""):
            began = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", _LOG_ONE, code, uri], check=True, capture_output=True
            )
            times[uri].append(time.perf_counter() - began)
    return statistics.median(times[url]) - statistics.median(times[""])


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process and its children that have finished."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def startup_added(settings: Any) -> tuple[float, list[float], list[float], list[float]]:
    """`up --no-pipeline` wall times (s): the first with MLflow, then with and without; and
    how long each `up` with MLflow (but the first) spent in the service's start/wait calls."""
    import shutil

    from typer.testing import CliRunner

    from playground import services
    from playground.cli import app

    real = services.mlflow_service
    shutil.rmtree(real(settings).folder, ignore_errors=True)  # the first start: empty database
    runner = CliRunner()
    runner.invoke(app, ["down"])
    first = 0.0
    times: dict[str, list[float]] = {"with": [], "without": []}
    waits = []
    try:
        for repeat in range(REPEATS + 1):
            order = ("with", "without") if repeat % 2 == 0 else ("without", "with")
            for variant in order:
                services.mlflow_service = _as(  # type: ignore[assignment]
                    _TimedService if variant == "with" else _AbsentService, real
                )
                waited.clear()
                began = time.perf_counter()
                result = runner.invoke(app, ["up", "--no-pipeline"])
                wall = time.perf_counter() - began
                services.mlflow_service = real  # `down` stops the real one
                runner.invoke(app, ["down"])
                if result.exit_code != 0:
                    raise RuntimeError(f"`up` failed:\n{result.output}")
                print(f"up --no-pipeline, {variant} MLflow: {wall:.1f} s", flush=True)
                if repeat == 0 and variant == "with":
                    first = wall
                else:
                    times[variant].append(wall)
                    if variant == "with":
                        waits.append(sum(waited))
    finally:
        services.mlflow_service = real
    return first, times["with"], times["without"], waits


if __name__ == "__main__":
    sys.exit(main())
