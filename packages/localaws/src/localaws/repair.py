"""Repair a journal that cannot be replayed: keep every entry that replays, drop the rest.

The emulator stops its start at the first journal entry it cannot apply (`localaws.replay`).
`repair_journal` replays the whole journal in this process (the emulator must be stopped),
skipping unreadable lines and entries that fail, writes the journal again with the entries
that replayed, and keeps the old journal beside it (``journal.jsonl.before-repair-<time>``),
so nothing is lost for good. Entries that only made sense after a dropped one (the parts of a
multipart upload whose start was dropped) fail in turn and are dropped too; the report names
each.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localaws import replay, snapshot
from localaws.emulator import JOURNAL_NAME, build_app


@dataclass(frozen=True)
class Dropped:
    """One journal entry (or unreadable line) the repair left out, and why."""

    what: str
    reason: str
    seq: int | None = None
    line: int | None = None


@dataclass
class RepairReport:
    """What `repair_journal` did."""

    kept: int
    backup: Path | None
    dropped: list[Dropped] = field(default_factory=list)


def repair_journal(state_dir: Path) -> RepairReport:
    """Rewrite the journal in ``state_dir`` with every entry that still replays.

    Call only while no emulator serves this state folder (the caller checks).

    Args:
        state_dir: the emulator's state folder (holding journal.jsonl).

    Returns:
        How many entries were kept, what was dropped (each with the reason) and where the old
        journal was kept (None when there was nothing to repair and nothing was rewritten).
    """
    journal_path = state_dir / JOURNAL_NAME
    if not journal_path.exists():
        return RepairReport(kept=0, backup=None)
    # moto keeps its state per process: a second repair in one process (the CLI's tests) would
    # replay onto the first one's resources, and IAM answers 409 to a role that exists.
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    app = build_app(state_dir, strict=False)
    corrupt: list[tuple[int, bytes]] = []
    app.journal.entries(corrupt)
    dropped = [
        Dropped(
            line[:120].decode("utf-8", "replace"),
            "the line is corrupt: not a readable journal entry",
            line=number,
        )
        for number, line in corrupt
    ]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = state_dir / f"{JOURNAL_NAME}.before-repair-{stamp}"
    shutil.copy2(journal_path, backup)
    failed: set[int] = set()

    def note(entry: dict[str, Any], reason: str) -> None:
        failed.add(entry["seq"])
        dropped.append(Dropped(replay.describe(entry), reason, seq=entry["seq"]))

    app.replay(on_failure=note)
    kept = [e for e in app.journal.entries([]) if e["seq"] not in failed]
    if not dropped:
        backup.unlink()
        return RepairReport(kept=len(kept), backup=None)
    snapshot.write_atomically(journal_path, [json.dumps(e).encode() + b"\n" for e in kept])
    return RepairReport(kept=len(kept), backup=backup, dropped=dropped)
