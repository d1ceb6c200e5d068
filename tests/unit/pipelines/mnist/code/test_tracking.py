"""tracking.py: one MLflow run per execution, or one line saying why nothing is logged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def test_without_a_tracking_uri_nothing_is_logged_and_one_line_says_so(
    code_modules: Callable[[], Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with code_modules() as load:
        tracking = load("tracking")
        assert tracking.log_run("", tracking.TrackedRun("execution x")) is None

    lines = capsys.readouterr().out.splitlines()
    assert lines == ["MLflow tracking: no tracking URI set (MlflowTrackingUri); not logging"]


def test_a_managed_server_arn_without_the_plugin_is_skipped_with_one_line(
    code_modules: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    arn = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/mnist"
    with code_modules() as load:
        tracking = load("tracking")
        with_plugin = tracking.why_not(arn)
        real_find_spec = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a: None if name == "sagemaker_mlflow" else real_find_spec(name, *a),
        )
        without_plugin = tracking.why_not(arn)
        server = tracking.why_not("http://127.0.0.1:5000")

    assert with_plugin is None  # the SDK brings the plugin in this environment
    assert without_plugin is not None
    assert "sagemaker-mlflow plugin is not installed" in without_plugin
    assert arn in without_plugin
    assert server is None


def test_a_run_holds_params_per_epoch_metrics_tags_and_artifacts(
    code_modules: Callable[[], Any], tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # Artifacts under tmp_path (a sqlite store's default is ./mlruns in the working folder).
    MlflowClient(tracking_uri=uri).create_experiment(
        "mnist-pipeline", artifact_location=(tmp_path / "artifacts").as_uri()
    )
    history = [
        {"epoch": 1, "loss": 0.9, "val_loss": 0.8, "val_accuracy": 0.7},
        {"epoch": 2, "loss": 0.5, "val_loss": 0.45, "val_accuracy": 0.85},
    ]
    with code_modules() as load:
        tracking = load("tracking")
        run_id = tracking.log_run(
            uri,
            tracking.TrackedRun(
                "execution abc",
                params={"train.epochs": 2, "gate.AccuracyThreshold": 0.985},
                metrics={"test_accuracy": 0.97, "gate_passed": 0.0},
                history=history,
                tags={"reused.TrainModel": "from execution old1"},
                files={"pictures/confusion_matrix.png": b"\x89PNG", "report.html": b"<html>"},
            ),
        )

    assert run_id is not None
    assert len(run_id) == 32
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"train.epochs": "2", "gate.AccuracyThreshold": "0.985"}
    assert run.data.metrics["test_accuracy"] == 0.97
    assert run.data.tags["reused.TrainModel"] == "from execution old1"
    steps = [(m.step, m.value) for m in client.get_metric_history(run_id, "val_accuracy")]
    assert sorted(steps) == [(1, 0.7), (2, 0.85)]
    names = {a.path for a in client.list_artifacts(run_id)}
    assert names == {"pictures", "report.html"}
    assert [a.path for a in client.list_artifacts(run_id, "pictures")] == [
        "pictures/confusion_matrix.png"
    ]


def test_metrics_are_numbers_at_step_zero_and_epochs_at_their_step(
    code_modules: Callable[[], Any],
) -> None:
    with code_modules() as load:
        tracking = load("tracking")
        run = tracking.TrackedRun(
            "execution x",
            params={"text": "y" * 7000, "epochs": 3},
            metrics={"test_accuracy": 0.97, "champion_p_value_worse": None},
            history=[{"epoch": 1, "loss": 0.9, "note": "warm-up"}, {"epoch": 2, "loss": 0.5}],
        )
        points = run.metric_points()
        params = run.param_values()

    assert points == [("test_accuracy", 0.97, 0), ("loss", 0.9, 1), ("loss", 0.5, 2)]
    assert params == {"text": "y" * 6000, "epochs": "3"}  # MLflow keeps at most 6,000


def test_a_server_address_is_http_and_its_credentials_go_in_a_header(
    code_modules: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with code_modules() as load:
        tracking = load("tracking")
        with pytest.raises(ValueError, match="not an http"):
            tracking.RestTracking("ftp://127.0.0.1:5000")
        basic = tracking.RestTracking("https://me:secret@mlflow.example.com/prefix/")
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "t0ken")
        bearer = tracking.RestTracking("http://127.0.0.1:5000")

    assert basic.base == "https://mlflow.example.com/prefix"  # no password in any URL
    assert basic.headers == {"Authorization": "Basic bWU6c2VjcmV0"}  # me:secret
    assert bearer.headers == {"Authorization": "Bearer t0ken"}
