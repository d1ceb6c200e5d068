"""The journal's reading of its own file: only a write cut by a crash may be left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localaws.emulator import Journal
from localaws.replay import ReplayError


def line(seq: int, key: str = "k") -> bytes:
    entry = {"seq": seq, "method": "PUT", "path": f"/data/{key}", "query": "", "headers": {}}
    return json.dumps(entry).encode()


def journal_of(tmp_path: Path, data: bytes) -> Journal:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.path.write_bytes(data)
    return journal


def test_a_last_line_cut_before_its_newline_is_dropped_as_torn(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, line(1) + b"\n" + line(2) + b"\n" + line(3)[:20])
    assert [e["seq"] for e in journal.entries()] == [1, 2]
    assert journal.torn


def test_a_whole_last_line_without_its_newline_is_kept_and_appends_go_on_a_new_line(
    tmp_path: Path,
) -> None:
    journal = journal_of(tmp_path, line(1) + b"\n" + line(2))
    entries = journal.entries()
    assert [e["seq"] for e in entries] == [1, 2]
    assert journal.torn  # the caller rewrites the file, so the next entry starts a line
    journal.rewrite(entries)
    journal.append({"seq": 3, "method": "PUT", "path": "/data/x", "query": "", "headers": {}}, b"")
    assert [e["seq"] for e in journal.entries()] == [1, 2, 3]


@pytest.mark.parametrize(
    ("last", "reason"),
    [
        (line(3)[:20], "not a readable journal entry"),
        (b'{"method": "PUT", "path": "/data/k"}', "no change number"),
        (b"[3]", "no change number"),
        (line(2, "other"), "does not follow 2 (line 2)"),
    ],
    ids=["half-a-line", "no-seq", "not-an-object", "seq-repeated"],
)
def test_a_damaged_last_line_that_ends_in_its_newline_stops_the_start(
    tmp_path: Path, last: bytes, reason: str
) -> None:
    # Its newline means it was written whole and fsynced: its client may have been answered.
    journal = journal_of(tmp_path, line(1) + b"\n" + line(2) + b"\n" + last + b"\n")
    with pytest.raises(ReplayError) as failed:
        journal.entries()
    message = str(failed.value)
    assert "line 3 of" in message
    assert reason in message
    assert "playground local repair" in message
    assert "No entry has been dropped" in message


def test_repair_mode_collects_a_damaged_last_line_instead_of_dropping_it_unseen(
    tmp_path: Path,
) -> None:
    journal = journal_of(tmp_path, line(1) + b"\n" + b'{"seq": 2, "meth\n')
    corrupt: list[tuple[int, bytes, str]] = []
    assert [e["seq"] for e in journal.entries(corrupt)] == [1]
    assert corrupt == [(2, b'{"seq": 2, "meth', "not a readable journal entry")]
    assert not journal.torn


def test_a_damaged_line_in_the_middle_is_named_by_its_line_in_the_file(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, line(1) + b"\n\n" + b"garbage\n" + line(2) + b"\n")
    with pytest.raises(ReplayError, match=r"line 3 of .*\n.*garbage"):
        journal.entries()
