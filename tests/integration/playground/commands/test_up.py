"""The MLflow service `playground up` starts: runs in sqlite, artifacts in the emulator's S3.

The pipeline logs to it over MLflow's REST API (tracking.py); these tests read what it logged
back with MLflow's own client, as the MLflow UI shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests

from localaws.background import BackgroundService, free_port
from mlops_settings import Settings
from playground.services import mlflow_environment, mlflow_service, tracking_uri

HISTORY = [
    {"epoch": 1, "loss": 0.9, "val_loss": 0.8, "val_accuracy": 0.7},
    {"epoch": 2, "loss": 0.5, "val_loss": 0.45, "val_accuracy": 0.85},
]


@pytest.fixture
def mlflow(emulator: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[BackgroundService]:
    monkeypatch.setenv("PLAYGROUND_MLFLOW_PORT", str(free_port()))
    settings = Settings()
    service = mlflow_service(settings)
    assert tracking_uri(settings) == ""  # not running: the pipeline logs nothing
    service.start(120.0, env=mlflow_environment(settings))
    yield service
    service.stop()


def a_run(tracking: Any) -> Any:
    return tracking.TrackedRun(
        "execution abc",
        params={"train.epochs": 2, "gate.AccuracyThreshold": 0.985, "long": "x" * 7000},
        metrics={"test_accuracy": 0.97, "gate_passed": 0.0, "champion_p_value_worse": None},
        history=HISTORY,
        tags={"pipeline_execution_id": "abc", "reused.TrainModel": "from execution old1"},
        files={
            "pictures/confusion_matrix.png": b"\x89PNG picture",
            "pictures/training_curves.png": b"\x89PNG curves",
            "report.html": b"<html>report</html>",
            "data/data_report.json": b"{}",
        },
    )


def test_a_logged_run_keeps_everything_and_its_pictures_in_the_emulators_s3(
    mlflow: BackgroundService, code_modules: Callable[[], Any]
) -> None:
    from mlflow.tracking import MlflowClient

    settings = Settings()
    assert tracking_uri(settings) == mlflow.url  # running: the pipeline logs to it

    with code_modules() as load:
        tracking = load("tracking")
        run_id = tracking.log_run(mlflow.url, a_run(tracking))

    listed = boto3.client("s3").list_objects_v2(Bucket=settings.data_bucket, Prefix="mlflow/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    [key] = [k for k in keys if k.endswith(f"{run_id}/artifacts/pictures/confusion_matrix.png")]
    body = boto3.client("s3").get_object(Bucket=settings.data_bucket, Key=key)["Body"].read()
    assert body == b"\x89PNG picture"
    # What the UI shows: the run, finished, with its parameters, metrics, epochs and files.
    client = MlflowClient(tracking_uri=mlflow.url)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "execution abc"
    assert run.info.experiment_id == client.get_experiment_by_name("mnist-pipeline").experiment_id
    assert run.data.params["train.epochs"] == "2"
    assert run.data.params["gate.AccuracyThreshold"] == "0.985"
    assert len(run.data.params["long"]) == 6000  # MLflow's limit, cut rather than refused
    assert run.data.metrics["test_accuracy"] == 0.97
    assert run.data.metrics["gate_passed"] == 0.0
    assert "champion_p_value_worse" not in run.data.metrics  # no value: not a metric
    assert run.data.tags["reused.TrainModel"] == "from execution old1"
    steps = [(m.step, m.value) for m in client.get_metric_history(run_id, "val_accuracy")]
    assert sorted(steps) == [(1, 0.7), (2, 0.85)]
    assert {a.path for a in client.list_artifacts(run_id)} == {"data", "pictures", "report.html"}
    assert {a.path for a in client.list_artifacts(run_id, "pictures")} == {
        "pictures/confusion_matrix.png",
        "pictures/training_curves.png",
    }
    answer = requests.get(
        f"{mlflow.url}/get-artifact",
        params={"path": "report.html", "run_uuid": run_id},
        timeout=10,
    )
    assert answer.text == "<html>report</html>"

    # `make down`, `make up`: the database is reused, the run and its pictures are still there.
    mlflow.stop()
    mlflow.start(120.0, env=mlflow_environment(settings))
    again = MlflowClient(tracking_uri=mlflow.url)
    assert again.get_run(run_id).data.metrics == run.data.metrics
    assert {a.path for a in again.list_artifacts(run_id, "pictures")} == {
        "pictures/confusion_matrix.png",
        "pictures/training_curves.png",
    }


def test_a_server_still_starting_is_waited_for(
    emulator: Settings, monkeypatch: pytest.MonkeyPatch, code_modules: Callable[[], Any]
) -> None:
    # `make up` launches MLflow without waiting; the evaluate step may log before it answers.
    monkeypatch.setenv("PLAYGROUND_MLFLOW_PORT", str(free_port()))
    settings = Settings()
    service = mlflow_service(settings)
    service.start(120.0, env=mlflow_environment(settings), wait=False)
    try:
        assert service.health() is None  # not answering yet
        with code_modules() as load:
            tracking = load("tracking")
            run_id = tracking.log_run(service.url, a_run(tracking))
        answer = requests.get(
            f"{service.url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=10
        ).json()
        assert answer["run"]["info"]["status"] == "FINISHED"
    finally:
        service.stop()


def test_a_server_that_never_answers_fails_with_its_address_and_logs_nothing(
    code_modules: Callable[[], Any],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with code_modules() as load:
        tracking = load("tracking")
        with pytest.raises(tracking.TrackingError, match=url):
            tracking.RestTracking(url, wait_s=1.0).log(a_run(tracking), "mnist-pipeline")


def test_a_refused_request_names_mlflows_error(
    mlflow: BackgroundService, code_modules: Callable[[], Any]
) -> None:
    with code_modules() as load:
        tracking = load("tracking")
        rest = tracking.RestTracking(mlflow.url)
        with pytest.raises(tracking.TrackingError, match=r"INVALID_PARAMETER_VALUE|not found"):
            rest.call("POST", "/api/2.0/mlflow/runs/update", {"run_id": "no-such-run"})
    client_runs = requests.post(
        f"{mlflow.url}/api/2.0/mlflow/runs/search", json={"experiment_ids": ["0"]}, timeout=10
    ).json()
    assert client_runs.get("runs", []) == []  # nothing was created
