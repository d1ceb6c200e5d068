"""Runs the SageMaker pipeline definition locally: no Docker, same JSON, same conventions."""

from pipelines.local_runner.runner import (
    FAILED,
    NOT_EXECUTED,
    SUCCEEDED,
    LocalRunner,
    PipelineError,
    QuietReporter,
    Reporter,
    RunRecord,
    StepRecord,
    load_run,
)

__all__ = [
    "FAILED",
    "NOT_EXECUTED",
    "SUCCEEDED",
    "LocalRunner",
    "PipelineError",
    "QuietReporter",
    "Reporter",
    "RunRecord",
    "StepRecord",
    "load_run",
]
