"""The MLflow service `playground up` starts: runs in sqlite, artifacts in the emulator's S3."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests

from mlops_settings import Settings
from playground.background import BackgroundService, free_port
from playground.commands.up import mlflow_environment, mlflow_service, tracking_uri


@pytest.fixture
def mlflow(emulator: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[BackgroundService]:
    monkeypatch.setenv("PLAYGROUND_MLFLOW_PORT", str(free_port()))
    settings = Settings()
    service = mlflow_service(settings)
    assert tracking_uri(settings) == ""  # not running: the pipeline logs nothing
    service.start(120.0, env=mlflow_environment(settings))
    yield service
    service.stop()


def test_a_logged_run_keeps_its_pictures_in_the_emulators_s3(
    mlflow: BackgroundService, code_modules: Callable[[], Any]
) -> None:
    settings = Settings()
    assert tracking_uri(settings) == mlflow.url  # running: the pipeline logs to it

    with code_modules() as load:
        tracking = load("tracking")
        run_id = tracking.log_run(
            mlflow.url,
            tracking.TrackedRun(
                "execution abc",
                metrics={"test_accuracy": 0.97},
                files={"pictures/confusion_matrix.png": b"\x89PNG picture"},
            ),
        )

    listed = boto3.client("s3").list_objects_v2(Bucket=settings.data_bucket, Prefix="mlflow/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    [key] = [k for k in keys if k.endswith(f"{run_id}/artifacts/pictures/confusion_matrix.png")]
    body = boto3.client("s3").get_object(Bucket=settings.data_bucket, Key=key)["Body"].read()
    assert body == b"\x89PNG picture"
    # The UI's API answers with the run and its metric.
    answer = requests.get(
        f"{mlflow.url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=10
    ).json()
    assert answer["run"]["data"]["metrics"][0]["key"] == "test_accuracy"
