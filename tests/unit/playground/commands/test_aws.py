"""`playground aws cost` and `preflight` as a person types them (no AWS call made here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from playground.cli import app

cli = CliRunner()


def text(output: str) -> str:
    return " ".join(output.replace("│", " ").replace("┃", " ").split())


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_bytes(b"x" * 1_000_000)
    (folder / "assets" / "app.js").write_bytes(b"y" * 1_000_000)
    return folder


def test_cost_prints_the_month_with_its_assumptions_and_the_tables_date(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("PLAYGROUND_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PLAYGROUND_TRAINING_SCHEDULE", "rate(730 hours)")  # once a month
    result = cli.invoke(
        app,
        ["aws", "cost", "--site", str(site), "--visitors", "1000", "--reviews", "0"],
        terminal_width=250,
    )
    assert result.exit_code == 0, result.output
    output = text(result.output)
    assert "us-east-1 list prices of 2026-12-05" in output
    # 1,000 visitors x 2 MB = 2 GB at $0.085, 2,000 requests at $0.000001: $0.172
    assert "CloudFront transfer and requests 2.00 GB, 2,000 requests 0.17" in output
    # 1 scheduled + 1 dataset version = 2 executions
    assert "SageMaker training jobs 2 runs x 360 s (ml.m5.xlarge)" in output
    assert "step times assumed (no local run yet" in output


def test_cost_refuses_an_unknown_mlflow_size(site: Path) -> None:
    result = cli.invoke(app, ["aws", "cost", "--site", str(site), "--mlflow", "Huge"])
    assert result.exit_code == 2
    assert "--mlflow must be none, Small, Medium or Large" in text(result.output)


def test_preflight_needs_the_runbooks_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_VAR_name_prefix", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = cli.invoke(app, ["aws", "preflight"])
    assert result.exit_code == 2
    assert "set TF_VAR_name_prefix (docs/aws.md, step 1)" in text(result.output)
