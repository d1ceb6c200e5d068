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
from playground.cli_steps import as_person, aws_errors
from playground.console import console, errors, fail, settings_or_exit

app = typer.Typer(
    help="People's corrections from the web app: count them, review them into training data.",
    no_args_is_help=True,
)


@contextmanager
def _guarded(settings: Settings) -> Iterator[None]:
    """As the reviewer of docs/aws.md (`playground.people`); troubles as one line."""
    with aws_errors(settings):
        try:
            with as_person(settings, "reviewer"):
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


def example_choice(count: int) -> tuple[str, str]:
    """Indexes to accept and to reject that a grid of ``count`` samples has, as examples.

    Returns ("", "") for an empty grid; for one sample the same index for both (a person
    gives one or the other).
    """
    if count <= 0:
        return "", ""
    if count == 1:
        return "0", "0"
    if count == 2:
        return "0", "1"
    if count == 3:
        return "0,2", "1"
    return f"0,2-{count - 1}", "1"


def _decide_hint(shown: fb.ShownReview) -> str:
    """How to decide on this review, with indexes its grid really has."""
    accept, reject = example_choice(len(shown.ids))
    if not accept:
        return f"--review {shown.review} --reject-broken"
    if accept == reject:
        return f"--review {shown.review} --accept {accept} (or --reject {reject})"
    return (
        f"--review {shown.review} --accept {accept} --reject {reject} (or --accept-all, "
        "--reject-all, --reject-rest)"
    )


def _prompted(shown: fb.ShownReview) -> fb.Choice | None:
    """Ask which of the review's samples to accept and reject; None when nothing is decided."""
    accept_example, _ = example_choice(len(shown.ids))
    accept = typer.prompt(
        f"accept (indexes like {accept_example}, 'all', or empty)", default="", show_default=False
    ).strip()
    reject = typer.prompt(
        "reject (indexes, 'rest' for all not accepted, 'all', or empty)",
        default="",
        show_default=False,
    ).strip()
    if not accept and not reject:
        return None
    choice = fb.Choice(
        accept=accept if accept and accept != "all" else None,
        reject=reject if reject and reject not in ("all", "rest") else None,
        accept_all=accept == "all",
        reject_all=reject == "all",
        reject_rest=reject == "rest",
    )
    accepted, rejected = fb.choose(len(shown.ids), choice)
    typer.confirm(
        f"accept {len(accepted)}, reject {len(rejected)}, keep "
        f"{len(shown.ids) - len(accepted) - len(rejected)} pending: go ahead?",
        abort=True,
    )
    return choice


def _show(settings: Settings, pending: fb.Pending, open_grid: bool) -> fb.ShownReview:
    shown = fb.show(settings, pending)
    grid = fb.grid_path(settings, shown.review)
    console.print(
        f"review {shown.review}: grid of {_plural(len(pending.samples), 'pending sample')}: {grid}"
    )
    if open_grid:
        import webbrowser

        webbrowser.open(grid.as_uri())
    return shown


def _plural(count: int, word: str = "sample") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@app.command()
def review(
    review_id: str | None = typer.Option(
        None,
        "--review",
        help="the review id of the grid you decided on (printed with it, and on its page)",
    ),
    accept: str | None = typer.Option(
        None, "--accept", help="indexes to accept, e.g. 0,3,5-9 (from the grid)"
    ),
    reject: str | None = typer.Option(None, "--reject", help="indexes to reject, e.g. 1,2"),
    accept_all: bool = typer.Option(
        False, "--accept-all", help="accept every sample the grid showed"
    ),
    reject_all: bool = typer.Option(
        False, "--reject-all", help="reject every sample the grid showed"
    ),
    reject_rest: bool = typer.Option(
        False, "--reject-rest", help="reject every sample of the grid --accept does not name"
    ),
    reject_broken: bool = typer.Option(
        False,
        "--reject-broken",
        help="also delete the pending objects the grid listed as breaking contracts/feedback.md",
    ),
    reviewer: str | None = typer.Option(
        None, "--reviewer", help="your name, recorded (default: git config user.name)"
    ),
    open_grid: bool = typer.Option(False, "--open", help="open the grid in a browser"),
) -> None:
    """Show the pending samples as a picture grid; accept or reject a grid's samples by index.

    Without a choice the grid is written as a review with its id (and, in a terminal, you are
    asked and the answer decides on that grid). A choice names the grid it was made on
    (--review ID): indexes and bulk options mean that grid's samples only; samples that
    arrived after it stay pending. Accepted samples become a new dataset version (the
    latest's MNIST files plus the feedback shard); its manifest, written last, starts
    training. Rejected ones are deleted.
    """
    settings = settings_or_exit()
    choice = fb.Choice(accept, reject, accept_all, reject_all, reject_rest)
    with _guarded(settings):
        if review_id is None:
            if choice or reject_broken:
                raise fb.FeedbackError(
                    "a decision names the grid it was made on: give --review ID (run "
                    "`playground feedback review` to write a grid and print its id)"
                )
            pending = fb.list_pending(settings)
            shown = _show(settings, pending, open_grid)
            _broken_lines(pending)
            if not interactive():
                if not pending.samples and not pending.broken:
                    console.print("no pending feedback")
                    return
                console.print(
                    f"decide with: playground feedback review {_decide_hint(shown)}; "
                    "--reviewer NAME"
                    + (
                        "; the broken objects go with --reject-broken"
                        if pending.broken and shown.ids
                        else ""
                    )
                )
                return
            if pending.broken:
                raise fb.FeedbackError(
                    f"{len(pending.broken)} pending objects break contracts/feedback.md "
                    f"(above); delete them with --review {shown.review} --reject-broken"
                )
            if not pending.samples:
                console.print("no pending feedback")
                return
            name = _reviewer(reviewer)
            prompted = _prompted(shown)
            if prompted is None:
                console.print("nothing decided; nothing changed")
                return
            choice = prompted
        else:
            shown = fb.shown_review(settings, review_id)
            if open_grid:
                import webbrowser

                webbrowser.open(fb.grid_path(settings, shown.review).as_uri())
            if not choice and not reject_broken:
                raise fb.FeedbackError(
                    f"nothing chosen: give {_decide_hint(shown)}"
                    + (" or --reject-broken" if shown.broken and shown.ids else "")
                )
            if choice:
                fb.choose(len(shown.ids), choice)  # a bad choice is refused before git is asked
            name = _reviewer(reviewer)
        decided = fb.decide_review(
            settings,
            shown,
            choice,
            name,
            reject_broken,
            notify=lambda line: console.print(f"[yellow]{line}[/]"),
        )
        # A new grid of what is still pending (renumbered, its own review id); decided
        # samples, rejected ones included, leave this machine's pages of later grids.
        after = fb.list_pending(settings)
        following = fb.show(settings, after)
    resolution, result = decided.resolution, decided.result
    index = resolution.index
    console.print(f"decided on review {shown.review} (shown {shown.shown_at})")
    for sample in resolution.decision.accepted:
        console.print(f"accepted #{index[sample.id]} {sample.id[:12]} (label {sample.label})")
    for sample in resolution.decision.rejected:
        console.print(f"rejected #{index[sample.id]} {sample.id[:12]}, deleted")
    for key in result.broken:
        console.print(f"deleted broken s3://{settings.data_bucket}/{key}")
    here = sorted(resolution.decided_here)
    if here:
        listed = ", ".join(f"#{i}" for i in here[:20])
        console.print(
            f"{_plural(len(here))} of this review ({listed}) had been decided already by an "
            f"earlier decision on this review ({resolution.decided_here[here[0]]}); not "
            "decided again"
        )
    elsewhere = resolution.decided_elsewhere
    if elsewhere:
        listed = ", ".join(f"#{i}" for i in elsewhere[:20])
        console.print(
            f"[yellow]{_plural(len(elsewhere))} of this review ({listed}) had been "
            "decided by another review since the grid was shown; not decided again[/]"
        )
    if result.already_in_shard:
        count = len(result.already_in_shard)
        console.print(
            f"{_plural(count, 'accepted sample')} {'was' if count == 1 else 'were'} already in "
            "the latest shard (an earlier review stopped before its deletes); not added twice"
        )
    if result.dataset_version and result.created:
        console.print(
            f"dataset version {result.dataset_version} created with "
            f"{_plural(result.shard_size, 'feedback sample')} and made the latest; its manifest "
            "starts the training pipeline (see `playground pipeline list`)"
        )
    elif result.dataset_version:
        console.print(
            f"dataset version {result.dataset_version} already held these samples; it is the "
            "latest again; nothing new to train"
        )
    console.print(f"review by {name} recorded at s3://{settings.data_bucket}/{result.record_key}")
    if resolution.newer:
        one = len(resolution.newer) == 1
        console.print(
            f"[yellow]{_plural(len(resolution.newer))} arrived after this grid was shown and "
            f"{'stays' if one else 'stay'} pending: this review did not decide on "
            f"{'it' if one else 'them'}[/]"
        )
    console.print(
        f"{_plural(len(after.samples))} still pending: review {following.review}, grid "
        f"{fb.grid_path(settings, following.review)}"
    )
