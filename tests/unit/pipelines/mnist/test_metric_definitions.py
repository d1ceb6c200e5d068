"""The training job's MetricDefinitions find train.py's numbers in its log, once per epoch.

SageMaker applies each expression to the job's log and shows the first group's value as the
metric (console, CloudWatch); an expression that no longer matches the log line shows nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pipelines.mnist import pipeline

pytestmark = pytest.mark.slow  # reads the log of train.py on the tiny slice (`trained`)


def series(log: str, expression: str) -> list[float]:
    return [float(value) for value in re.findall(expression, log)]


def test_every_metric_reads_one_number_per_epoch(trained: Any) -> None:
    history = json.loads((trained.output_dir / "metrics.json").read_text())["history"]
    fields = {
        "train:loss": "loss",
        "train:accuracy": "train_accuracy",
        "validation:loss": "val_loss",
        "validation:accuracy": "val_accuracy",
    }
    assert {name for name, _ in pipeline.METRIC_DEFINITIONS} == set(fields)
    for name, expression in pipeline.METRIC_DEFINITIONS:
        values = series(trained.run.stdout, expression)
        # The log prints 4 decimals of what metrics.json keeps in full.
        assert values == pytest.approx([e[fields[name]] for e in history], abs=6e-5), name


def test_the_expressions_fit_the_api() -> None:
    # botocore's MetricName is 1-255 characters, MetricRegex 1-500 (CreateTrainingJob).
    for name, expression in pipeline.METRIC_DEFINITIONS:
        assert 1 <= len(name) <= 255
        assert 1 <= len(expression) <= 500
        assert re.compile(expression).groups == 1
