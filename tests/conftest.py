"""Shared fixtures: a real moto server on a free localhost port, reached over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from moto.server import ThreadedMotoServer

from mlops_settings import Settings
from playground import stack
from playground.background import free_port

__all__ = ["free_port"]

# Fixtures more than one tier uses (tests/ is on sys.path through pyproject's `pythonpath`).
pytest_plugins = ["support.models_api", "support.step_scripts"]

TIERS = ("unit", "integration", "e2e")
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier, the first folder under tests/ (tests/unit/... -> unit)."""
    for item in items:
        parts = Path(str(item.path)).resolve().relative_to(TESTS).parts
        if parts and parts[0] in TIERS:
            item.add_marker(parts[0])


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
    """A clean emulator with the buckets and the model package group that `make up` creates.

    Every AWS client in the process (and in subprocesses inheriting os.environ) points at it.
    """
    requests.post(f"{emulator_url}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("PLAYGROUND_EMULATOR_PORT", emulator_url.rsplit(":", 1)[1])
    monkeypatch.setenv("PLAYGROUND_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    for key in [k for k in os.environ if k.startswith("AWS_PROFILE") or "ENDPOINT_URL" in k]:
        monkeypatch.delenv(key)
    for key, value in Settings().aws_environment().items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # now with the emulator as its endpoint, as every client sees it
    stack.bootstrap(settings)
    return settings
