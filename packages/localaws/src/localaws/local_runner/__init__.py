"""Runs the SageMaker pipeline definition locally: no Docker, same JSON, same conventions.

`graph` reads the definition into steps and dependencies, `records` keeps each execution,
`cache` reuses unchanged steps, `jobs` runs one script as its container would, and `runner`
(the executor, `LocalRunner`) puts them together.
"""

from localaws.local_runner.graph import PipelineError
from localaws.local_runner.records import (
    FAILED,
    NOT_EXECUTED,
    SUCCEEDED,
    RunRecord,
    StepRecord,
    load_run,
    new_execution_id,
)
from localaws.local_runner.runner import LocalRunner, QuietReporter, Reporter

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
    "new_execution_id",
]
