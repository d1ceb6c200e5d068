"""The MLflow service `playground up` starts: runs in sqlite, artifacts in the emulator's S3.

The pipeline logs to it over MLflow's REST API (tracking.py); these tests read what it logged
back with MLflow's own client, as the MLflow UI shows it.
"""

from __future__ import annotations

import time
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


def experiment_id(url: str) -> str:
    found = requests.get(
        f"{url}/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": "mnist-pipeline"},
        timeout=10,
    ).json()
    return str(found["experiment"]["experiment_id"])


def test_the_run_is_the_executions_and_survives_a_deleted_experiment_and_a_failed_upload(
    mlflow: BackgroundService,
    code_modules: Callable[[], Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One server for the lot: each MLflow start costs seconds of `make test`."""
    from mlflow.tracking import MlflowClient

    from playground.commands.up import runs_address

    # The address `make up` prints opens the pipeline's runs, not MLflow's GenAI home.
    address = runs_address(mlflow.url)
    experiment = experiment_id(mlflow.url)
    assert address == f"{mlflow.url}/#/experiments/{experiment}/runs"
    # Someone deletes the experiment in the UI: the next run restores it, and says so.
    requests.post(
        f"{mlflow.url}/api/2.0/mlflow/experiments/delete",
        json={"experiment_id": experiment},
        timeout=10,
    ).raise_for_status()
    started = int(time.time() * 1000) - 27_000  # the execution began 27 s ago
    manifest = {
        "dataset_version": "0123456789abcdef",
        "bucket": "mnist-playground-data",
        "prefix": "raw/mnist/0123456789abcdef/",
        "objects": [],
    }
    with code_modules() as load:
        tracking = load("tracking")
        run = a_run(tracking)
        run.started_at_ms = started
        run.dataset = tracking.dataset_input(manifest, "e" * 64)
        run.ending = None  # evaluate's: register and the execution's end follow
        run_id = tracking.log_run(mlflow.url, run)
        client = MlflowClient(tracking_uri=mlflow.url)
        assert client.get_run(run_id).info.status == "RUNNING"
        ended = started + 27_400
        facts = tracking.ExecutionFacts("abc", started, ended, False, "", {"TrainModel": 20.5})
        assert tracking.close_execution(mlflow.url, facts) == run_id

        def refused(self: Any, run_id: str, artifact_uri: str, files: Any) -> None:
            raise tracking.TrackingError("PUT report.html answered 503: the store is down")

        monkeypatch.setattr(tracking.RestTracking, "upload", refused)
        broken = a_run(tracking)
        broken.tags = {"pipeline_execution_id": "broken"}
        with pytest.raises(tracking.TrackingError, match="the store is down"):
            tracking.log_run(mlflow.url, broken)

    assert "had been deleted; restored it" in run.warnings[0]
    assert "had been deleted; restored it" in capsys.readouterr().out
    logged = client.get_run(run_id)
    assert logged.info.experiment_id == experiment
    assert runs_address(mlflow.url) == address  # the same experiment, active again
    assert logged.info.status == "FINISHED"
    assert (logged.info.start_time, logged.info.end_time) == (started, ended)
    assert logged.data.metrics["step_seconds.TrainModel"] == 20.5
    [used] = logged.inputs.dataset_inputs
    assert (used.dataset.name, used.dataset.digest) == ("mnist", "0123456789abcdef")
    assert "raw/mnist/0123456789abcdef/manifest.json" in used.dataset.source
    [failed] = client.search_runs([experiment], "tags.pipeline_execution_id = 'broken'")
    assert failed.info.status == "FAILED"  # not RUNNING forever
    assert "the store is down" in failed.data.tags["failure_reason"]
