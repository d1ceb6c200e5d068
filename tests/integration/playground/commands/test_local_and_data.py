"""The `playground local` and `playground data` commands as a user runs them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from localaws.background import free_port
from playground import data
from playground.cli import app

runner = CliRunner()


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private emulator port and state folder; the CLI finds the emulator by itself."""
    env = {
        "PLAYGROUND_EMULATOR_PORT": str(free_port()),
        "PLAYGROUND_STATE_DIR": str(tmp_path / "state"),
    }
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    saved = dict(os.environ)
    yield env
    runner.invoke(app, ["local", "stop"])
    # The CLI points this process's AWS clients at its emulator; undo that for other tests.
    os.environ.clear()
    os.environ.update(saved)


def test_lifecycle_seed_and_list(local_env: dict[str, str]) -> None:
    port = local_env["PLAYGROUND_EMULATOR_PORT"]
    result = runner.invoke(app, ["local", "status"])
    assert result.exit_code == 1
    assert "not running" in result.output

    result = runner.invoke(app, ["local", "start"])
    assert result.exit_code == 0, result.output
    assert f"http://127.0.0.1:{port}" in result.output

    result = runner.invoke(app, ["local", "env"])
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in result.output
    assert "export AWS_ACCESS_KEY_ID=testing" in result.output

    result = runner.invoke(app, ["data", "ls"])
    assert result.exit_code == 1
    assert "no dataset" in result.output

    result = runner.invoke(app, ["data", "seed"])
    assert result.exit_code == 0, result.output
    version = data.version_id(data.check_folder(data.SAMPLE_DIR))
    location = f"s3://mnist-playground-data/raw/mnist/{version}/"
    output = " ".join(result.output.split())
    assert f"uploaded {location}train-images-idx3-ubyte.gz" in output
    assert f"dataset version {version} created" in output

    result = runner.invoke(app, ["data", "seed", "--source", "sample"])
    output = " ".join(result.output.split())
    assert f"unchanged {location}train-labels-idx1-ubyte.gz" in output
    assert f"dataset version {version} already exists" in output

    result = runner.invoke(app, ["data", "ls"])
    assert result.exit_code == 0
    assert "10,000" in result.output
    assert version in result.output

    result = runner.invoke(app, ["local", "stop"])
    assert "emulator stopped" in result.output
    result = runner.invoke(app, ["local", "start"])
    assert result.exit_code == 0
    result = runner.invoke(app, ["data", "ls"])
    assert "10,000" in result.output


def test_seed_refuses_a_bad_folder_with_the_file_and_problem(
    local_env: dict[str, str], tmp_path: Path
) -> None:
    assert runner.invoke(app, ["local", "start"]).exit_code == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08garbage")
    (bad / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08garbage")
    result = runner.invoke(app, ["data", "seed", "--source", str(bad)])
    assert result.exit_code == 1
    assert "train-images-idx3-ubyte.gz: unreadable gzip" in result.output
    assert "nothing was uploaded" in result.output
    assert runner.invoke(app, ["data", "ls"]).exit_code == 1


def test_wrong_setting_fails_at_start_naming_the_variable(
    local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_EMULATOR_PORT", "not-a-port")
    result = runner.invoke(app, ["local", "start"])
    assert result.exit_code == 2
    assert "PLAYGROUND_EMULATOR_PORT" in result.output


def test_reset_needs_confirmation(local_env: dict[str, str]) -> None:
    assert runner.invoke(app, ["local", "start"]).exit_code == 0
    assert runner.invoke(app, ["data", "seed"]).exit_code == 0
    refused = runner.invoke(app, ["local", "reset"], input="n\n")
    assert refused.exit_code == 1
    assert runner.invoke(app, ["local", "status"]).exit_code == 0
    done = runner.invoke(app, ["local", "reset", "--yes"])
    assert done.exit_code == 0
    assert runner.invoke(app, ["local", "start"]).exit_code == 0
    assert runner.invoke(app, ["data", "ls"]).exit_code == 1
