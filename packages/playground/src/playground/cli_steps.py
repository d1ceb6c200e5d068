"""Steps more than one command takes, in the CLI's voice (spinners, progress, one-line errors).

Commands import these instead of each other: `up` starts the emulator and seeds the data as
`local start` and `data seed` do; `pipeline` and `feedback` report AWS errors alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import EndpointConnectionError, NoCredentialsError

from mlops_settings import Settings
from playground import data as raw_data
from playground import people, stack
from playground.console import console, fail, transfer_progress


def start_emulator(settings: Settings) -> stack.StackStatus:
    """Start the emulator with a spinner, or exit with the reason."""
    try:
        with console.status("starting the AWS emulator (replaying its journal)…"):
            return stack.start(settings)
    except stack.StackError as exc:
        raise fail(str(exc)) from None


@contextmanager
def as_person(settings: Settings, default: str) -> Iterator[str]:
    """Sign the block's AWS calls as a person of docs/aws.md (`playground.people.acting_as`).

    ``default``: who runs the command in the runbook (``deployer``, ``reviewer``,
    ``approver``); the ``person`` setting overrides it. A role the emulator lacks is one line.
    """
    try:
        with people.acting_as(settings, default) as person:
            yield person
    except people.PersonError as exc:
        raise fail(str(exc)) from None


def seed_and_report(settings: Settings, source: str) -> None:
    """Check the raw files, upload them as a new dataset version and say what happened.

    Args:
        settings: the playground settings.
        source: `sample`, `mirror` or a folder of IDX files (see `playground.data.seed`).

    Raises:
        typer.Exit: the files are refused (nothing was uploaded).
    """
    try:
        with as_person(settings, "deployer"), transfer_progress() as progress:
            result = raw_data.seed(settings, source, progress)  # type: ignore[arg-type]
    except raw_data.DataError as exc:
        raise fail(f"{exc}\nnothing was uploaded") from None
    for name in result.uploaded:
        console.print(f"uploaded  {result.location}{name}")
    for name in result.unchanged:
        console.print(f"unchanged {result.location}{name}")
    if any(name.startswith("feedback-") for name in result.uploaded + result.unchanged):
        console.print(
            "kept people's reviewed corrections: the latest version's feedback shard is part "
            "of this version (contracts/feedback.md)"
        )
    if result.created:
        console.print(
            f"dataset version {result.version} created and made the latest; its manifest "
            f"{result.location}{raw_data.MANIFEST_NAME}, written last, starts the training "
            "pipeline once its triggers are installed (`make up` or `playground pipeline "
            "upsert`; see `playground pipeline list`)"
        )
    else:
        console.print(
            f"dataset version {result.version} already exists; it is the latest again "
            "(the next run's input); nothing new to train"
        )


@contextmanager
def aws_errors(settings: Settings) -> Iterator[None]:
    """Turn an unreachable endpoint or missing credentials into one line for a person."""
    try:
        yield
    except EndpointConnectionError as exc:
        hint = " (start it: playground local start)" if settings.target == "local" else ""
        raise fail(f"cannot reach AWS at {exc.kwargs.get('endpoint_url')}{hint}") from None
    except NoCredentialsError:
        raise fail("no AWS credentials found (see the README's AWS section)") from None
