"""`playground pipeline` helpers that need no emulator: the commit a run records."""

from __future__ import annotations

from pathlib import Path

from playground.commands.pipeline import git_commit


def test_git_commit_is_forty_hex_or_unknown(tmp_path: Path):
    assert git_commit(tmp_path) == "unknown"
    commit = git_commit(Path(__file__).parent)
    assert commit == "unknown" or len(commit) == 40
