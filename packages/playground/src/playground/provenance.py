"""Which commit the pipeline code that runs comes from (a definition's GitCommit default)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pipelines.mnist import pipeline as mnist


def git_commit(folder: Path | None = None) -> str:
    """The commit of the checkout holding the pipeline code.

    Args:
        folder: a folder inside the checkout (default: the pipeline code's folder).

    Returns:
        40 hex digits; with `-dirty` when the working tree has uncommitted changes (tracked
        or untracked, ignored files aside), because then the code that runs is not that
        commit; `unknown` outside a git checkout.
    """
    folder = folder or mnist.CODE_DIR

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not re.fullmatch(r"[0-9a-f]{40}", head):
        return "unknown"
    return f"{head}-dirty" if changed else head
