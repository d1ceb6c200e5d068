"""MLflow tracking of one pipeline execution, logged by the evaluate step.

The evaluate step is the one step that runs in every execution that trained a model and sees
every step's output (prepare's data report, train's metrics from model.tar.gz, its own
evaluation), so it logs the execution as one MLflow run: parameters (training
hyperparameters, gate limits), per-epoch training and validation metrics (MLflow ``step`` =
epoch), the evaluation metrics, each gate's outcome, and the data report, the pictures,
evaluation.json and the run report as artifacts. Outputs of cached steps are tagged with the
execution that produced them (``reused.<step>``).

The tracking URI is an ``http(s)://`` MLflow server (locally the one `make up` starts), any
URI MLflow accepts (``sqlite:///...``), or a SageMaker managed tracking server ARN, which
needs the ``sagemaker-mlflow`` plugin. With no URI, or an ARN without the plugin, nothing is
logged and one line says so.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from typing import Any

EXPERIMENT = "mnist-pipeline"


@dataclass
class TrackedRun:
    """What to log for one execution; plain data gathered by the evaluate step."""

    run_name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)  # train's, one per epoch
    tags: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # artifact path -> bytes


def why_not(uri: str) -> str | None:
    """The one line saying why nothing will be logged to ``uri``, or None when it can be."""
    if not uri:
        return "MLflow tracking: no tracking URI set (MlflowTrackingUri); not logging"
    if uri.startswith("arn:") and importlib.util.find_spec("sagemaker_mlflow") is None:
        return (
            "MLflow tracking: the sagemaker-mlflow plugin is not installed, so the managed "
            f"tracking server {uri} cannot be reached; not logging"
        )
    return None


def log_run(uri: str, run: TrackedRun, experiment: str = EXPERIMENT) -> str | None:
    """Log ``run`` to the tracking server at ``uri``; returns the MLflow run id, or None.

    Raises whatever MLflow raises when the server is set but cannot be reached (the caller
    decides whether that stops the step).
    """
    reason = why_not(uri)
    if reason:
        print(reason, flush=True)
        return None
    import os

    # A server that does not answer should cost seconds, not MLflow's minutes of retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    created = client.create_run(experiment_id, run_name=run.run_name, tags=run.tags)
    run_id = str(created.info.run_id)
    now = int(created.info.start_time or 0)
    metrics = [Metric(key, float(value), now, 0) for key, value in run.metrics.items()]
    for record in run.history:
        epoch = int(record["epoch"])
        metrics += [
            Metric(key, float(value), now, epoch)
            for key, value in record.items()
            if key != "epoch" and isinstance(value, int | float)
        ]
    # MLflow takes at most 1,000 metrics, 100 params and 100 tags per batch call.
    params = [Param(key, str(value)[:6000]) for key, value in run.params.items()]
    for start in range(0, max(len(metrics), len(params), 1), 100):
        client.log_batch(
            run_id, metrics=metrics[start : start + 100], params=params[start : start + 100]
        )
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in run.tags.items()][:100])
    if run.files:
        _log_files(client, run_id, run.files)
    client.set_terminated(run_id)
    print(f"MLflow run {run_id} in experiment {experiment} at {_shown(uri)}", flush=True)
    return run_id


def _log_files(client: Any, run_id: str, files: dict[str, bytes]) -> None:
    """Every artifact in one upload: laid out in a folder, logged as its content."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="mlflow-") as work:
        for name, data in files.items():
            path = Path(work) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        client.log_artifacts(run_id, work)


def _shown(uri: str) -> str:
    return uri.split("@")[-1] if "@" in uri else uri


def as_json(document: Any) -> bytes:
    """A document as indented JSON bytes, for an artifact."""
    return (json.dumps(document, indent=2, default=str) + "\n").encode()
