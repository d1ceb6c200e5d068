"""`playground data`: raw MNIST in S3."""

from __future__ import annotations

import typer
from rich.table import Table

from playground import data as raw_data
from playground.console import console, fail, settings_or_exit, transfer_progress

app = typer.Typer(
    help="Put raw MNIST (IDX, gzip) into S3 and see what is there.", no_args_is_help=True
)


@app.command()
def seed(
    source: str = typer.Option(
        "sample",
        "--source",
        help="sample (offline, 10,000 digits), mirror (full 70,000, downloaded), or a folder",
    ),
) -> None:
    """Check the raw files, then upload them under s3://<data bucket>/raw/mnist/."""
    settings = settings_or_exit()
    try:
        with transfer_progress() as progress:
            result = raw_data.seed(settings, source, progress)  # type: ignore[arg-type]
    except raw_data.DataError as exc:
        raise fail(f"{exc}\nnothing was uploaded") from None
    for name in result.uploaded:
        console.print(f"uploaded  {result.location}{name}")
    for name in result.unchanged:
        console.print(f"unchanged {result.location}{name}")


@app.command("ls")
def list_objects() -> None:
    """List the raw data in S3 with sizes, digit counts and checksums."""
    settings = settings_or_exit()
    objects = raw_data.list_raw(settings)
    if not objects:
        console.print(f"no raw data under {settings.raw_data_uri}/ (run `playground data seed`)")
        raise typer.Exit(1)
    table = Table(title=f"{settings.raw_data_uri}/")
    for column in ("key", "bytes", "digits", "sha256", "modified"):
        table.add_column(column)
    for obj in objects:
        table.add_row(
            obj.key,
            f"{obj.size:,}",
            f"{obj.count:,}" if obj.count else "?",
            (obj.sha256 or "?")[:16],
            obj.last_modified,
        )
    console.print(table)
