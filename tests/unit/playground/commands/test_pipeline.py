"""`playground pipeline` helpers that need no emulator: the commit a run records."""

from __future__ import annotations

import subprocess
from pathlib import Path

from typer.testing import CliRunner

from playground.cli import app
from playground.provenance import git_commit


def test_git_commit_is_forty_hex_or_unknown(tmp_path: Path):
    assert git_commit(tmp_path) == "unknown"
    commit = git_commit(Path(__file__).parent)
    assert commit == "unknown" or len(commit.removesuffix("-dirty")) == 40


def test_a_working_tree_with_uncommitted_changes_is_dirty(tmp_path: Path):
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "train.py").write_text("epochs = 1\n")
    git("add", "train.py")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "HEAD")
    assert git_commit(tmp_path) == head
    (tmp_path / "train.py").write_text("epochs = 2\n")
    assert git_commit(tmp_path) == f"{head}-dirty"
    git("commit", "-q", "-am", "second")
    (tmp_path / "new_step.py").write_text("")
    assert git_commit(tmp_path) == f"{git('rev-parse', 'HEAD')}-dirty"


def test_upsert_refuses_the_aws_target_where_only_terraform_writes_the_pipeline(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_TARGET", "aws")
    monkeypatch.setenv("PLAYGROUND_DATA_BUCKET", "acme-data")
    monkeypatch.setenv("PLAYGROUND_MODEL_BUCKET", "acme-models")
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["pipeline", "upsert", "--git-commit", "a" * 40])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert (
        "only Terraform writes the pipeline: `make pipeline-definition && make tf-apply`" in message
    )
