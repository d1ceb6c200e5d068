"""`playground local iam`: what each role used, never used, and was denied."""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from playground.cli import app

JOBS = "mnist-playground-sagemaker-execution"


@pytest.fixture(autouse=True)
def _own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI points os.environ at the emulator; keep that inside each test."""
    monkeypatch.setattr(os, "environ", dict(os.environ))


class _Answer:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def json(self) -> dict[str, Any]:
        return self.body


def test_the_report_lists_used_unused_and_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    record = {
        "iam": True,
        "denials": 1,
        "recent": [{"role": JOBS, "action": "s3:DeleteObject", "resource": "arn:aws:s3:::d/k"}],
        "used": {
            JOBS: {
                f"role/{JOBS}:pipeline-jobs#FindTheChampion": {
                    "sagemaker:ListModelPackages": "sagemaker ListModelPackages *"
                }
            }
        },
    }
    monkeypatch.setattr(requests, "get", lambda url, timeout: _Answer(record))
    result = CliRunner().invoke(app, ["local", "iam"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # as read, whatever the terminal's width
    assert "1 requests denied since the emulator started" in text
    assert "a restart starts them again" in text
    assert (
        "used pipeline-jobs#FindTheChampion: sagemaker:ListModelPackages "
        "(sagemaker ListModelPackages *)" in text
    )
    assert "unused pipeline-jobs#WriteJobLogs" in text
    assert "denied s3:DeleteObject on arn:aws:s3:::d/k" in text


def test_with_enforcement_off_it_says_nothing_was_recorded_and_calls_nothing_unused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = {"iam": False, "denials": 0, "recent": [], "used": {}}
    monkeypatch.setattr(requests, "get", lambda url, timeout: _Answer(record))
    result = CliRunner().invoke(app, ["local", "iam"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "IAM enforcement is off in this emulator: nothing was recorded" in text
    assert "unset PLAYGROUND_EMULATOR_IAM" in text
    assert "unused" not in text.replace("used or unused statements", "")
    assert JOBS not in text
