"""`playground up`: MLflow's usage data off wherever the project starts it; its summary."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from rich.console import Console

from mlops_settings import Settings
from playground.commands.up import mlflow_environment, print_summary
from playground.mlflow_server import TELEMETRY_OFF

# Any of these turns MLflow's telemetry off by itself (mlflow.telemetry.utils), which would
# hide whether our setting does.
_CI_MARKERS = ("PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "DO_NOT_TRACK")


def mlflow_says_telemetry_is_off(extra: dict[str, str]) -> tuple[bool, bool]:
    """What the installed MLflow decides in a fresh interpreter: without, then with ``extra``.

    `is_telemetry_disabled` reads the variable at each call, so one import answers both.
    """
    environment = {k: v for k, v in os.environ.items() if k not in _CI_MARKERS}
    environment.pop("MLFLOW_DISABLE_TELEMETRY", None)
    script = (
        "import os\n"
        "from mlflow.telemetry.utils import is_telemetry_disabled as off\n"
        "print(off())\n"
        f"os.environ.update({extra!r})\n"
        "print(off())\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    before, after = answer.stdout.split()
    return before == "True", after == "True"


def test_the_mlflow_server_starts_with_mlflows_own_telemetry_setting_off() -> None:
    environment = mlflow_environment(Settings())

    assert environment["MLFLOW_DISABLE_TELEMETRY"] == "true"
    # The variable is the one the installed MLflow reads: without it, it would send usage data.
    assert mlflow_says_telemetry_is_off(TELEMETRY_OFF) == (False, True)


RUNS = "http://127.0.0.1:5000/#/experiments/123456789012345678/runs"


def test_the_summary_never_cuts_an_address_in_an_80_column_terminal() -> None:
    rows = [
        ("web app", "http://127.0.0.1:5173/"),
        ("MLflow (runs, metrics, pictures)", RUNS),
        ("state and logs", "/home/someone/projects/aws-mlops-playground/.playground/" + "x" * 40),
    ]
    for width in (40, 80, 200):
        printed = io.StringIO()
        print_summary(Console(file=printed, width=width), "aws-mlops-playground is up", rows)
        lines = printed.getvalue().splitlines()
        assert "…" not in printed.getvalue()
        for _, value in rows:
            assert any(value in line for line in lines), (width, value, lines)
