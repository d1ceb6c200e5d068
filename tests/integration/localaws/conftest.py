"""Fixtures of the emulator's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_settings import Settings
from playground import stack
from support.emulator_process import private_settings


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    """A private emulator on a free port with state in a temp folder (started by the test)."""
    settings = private_settings(monkeypatch, tmp_path / "state")
    yield settings
    stack.stop(settings)
