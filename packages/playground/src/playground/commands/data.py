"""`playground data`: raw MNIST in S3, as dataset versions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from playground import data as raw_data
from playground.cli_steps import as_person, seed_and_report
from playground.console import console, fail, settings_or_exit

app = typer.Typer(
    help="Put raw MNIST (IDX) into S3 as dataset versions and see which are there.",
    no_args_is_help=True,
)


@app.command()
def seed(
    source: str = typer.Option(
        "sample",
        "--source",
        help="sample (offline, 10,000 digits), mirror (full 70,000, downloaded), or a folder "
        "of IDX files (gzip or plain, official or dot names)",
    ),
) -> None:
    """Check the raw files, then upload them as a new dataset version (manifest last)."""
    seed_and_report(settings_or_exit(), source)


@app.command("use")
def use(
    version: Annotated[str, typer.Argument(help="a dataset version id from `data ls`")],
) -> None:
    """Make an existing dataset version the latest again (say, after one failed the checks)."""
    settings = settings_or_exit()
    try:
        with as_person(settings, "deployer"):
            chosen = raw_data.use_version(settings, version)
    except raw_data.DataError as exc:
        raise fail(str(exc), 2) from None
    console.print(
        f"dataset version {chosen.version} ({chosen.source}, {chosen.digits:,} digits) is the "
        "latest: the next run trains on it (`playground pipeline run`, `make up`)"
    )


@app.command("ls")
def list_versions() -> None:
    """List the dataset versions in S3: id, when, source, digits, feedback, size; latest marked.

    ``feedback`` counts the reviewed corrections in the version's feedback shard, with how
    many its review added (``12 (+3)``); ``-`` for a version without one.
    """
    settings = settings_or_exit()
    with as_person(settings, "deployer"):
        versions = raw_data.list_versions(settings)
    if not versions:
        console.print(f"no dataset under {settings.raw_data_uri}/ (run `playground data seed`)")
        raise typer.Exit(1)
    table = Table(title=f"dataset versions under {settings.raw_data_uri}/")
    table.add_column("version", no_wrap=True)
    for column in ("created (UTC)", "source", "digits", "feedback", "MB", "manifest"):
        table.add_column(column)
    for version in versions:
        table.add_row(
            version.version + (" [bold]latest[/]" if version.latest else ""),
            version.created_at[:19].replace("T", " "),
            version.source,
            f"{version.digits:,}",
            _feedback_cell(version),
            f"{version.size / 1e6:.1f}",
            version.manifest_sha256[:12],
        )
    console.print(table)


def _feedback_cell(version: raw_data.DatasetVersion) -> str:
    """``12 (+3)``: samples in the feedback shard, and how many this version's review added."""
    if not version.feedback_count:
        return "-"
    added = len(version.feedback.get("accepted", []))
    return f"{version.feedback_count:,} (+{added})"
