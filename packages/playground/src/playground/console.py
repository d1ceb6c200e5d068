"""Shared terminal output: one rich console, progress bars, and settings for commands."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from mlops_settings import Settings, SettingsError, load_settings

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for a person and return the exit to raise."""
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    """The settings, with AWS clients of this process pointed at the configured target."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise fail(str(exc), code=2) from None
    for key, value in settings.aws_environment().items():
        if key.startswith("AWS_ACCESS_KEY") or key.startswith("AWS_SECRET"):
            os.environ.setdefault(key, value)
        else:
            os.environ[key] = value
    return settings


@contextmanager
def transfer_progress() -> Iterator[object]:
    """A progress callback `(name, n, total)`: total starts a bar, n advances it."""
    bars: dict[str, object] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=False,
    ) as progress:

        def update(name: str, n: int, total: int | None) -> None:
            if name not in bars or total is not None:
                bars[name] = progress.add_task(name, total=total)
            progress.advance(bars[name], n)  # type: ignore[arg-type]

        yield update
