"""`playground serve api` as a user runs it: a process that prints its address and serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from functions.get_models.fixtures import register_model
from localaws.background import free_port
from mlops_settings import Settings

READY = "get_models API listening on "


def _start(port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "playground"), "serve", "api", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_ready(process: subprocess.Popen[str], timeout: float = 60) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(READY):
            return line[len(READY) :].strip()
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"not ready: {process.stderr.read() if process.stderr else ''}")


@pytest.fixture
def served(emulator: Settings) -> Iterator[str]:
    process = _start(free_port())
    try:
        yield _wait_ready(process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_api_prints_its_address_and_lists_models(served: str, emulator: Settings) -> None:
    model = register_model(
        boto3.client("sagemaker"),
        boto3.client("s3"),
        group=emulator.model_package_group,
        bucket=emulator.model_bucket,
        region=emulator.region,
        model_bytes=b"onnx bytes",
    )
    assert served.startswith("http://127.0.0.1:")
    origin = {"Origin": "http://localhost:5173"}
    answer = requests.get(f"{served}/models", headers=origin, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    listed = answer.json()["models"]
    assert [m["version"] for m in listed] == [model.version]
    # The URL points at the emulator the browser can reach, and gives the registered bytes.
    assert listed[0]["download_url"].startswith(emulator.endpoint_url or "")
    assert requests.get(listed[0]["download_url"], timeout=10).content == b"onnx bytes"


def test_port_in_use_is_a_clear_error(emulator: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _start(port)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err
