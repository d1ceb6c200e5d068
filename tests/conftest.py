"""Shared fixtures and the tier markers.

The emulator is the project's own journalled emulator (the server `make up` runs), started once
per session by `playground.throwaway` on a free port and emptied between tests.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from localaws.background import free_port
from mlops_settings import Settings
from playground.throwaway import ThrowawayStack, foreign_variables, throwaway_stack
from support.denials import assert_no_new_denials, denials

__all__ = ["free_port"]

# Fixtures more than one tier uses (tests/ is on sys.path through pyproject's `pythonpath`).
pytest_plugins = ["support.models_api", "support.step_scripts"]

# MLflow's usage data stays off in every test and whatever the tests start (the variable the
# installed MLflow reads; tests/unit/playground/commands/test_up.py checks the name).
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

TIERS = ("unit", "integration", "e2e")
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier, the first folder under tests/ (tests/unit/... -> unit)."""
    for item in items:
        parts = Path(str(item.path)).resolve().relative_to(TESTS).parts
        if parts and parts[0] in TIERS:
            item.add_marker(parts[0])


STACK_FIXTURES = {"throwaway", "emulator_url", "emulator"}


@pytest.fixture(autouse=True)
def _unit_tests_stay_in_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """In tests/unit: no emulator, and no network connection (loopback included).

    A unit test that needs either fails with where it belongs instead (tests/README.md).
    Subprocesses (step scripts) are not watched; the rule for them is the same.
    """
    if request.node.get_closest_marker("unit") is None:
        return
    used = sorted(STACK_FIXTURES & set(request.fixturenames))
    if used:
        pytest.fail(f"a unit test cannot use {', '.join(used)}: move it to tests/integration/")

    def refuse(sock: socket.socket, address: object, *_: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise ConnectionRefusedError(
                f"a unit test tried to connect to {address}: move it to tests/integration/"
            )
        original(sock, address)

    original = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture(scope="session")
def throwaway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayStack]:
    """One throwaway emulator for the whole session (emptied between tests by `emulator`)."""
    with throwaway_stack(state_dir=tmp_path_factory.mktemp("throwaway")) as local:
        yield local


@pytest.fixture(scope="session")
def emulator_url(throwaway: ThrowawayStack) -> str:
    """The session emulator's URL, e.g. http://127.0.0.1:41234 (not reset; see `emulator`)."""
    return throwaway.url


@pytest.fixture
def emulator(
    throwaway: ThrowawayStack,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Settings]:
    """A clean emulator with what `make up` creates (buckets, group, roles, functions).

    Every AWS client in the process (and in subprocesses inheriting os.environ) points at it;
    the state folder (pipeline runs, caches) is new for each test. IAM enforcement is on (the
    default), and a test whose actors were denied anything fails at teardown, naming the
    denials, unless it is marked ``denials`` (it is about refusals).
    """
    throwaway.reset()
    for key in foreign_variables(os.environ):
        monkeypatch.delenv(key)
    for key, value in throwaway.environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PLAYGROUND_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    before = denials(throwaway.url)
    yield Settings()  # with the emulator as its endpoint, as every client sees it
    if request.node.get_closest_marker("denials") is None:
        assert_no_new_denials(throwaway.url, before)
