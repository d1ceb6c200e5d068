"""tracking.py: one MLflow run per execution, or one line saying why nothing is logged."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
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
    code_modules: Callable[[], Any], sqlite_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    uri = sqlite_uri
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


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sqlite store holding the experiment, made once: MLflow's migrations take seconds."""
    from mlflow.tracking import MlflowClient

    folder = tmp_path_factory.mktemp("mlflow")
    MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}").create_experiment(
        "mnist-pipeline", artifact_location=(folder / "artifacts").as_uri()
    )
    return folder / "mlflow.db"


@pytest.fixture
def sqlite_uri(empty_store: Path, tmp_path: Path) -> str:
    """A fresh copy of the empty store for one test; its tracking URI."""
    import shutil

    shutil.copyfile(empty_store, tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


STARTED_MS = 1_764_900_000_000  # the execution's start, as its runner recorded it
MANIFEST = {
    "dataset_version": "0123456789abcdef",
    "bucket": "mnist-playground-data",
    "prefix": "raw/mnist/0123456789abcdef/",
    "objects": [
        {"key": "raw/mnist/0123456789abcdef/train-images-idx3-ubyte.gz", "count": 1000},
        {"key": "raw/mnist/0123456789abcdef/train-labels-idx1-ubyte.gz", "count": 1000},
    ],
}


def test_a_run_lasts_as_long_as_its_execution_with_its_steps_and_dataset(
    code_modules: Callable[[], Any], sqlite_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    uri = sqlite_uri
    with code_modules() as load:
        tracking = load("tracking")
        run_id = tracking.log_run(
            uri,
            tracking.TrackedRun(
                "execution e1",
                metrics={"test_accuracy": 0.97},
                tags={"pipeline_execution_id": "e1"},
                started_at_ms=STARTED_MS,
                dataset=tracking.dataset_input(MANIFEST, "f" * 64),
                ending=None,  # the execution goes on: register, then its end
            ),
        )
        client = MlflowClient(tracking_uri=uri)
        assert client.get_run(run_id).info.status == "RUNNING"
        closed = tracking.close_execution(
            uri,
            tracking.ExecutionFacts(
                "e1",
                STARTED_MS,
                STARTED_MS + 27_400,
                failed=False,
                step_seconds={"PrepareData": 3.5, "TrainModel": 20.25, "EvaluateModel": 3.0},
            ),
        )

    run = client.get_run(run_id)
    assert closed == run_id
    assert run.info.status == "FINISHED"
    assert (run.info.start_time, run.info.end_time) == (STARTED_MS, STARTED_MS + 27_400)
    assert run.data.metrics["step_seconds.TrainModel"] == 20.25
    assert run.data.metrics["step_seconds.PrepareData"] == 3.5
    [used] = run.inputs.dataset_inputs
    assert used.dataset.name == "mnist"
    assert used.dataset.digest == "0123456789abcdef"
    assert json.loads(used.dataset.source) == {
        "uri": "s3://mnist-playground-data/raw/mnist/0123456789abcdef/manifest.json"
    }
    assert used.dataset.source_type == "s3"
    assert json.loads(used.dataset.profile)["manifest_sha256"] == "f" * 64
    assert json.loads(used.dataset.profile)["digits"] == 1000
    assert [(t.key, t.value) for t in used.tags] == [("mlflow.data.context", "training")]


def test_an_execution_that_failed_before_any_run_gets_a_failed_one_with_the_reason(
    code_modules: Callable[[], Any], sqlite_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    uri = sqlite_uri
    reason = "PrepareData: data check labels failed: 5 labels outside 0-9"
    with code_modules() as load:
        tracking = load("tracking")
        run_id = tracking.close_execution(
            uri,
            tracking.ExecutionFacts(
                "e2", STARTED_MS, STARTED_MS + 4_000, True, reason, {"PrepareData": 3.9}
            ),
        )

    run = MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.info.status == "FAILED"
    assert (run.info.start_time, run.info.end_time) == (STARTED_MS, STARTED_MS + 4_000)
    assert run.data.tags["failure_reason"] == reason
    assert run.data.tags["pipeline_execution_id"] == "e2"
    assert run.data.metrics == {"step_seconds.PrepareData": 3.9}


def test_a_failure_after_the_run_is_created_marks_it_failed_with_the_reason(
    code_modules: Callable[[], Any], sqlite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    uri = sqlite_uri
    with code_modules() as load:
        tracking = load("tracking")

        def broken_upload(self: Any, run_id: str, artifact_uri: str, files: Any) -> None:
            raise OSError("the artifact store refused the upload")

        monkeypatch.setattr(tracking.ClientTracking, "upload", broken_upload)
        with pytest.raises(OSError, match="refused the upload"):
            tracking.log_run(
                uri,
                tracking.TrackedRun(
                    "execution e3",
                    tags={"pipeline_execution_id": "e3"},
                    files={"report.html": b"<html>"},
                    ending=None,
                ),
            )

    [run] = MlflowClient(tracking_uri=uri).search_runs(
        [MlflowClient(tracking_uri=uri).get_experiment_by_name("mnist-pipeline").experiment_id]
    )
    assert run.info.status == "FAILED"
    assert run.info.end_time is not None
    assert "the artifact store refused the upload" in run.data.tags["failure_reason"]


def test_a_deleted_experiment_is_restored_with_a_warning_and_the_run_logged(
    code_modules: Callable[[], Any], sqlite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow.tracking import MlflowClient

    uri = sqlite_uri
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("mnist-pipeline")
    client.delete_experiment(experiment.experiment_id)  # as the UI's delete does
    with code_modules() as load:
        tracking = load("tracking")
        run = tracking.TrackedRun("execution e4", metrics={"test_accuracy": 0.9})
        run_id = tracking.log_run(uri, run)

    assert client.get_experiment(experiment.experiment_id).lifecycle_stage == "active"
    assert client.get_run(run_id).info.experiment_id == experiment.experiment_id
    [warning] = run.warnings
    assert "'mnist-pipeline'" in warning
    assert "had been deleted; restored it" in warning
    assert f"MLflow: {warning}" in capsys.readouterr().out


def test_a_resumed_execution_closes_the_resumed_attempts_run_and_keeps_the_first(
    code_modules: Callable[[], Any], sqlite_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    uri = sqlite_uri
    with code_modules() as load:
        tracking = load("tracking")
        first = tracking.close_execution(
            uri, tracking.ExecutionFacts("e5", STARTED_MS, STARTED_MS + 1_000, True, "bad data")
        )
        again = tracking.log_run(
            uri,
            tracking.TrackedRun(
                "execution e5",
                tags={"pipeline_execution_id": "e5"},
                started_at_ms=STARTED_MS,
                ending=None,
            ),
        )
        closed = tracking.close_execution(
            uri, tracking.ExecutionFacts("e5", STARTED_MS, STARTED_MS + 90_000, False)
        )

    client = MlflowClient(tracking_uri=uri)
    assert closed == again != first
    assert client.get_run(first).info.status == "FAILED"
    assert client.get_run(first).info.end_time == STARTED_MS + 1_000
    assert client.get_run(again).info.status == "FINISHED"
    assert client.get_run(again).info.end_time == STARTED_MS + 90_000


def test_the_last_steps_end_is_corrected_by_the_runners_own(
    code_modules: Callable[[], Any], sqlite_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    with code_modules() as load:
        tracking = load("tracking")
        run_id = tracking.log_run(
            sqlite_uri,
            tracking.TrackedRun(
                "execution e6",
                tags={"pipeline_execution_id": "e6"},
                started_at_ms=STARTED_MS,
                ending=None,
            ),
        )
        # register, the last step, ends it (all AWS has); the local runner ends it exactly.
        by_register = tracking.ExecutionFacts("e6", STARTED_MS, STARTED_MS + 30_000, False)
        tracking.close_execution(sqlite_uri, replace(by_register, final=False))
        client = MlflowClient(tracking_uri=sqlite_uri)
        assert client.get_run(run_id).info.status == "FINISHED"
        by_runner = replace(by_register, ended_at_ms=STARTED_MS + 30_200, step_seconds={"A": 1})
        assert tracking.close_execution(sqlite_uri, by_runner) == run_id

    run = client.get_run(run_id)
    assert run.info.end_time == STARTED_MS + 30_200
    assert run.data.tags["execution_status"] == "Succeeded"
    assert run.data.metrics["step_seconds.A"] == 1
