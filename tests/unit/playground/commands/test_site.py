"""`playground site serve`: the command's own answers."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from playground.cli import app


def test_the_command_explains_a_missing_build(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["site", "serve", "--port", "1", "--dist", str(tmp_path / "none")]
    )
    assert result.exit_code == 1
    assert "no built site" in result.output
