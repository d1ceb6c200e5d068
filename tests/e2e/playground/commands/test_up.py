"""`playground up --no-pipeline` / `down`: every service starts, answers, and stops."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from typer.testing import CliRunner

from localaws.background import free_port
from mlops_settings import Settings
from playground import lambda_functions
from playground.cli import app
from support.denials import assert_no_new_denials

runner = CliRunner()
SITE_BUILT = (Path(__file__).parents[4] / "web" / "dist" / "index.html").exists()


@pytest.fixture
def ports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, int]]:
    chosen = {"emulator": free_port(), "api": free_port(), "site": free_port()}
    chosen["mlflow"] = free_port()
    monkeypatch.setenv("PLAYGROUND_MLFLOW_PORT", str(chosen["mlflow"]))
    monkeypatch.setenv("PLAYGROUND_EMULATOR_PORT", str(chosen["emulator"]))
    monkeypatch.setenv("PLAYGROUND_API_PORT", str(chosen["api"]))
    monkeypatch.setenv("PLAYGROUND_SITE_PORT", str(chosen["site"]))
    monkeypatch.setenv("PLAYGROUND_STATE_DIR", str(tmp_path / "state"))
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key, raising=False)
    saved = dict(os.environ)
    yield chosen
    runner.invoke(app, ["down"])
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.skipif(not SITE_BUILT, reason="web/dist is built by `make setup` (npm run build)")
def test_up_prints_the_addresses_and_down_stops_everything(ports: dict[str, int]) -> None:
    result = runner.invoke(app, ["up", "--no-pipeline"])
    assert result.exit_code == 0, result.output
    site = f"http://127.0.0.1:{ports['site']}"
    api = f"http://127.0.0.1:{ports['api']}"
    assert f"{site}/" in result.output
    assert f"{api}/models" in result.output
    assert f"http://127.0.0.1:{ports['emulator']}" in result.output
    mlflow = f"http://127.0.0.1:{ports['mlflow']}"
    assert mlflow in result.output
    assert requests.get(f"{mlflow}/health", timeout=10).status_code == 200

    listing = requests.get(f"{api}/models", timeout=10)
    assert listing.status_code == 200
    assert listing.json()["models"] == []  # no pipeline ran: nothing approved yet
    config = requests.get(f"{site}/config.json", timeout=10).json()
    assert config["api_url"] == api
    assert '<div id="root">' in requests.get(f"{site}/", timeout=10).text

    # A second `up` finds everything running and the data in place.
    again = runner.invoke(app, ["up", "--no-pipeline"])
    assert again.exit_code == 0, again.output
    assert requests.get(f"{api}/models", timeout=10).status_code == 200
    # Every actor of `up` (the deployer's seed, the API as its role) was denied nothing.
    assert_no_new_denials(f"http://127.0.0.1:{ports['emulator']}", 0)

    _switching_iam_with_an_emulator_restart_reaches_the_api(api)

    down = runner.invoke(app, ["down"])
    assert down.exit_code == 0
    assert "stopped the site" in down.output
    assert "stopped the api" in down.output
    assert "stopped the AWS emulator" in down.output
    assert "stopped the mlflow" in down.output
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{api}/models", timeout=5)


@pytest.mark.skipif(not SITE_BUILT, reason="web/dist is built by `make setup` (npm run build)")
def test_up_after_seeding_a_folder_keeps_that_data(ports: dict[str, int], tmp_path: Path) -> None:
    import numpy as np

    from mlops_settings import Settings
    from pipelines.mnist.code.idx import read_pair, write_idx_gz
    from playground import data

    images, labels = data.SPLITS["train"]
    pair = read_pair(data.SAMPLE_DIR / images, data.SAMPLE_DIR / labels)
    folder = tmp_path / "my-digits"
    folder.mkdir()
    pick = np.arange(0, 10_000, 3)
    write_idx_gz(pair.images[pick], folder / images)
    write_idx_gz(pair.labels[pick], folder / labels)

    assert runner.invoke(app, ["local", "start"]).exit_code == 0
    seeded = runner.invoke(app, ["data", "seed", "--source", str(folder)])
    assert seeded.exit_code == 0, seeded.output
    result = runner.invoke(app, ["up", "--no-pipeline"])
    assert result.exit_code == 0, result.output
    assert "not seeding the sample" in " ".join(result.output.split())

    for key, value in Settings().aws_environment().items():
        os.environ[key] = value
    [version] = data.list_versions(Settings())
    assert version.source == "folder my-digits"
    assert version.latest
    assert version.digits == len(pick)


def _switching_iam_with_an_emulator_restart_reaches_the_api(api: str) -> None:
    """Off and on again with `local stop`/`start` alone: the API follows, status says so."""
    settings = Settings()
    [function] = [f for f in lambda_functions.functions(settings) if "get-models" in f.name]

    def withdraw_the_url_invoke_permission() -> None:
        boto3.client(
            "lambda",
            region_name=settings.region,
            endpoint_url=settings.emulator_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).remove_permission(
            FunctionName=function.name, StatementId=lambda_functions.INVOKE_STATEMENT
        )
        time.sleep(1.5)  # the gateway reads the function's policy at most once a second

    withdraw_the_url_invoke_permission()
    assert requests.get(f"{api}/models", timeout=10).status_code == 403  # as AWS answers

    os.environ["PLAYGROUND_EMULATOR_IAM"] = "false"
    assert runner.invoke(app, ["local", "stop"]).exit_code == 0
    assert runner.invoke(app, ["local", "start"]).exit_code == 0  # puts it back, as `up` does
    withdraw_the_url_invoke_permission()
    text = " ".join(runner.invoke(app, ["local", "status"]).output.split())
    assert "IAM enforcement: off" in text
    assert "Function URL permissions not checked (the emulator does not enforce)" in text
    assert requests.get(f"{api}/models", timeout=10).status_code == 200  # no API restart

    os.environ["PLAYGROUND_EMULATOR_IAM"] = "true"
    assert runner.invoke(app, ["local", "stop"]).exit_code == 0
    started = runner.invoke(app, ["local", "start"])
    assert started.exit_code == 0, started.output
    text = " ".join(runner.invoke(app, ["local", "status"]).output.split())
    assert "IAM enforcement: on" in text
    assert "Function URL permissions checked, following the emulator's setting" in text
    time.sleep(1.5)
    assert requests.get(f"{api}/models", timeout=10).status_code == 200
