"""A journal entry that cannot be replayed: a named message, then `playground local repair`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlops_settings import Settings
from playground import stack
from playground.cli import app
from support.emulator_process import client, kill_9

runner = CliRunner()


@pytest.fixture
def local(local: Settings) -> Iterator[Settings]:
    """The private emulator with some history, killed with SIGKILL (the journal is replayed)."""
    settings = local
    saved = dict(os.environ)
    stack.start(settings)
    s3 = s3_client(settings)
    s3.put_object(Bucket=settings.data_bucket, Key="before.txt", Body=b"before")
    started = s3.create_multipart_upload(Bucket=settings.data_bucket, Key="parts.bin")
    part = s3.upload_part(
        Bucket=settings.data_bucket,
        Key="parts.bin",
        UploadId=started["UploadId"],
        PartNumber=1,
        Body=b"p" * 100,
    )
    s3.complete_multipart_upload(
        Bucket=settings.data_bucket,
        Key="parts.bin",
        UploadId=started["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    s3.put_object(Bucket=settings.data_bucket, Key="after.txt", Body=b"after")
    kill_9(settings)
    yield settings
    stack.stop(settings)
    os.environ.clear()
    os.environ.update(saved)


def s3_client(settings: Settings) -> Any:
    return client(settings, "s3")


def journal(settings: Settings) -> Path:
    return stack.StackPaths.of(settings).journal


def line_of(settings: Settings, needle: str) -> int:
    """The 1-based line of the first journal entry whose path or query contains `needle`."""
    lines = journal(settings).read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    return next(n for n, e in enumerate(entries, 1) if needle in e["path"] + "?" + e["query"])


def read(settings: Settings, key: str) -> bytes:
    answer = s3_client(settings).get_object(Bucket=settings.data_bucket, Key=key)
    body: bytes = answer["Body"].read()
    return body


@pytest.mark.parametrize(
    ("damaged", "survivor"),
    [
        ("partNumber=1", ("after.txt", b"after")),
        # The last line ends in its newline: written whole, fsynced and answered. Damaged, it
        # is not a torn write to drop unseen; the start stops and names it as any other.
        ("after.txt", ("parts.bin", b"p" * 100)),
    ],
    ids=["a-line-in-the-middle", "the-last-line"],
)
def test_an_unreadable_line_is_named_and_repair_keeps_everything_else(
    local: Settings, damaged: str, survivor: tuple[str, bytes]
) -> None:
    lines = journal(local).read_text().splitlines()
    broken = line_of(local, damaged)
    assert (broken == len(lines)) is (damaged == "after.txt")
    lines[broken - 1] = lines[broken - 1][: len(lines[broken - 1]) // 2]  # half a line
    journal(local).write_text("\n".join(lines) + "\n")

    with pytest.raises(stack.StackError) as failed:
        stack.start(local)
    message = str(failed.value)
    assert f"line {broken}" in message
    assert "not a readable journal entry" in message
    assert "playground local repair" in message
    assert "Traceback" not in message

    result = runner.invoke(app, ["local", "repair"])
    assert result.exit_code == 0, result.output
    assert f"line {broken}" in result.output
    backups = list(journal(local).parent.glob("journal.jsonl.before-repair-*"))
    assert len(backups) == 1
    assert backups[0].read_text().splitlines() == lines  # the old journal, kept as it was

    stack.start(local)
    assert read(local, "before.txt") == b"before"
    key, body = survivor
    assert read(local, key) == body


def test_an_entry_that_fails_on_replay_is_named_and_repaired(local: Settings) -> None:
    lines = journal(local).read_text().splitlines()
    failing = line_of(local, "partNumber=1")
    entry = json.loads(lines[failing - 1])
    upload_id = entry["query"].split("uploadId=")[1].split("&")[0]
    entry["query"] = entry["query"].replace(upload_id, "no-such-upload-id")
    lines[failing - 1] = json.dumps(entry)
    journal(local).write_text("\n".join(lines) + "\n")

    with pytest.raises(stack.StackError) as failed:
        stack.start(local)
    message = str(failed.value)
    assert f"entry {entry['seq']}" in message
    assert f"s3 PUT /{local.data_bucket}/parts.bin?" in message
    assert "moto raised KeyError: 'no-such-upload-id'" in message
    assert "playground local repair" in message

    # Repair refuses while an emulator serves the state; here none does.
    result = runner.invoke(app, ["local", "repair"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert f"entry {entry['seq']}" in output
    assert "dropped 2" in output  # the part, then the completion that needed it

    stack.start(local)
    assert read(local, "before.txt") == b"before"
    assert read(local, "after.txt") == b"after"
    result = runner.invoke(app, ["local", "repair"])
    assert result.exit_code == 1
    assert "stop it first" in result.output
    stack.stop(local)
    result = runner.invoke(app, ["local", "repair"])
    assert result.exit_code == 0, result.output
    assert "nothing to repair" in result.output
