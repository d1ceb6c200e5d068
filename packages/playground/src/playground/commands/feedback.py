"""`playground feedback`: people's corrections waiting in quarantine, and their review.

`list` counts the pending samples; `review` shows them as a picture grid and accepts or
rejects them (contracts/feedback.md): accepted ones become a new dataset version whose
manifest starts training, rejected ones are deleted.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from botocore.exceptions import ClientError
from rich.table import Table

from mlops_settings import Settings
from playground import feedback as fb
from playground.cli_steps import aws_errors
from playground.console import console, errors, fail, settings_or_exit

app = typer.Typer(
    help="People's corrections from the web app: count them, review them into training data.",
    no_args_is_help=True,
)


@contextmanager
def _guarded(settings: Settings) -> Iterator[None]:
    """AWS trouble and refused reviews as one line for a person."""
    with aws_errors(settings):
        try:
            yield
        except fb.FeedbackError as exc:
            raise fail(f"{exc}\nnothing was changed", 2) from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise fail(f"S3 refused: {error.get('Code')}: {error.get('Message')}") from None


def _broken_lines(pending: fb.Pending) -> None:
    for item in pending.broken:
        errors.print(f"[yellow]broken[/] s3://{item.key}: {item.problem}")


@app.command("list")
def list_pending() -> None:
    """Count the pending samples: by label, by model version, and predicted -> label."""
    settings = settings_or_exit()
    with _guarded(settings):
        pending = fb.list_pending(settings)
    summary = fb.counts(pending)
    where = f"s3://{settings.data_bucket}/{fb.PENDING_PREFIX}"
    if not summary.total and not summary.broken:
        console.print(f"no pending feedback in {where}")
        return
    console.print(
        f"{summary.total} pending samples in {where}: {summary.total - summary.confirmed} "
        f"corrections, {summary.confirmed} confirmed right"
        + (f"; {summary.broken} broken (not per contracts/feedback.md)" if summary.broken else "")
    )
    if summary.total:
        labels = Table(title="by label (what the person said it is)")
        labels.add_column("label")
        labels.add_column("samples", justify="right")
        for label, count in summary.by_label.items():
            labels.add_row(str(label), str(count))
        console.print(labels)
        versions = Table(title="by model version")
        versions.add_column("model version")
        versions.add_column("samples", justify="right")
        for version, count in summary.by_model_version.items():
            versions.add_row(str(version), str(count))
        console.print(versions)
    if summary.confusions:
        confusions = Table(title="corrections: predicted -> label")
        confusions.add_column("predicted")
        confusions.add_column("label")
        confusions.add_column("samples", justify="right")
        for (predicted, label), count in summary.confusions.items():
            confusions.add_row(str(predicted), str(label), str(count))
        console.print(confusions)
    _broken_lines(pending)
    console.print("review them: playground feedback review")


def git_user_name() -> str:
    """``git config user.name``, or '' when git or the setting is missing."""
    try:
        done = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def interactive() -> bool:
    """Whether a person is at the terminal to answer the review's questions."""
    return sys.stdin.isatty()


def _reviewer(given: str | None) -> str:
    if given is not None:
        if not given.strip():
            raise fail("--reviewer is empty: give your name", 2)
        return fb.check_reviewer(given)
    name = git_user_name()
    if not name:
        raise fail(
            "who is reviewing? give --reviewer NAME (no git config user.name to take it from)", 2
        )
    console.print(f"reviewer: {name} (from git config user.name; --reviewer NAME to change)")
    return fb.check_reviewer(name)


def _prompted(samples: list[fb.Sample]) -> fb.Decision | None:
    """Ask which to accept and reject; None when the person decides nothing."""
    accept = typer.prompt(
        "accept (indexes like 0,3,5-9, 'all', or empty)", default="", show_default=False
    ).strip()
    reject = typer.prompt(
        "reject (indexes, 'rest' for all not accepted, 'all', or empty)",
        default="",
        show_default=False,
    ).strip()
    if not accept and not reject:
        return None
    decision = fb.decide(
        samples,
        accept=accept if accept and accept != "all" else None,
        reject=reject if reject and reject not in ("all", "rest") else None,
        accept_all=accept == "all",
        reject_all=reject == "all",
        reject_rest=reject == "rest",
    )
    typer.confirm(
        f"accept {len(decision.accepted)}, reject {len(decision.rejected)}, keep "
        f"{len(decision.kept)} pending: go ahead?",
        abort=True,
    )
    return decision


@app.command()
def review(
    accept: str | None = typer.Option(
        None, "--accept", help="indexes to accept, e.g. 0,3,5-9 (from the grid)"
    ),
    reject: str | None = typer.Option(None, "--reject", help="indexes to reject, e.g. 1,2"),
    accept_all: bool = typer.Option(False, "--accept-all", help="accept every pending sample"),
    reject_all: bool = typer.Option(False, "--reject-all", help="reject every pending sample"),
    reject_rest: bool = typer.Option(
        False, "--reject-rest", help="reject every sample --accept does not name"
    ),
    reject_broken: bool = typer.Option(
        False,
        "--reject-broken",
        help="also delete pending objects that break contracts/feedback.md",
    ),
    reviewer: str | None = typer.Option(
        None, "--reviewer", help="your name, recorded (default: git config user.name)"
    ),
    open_grid: bool = typer.Option(False, "--open", help="open the grid in a browser"),
) -> None:
    """Show the pending samples as a picture grid; accept or reject them by index.

    Accepted samples become a new dataset version (the latest's MNIST files plus the
    feedback shard); its manifest, written last, starts training. Rejected ones are deleted.
    Without a choice the grid is written (and, in a terminal, you are asked).
    """
    settings = settings_or_exit()
    chose = bool(accept or reject or accept_all or reject_all or reject_rest or reject_broken)
    with _guarded(settings):
        pending = fb.list_pending(settings)
        grid = fb.write_grid(settings, pending)
        console.print(f"grid of {len(pending.samples)} pending samples: {grid}")
        if open_grid:
            import webbrowser

            webbrowser.open(grid.as_uri())
        if pending.broken and not reject_broken:
            _broken_lines(pending)
            raise fb.FeedbackError(
                f"{len(pending.broken)} pending objects break contracts/feedback.md (above); "
                "delete them with --reject-broken"
            )
        if not chose and not interactive():
            if not pending.samples:
                console.print("no pending feedback")
                return
            console.print(
                "decide with --accept 0,3,5-9, --reject 1,2, --accept-all, --reject-all or "
                "--reject-rest (and --reviewer NAME)"
            )
            return
        if not pending.samples and not (reject_broken and pending.broken):
            raise fb.FeedbackError("no pending feedback to review")
        name = _reviewer(reviewer)
        if accept or reject or accept_all or reject_all or reject_rest:
            decision = fb.decide(
                pending.samples, accept, reject, accept_all, reject_all, reject_rest
            )
        elif reject_broken:
            decision = fb.Decision([], [], list(pending.samples))  # only the broken ones go
        else:
            prompted = _prompted(pending.samples)
            if prompted is None:
                console.print("nothing decided; nothing changed")
                return
            decision = prompted
        indexes = {s.id: i for i, s in enumerate(pending.samples)}
        result = fb.review(
            settings,
            decision,
            name,
            pending.broken if reject_broken else (),
            indexes=indexes,
        )
        # The grid now shows what is still pending (renumbered as the next review will be);
        # decided samples, rejected ones included, leave this machine's copy too.
        fb.write_grid(settings, fb.Pending(decision.kept, []))
    for sample in decision.accepted:
        console.print(f"accepted #{indexes[sample.id]} {sample.id[:12]} (label {sample.label})")
    for sample in decision.rejected:
        console.print(f"rejected #{indexes[sample.id]} {sample.id[:12]}, deleted")
    for key in result.broken:
        console.print(f"deleted broken s3://{settings.data_bucket}/{key}")
    if result.already_in_shard:
        console.print(
            f"{len(result.already_in_shard)} accepted samples were already in the latest "
            "shard (an earlier review stopped before its deletes); not added twice"
        )
    if result.dataset_version and result.created:
        console.print(
            f"dataset version {result.dataset_version} created with {result.shard_size} "
            "feedback samples and made the latest; its manifest starts the training pipeline "
            "(see `playground pipeline list`)"
        )
    elif result.dataset_version:
        console.print(
            f"dataset version {result.dataset_version} already held these samples; it is the "
            "latest again; nothing new to train"
        )
    console.print(
        f"review by {name} recorded at s3://{settings.data_bucket}/{result.record_key}; "
        f"{len(decision.kept)} {'sample' if len(decision.kept) == 1 else 'samples'} still "
        f"pending (grid: {grid})"
    )
