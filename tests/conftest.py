"""Shared fixtures: a real moto server on a free localhost port, reached over HTTP."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from mlops_settings import Settings


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    """One moto server for the whole test session (reset between tests by `emulator`)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def emulator(
    emulator_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """A clean emulator with the data bucket, model bucket and model package group created.

    Every AWS client in the process (and in subprocesses inheriting os.environ) points at it.
    """
    requests.post(f"{emulator_url}/moto-api/reset", timeout=10).raise_for_status()
    env = {
        "AWS_ENDPOINT_URL": emulator_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PLAYGROUND_STATE_DIR": str(tmp_path_factory.mktemp("state")),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_PROFILE")]:
        monkeypatch.delenv(key)
    settings = Settings()
    s3 = boto3.client("s3")
    for bucket in (settings.data_bucket, settings.model_bucket):
        s3.create_bucket(Bucket=bucket)
    boto3.client("sagemaker").create_model_package_group(
        ModelPackageGroupName=settings.model_package_group
    )
    return settings
