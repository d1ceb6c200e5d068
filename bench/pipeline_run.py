"""Benchmark: the whole training pipeline, run locally on the offline sample.

A throwaway stack (`playground.throwaway`: the project's emulator on a free port), the sample
seeded into it, then one full local run of the pipeline definition with its defaults. Prints the
wall time per step and in total, the runner's overhead against the same scripts run directly
(the time inside each script is measured in the same run, so the ratio compares like with like),
the test accuracy, and the fp32 and int8 model sizes; then a second run, which should come from
the cache. Also draws the step times as a picture. Figures are printed, never asserted.

The targets are issue 20's: no slower than 27 s for the full run and 4 s for the cached one,
measured on a quiet two-core machine. On a shared machine the wall times grow with its load
(printed with them); each script's CPU seconds hardly do, so they are printed too.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from playground.throwaway import throwaway_stack

TARGET_TOTAL_S = 27
TARGET_CACHED_S = 4
TARGET_OVERHEAD = 0.05
TARGET_INT8_BYTES = 120 * 1024


def find(document: Any, *paths: str) -> Any:
    """The first of several dotted paths present in a JSON document (None if none is)."""
    for path in paths:
        value = document
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


def kib(value: Any) -> str:
    return f"{value / 1024:.1f} KiB ({value:,} bytes)" if isinstance(value, int | float) else "n/a"


def draw(steps: list[tuple[str, float, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name, _, _ in steps]
    scripts = [script for _, _, script in steps]
    overheads = [max(total - script, 0.0) for _, total, script in steps]
    figure, axes = plt.subplots(figsize=(7, 3))
    axes.barh(names, scripts, label="script")
    axes.barh(names, overheads, left=scripts, label="runner (S3, setup)")
    axes.invert_yaxis()
    axes.set_xlabel("seconds")
    axes.set_title("local pipeline run: time per step")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


OUT = Path("build/bench")


def main() -> int:
    with throwaway_stack() as local:
        local.activate()
        return bench(local.settings.state_dir)


def bench(state: Path) -> int:
    from localaws.local_runner import SUCCEEDED, LocalRunner
    from mlops_settings import load_settings
    from pipelines.mnist import pipeline
    from playground import data
    from playground.definition_cache import load_definition
    from playground.provenance import git_commit

    settings = load_settings()
    data.seed(settings, "sample")

    began = time.perf_counter()
    document, _ = load_definition(settings)
    definition_s = time.perf_counter() - began
    s3 = boto3.client("s3", region_name=settings.region)
    runner = LocalRunner(
        document, settings.pipeline_name, state, s3, settings.region, "123456789012"
    )

    began = time.perf_counter()
    record = runner.run({"GitCommit": git_commit()})
    total_s = time.perf_counter() - began

    print("MNIST pipeline, local run on the offline sample (10,000 digits), fresh emulator")
    print(f"definition built (SDK import + code upload, once): {definition_s:6.1f} s")
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'step':<16}{'status':<13}{'wall s':>8}{'script s':>10}{'CPU s':>8}")
    jobs = []
    for step in record.steps.values():
        print(
            f"{step.name:<16}{step.status:<13}{step.seconds:>8.1f}{step.script_seconds:>10.1f}"
            f"{step.script_cpu_seconds:>8.1f}"
        )
        if step.type in ("Processing", "Training") and step.status == SUCCEEDED:
            jobs.append((step.name, step.seconds, step.script_seconds))
    scripts_s = sum(script for _, _, script in jobs)
    overhead = total_s / scripts_s - 1 if scripts_s else float("nan")
    cpu_s = sum(step.script_cpu_seconds for step in record.steps.values())
    print(
        f"total wall time: {total_s:.1f} s (target <= {TARGET_TOTAL_S} s); "
        f"the scripts' CPU time: {cpu_s:.1f} s"
    )
    print(
        f"runner overhead: {overhead:.1%} of the scripts' own time "
        f"(ratio {total_s / scripts_s if scripts_s else float('nan'):.3f}, "
        f"target <= {TARGET_OVERHEAD:.0%})"
    )
    if record.status != SUCCEEDED:
        print(f"run FAILED: {record.failure_reason}")
    evaluation = record.steps[pipeline.EVALUATE].property_files.get("Evaluation", {})
    accuracy = find(evaluation, "metrics.accuracy.value")
    print(f"test accuracy: {accuracy:.2%} (target >= 98.5%)" if accuracy else "test accuracy: n/a")
    fp32 = find(evaluation, "model.fp32_size_bytes", "quantization.fp32_size_bytes")
    int8 = find(evaluation, "model.int8_size_bytes", "quantization.int8_size_bytes")
    print(f"model size fp32: {kib(fp32)}")
    print(f"model size int8: {kib(int8)} (target <= {TARGET_INT8_BYTES // 1024} KiB)")
    print(f"model registered: {kib(find(evaluation, 'model.size_bytes'))} kept")

    began = time.perf_counter()
    again = runner.run({"GitCommit": git_commit()})
    cached = [s.name for s in again.steps.values() if s.cached]
    again_cpu = sum(step.script_cpu_seconds for step in again.steps.values())
    print(
        f"second run, unchanged inputs: {time.perf_counter() - began:.1f} s "
        f"(target <= {TARGET_CACHED_S} s; scripts' CPU {again_cpu:.1f} s, load average "
        f"{os.getloadavg()[0]:.1f}), {again.status}, cached steps: {', '.join(cached) or 'none'}"
    )
    for step in again.steps.values():
        if step.status == SUCCEEDED and not step.cached and step.type != "Condition":
            print(
                f"  {step.name:<16}{step.seconds:>8.1f} s wall{step.script_cpu_seconds:>8.1f} CPU s"
            )
    # Next to the other benchmarks' pictures: the throwaway state folder goes away on exit.
    OUT.mkdir(parents=True, exist_ok=True)
    picture = OUT / "pipeline_step_times.png"
    draw(jobs, picture)
    print(f"picture: {picture}")
    return 0 if record.status == SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
