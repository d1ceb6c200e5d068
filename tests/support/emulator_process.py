"""A private emulator process for tests that stop it the way a user's machine does.

`private_settings` points this process (and its boto3 clients) at an emulator on a free port
with its state in a folder of the test's own; the test starts it (`playground.stack.start`).
`kill_9` ends it with SIGKILL, as a crash or a power cut would, and waits until it is gone.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localaws import snapshot
from localaws.background import free_port
from mlops_settings import Settings
from playground import stack


def private_settings(monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> Settings:
    """Settings (and environment) of an emulator on a free port, state in ``state_dir``."""
    monkeypatch.setenv("PLAYGROUND_EMULATOR_PORT", str(free_port()))
    monkeypatch.setenv("PLAYGROUND_STATE_DIR", str(state_dir))
    monkeypatch.delenv(snapshot.PAUSE_VARIABLE, raising=False)
    settings = Settings()
    for key, value in settings.aws_environment().items():
        monkeypatch.setenv(key, value)
    return settings


def client(settings: Settings, service: str, read_timeout: int = 60) -> Any:
    """A boto3 client of the emulator that does not retry (a failure shows at once)."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=settings.emulator_url,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=read_timeout),
    )


def kill_9(settings: Settings) -> None:
    """SIGKILL the emulator and wait (up to 10 s) until its status says it is gone."""
    pid = stack.status(settings).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and stack.status(settings).running:
        time.sleep(0.05)
