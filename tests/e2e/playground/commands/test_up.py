"""`playground up --no-pipeline` / `down`: every service starts, answers, and stops."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from localaws.background import free_port
from playground.cli import app

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
