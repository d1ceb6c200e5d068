"""`playground local`: the AWS emulator on this machine."""

from __future__ import annotations

import typer

from mlops_settings import Settings
from playground import stack
from playground.cli_steps import start_emulator
from playground.console import console, fail, settings_or_exit

app = typer.Typer(help="Start, stop and inspect the local AWS emulator.", no_args_is_help=True)


def strict_line(state: stack.StackStatus) -> str:
    """One line on strict mode: on or off, and how many requests it refused."""
    if state.strict is None:
        return "strict mode: unknown (an older emulator; restart it)"
    if not state.strict:
        return "strict mode: off (PLAYGROUND_EMULATOR_STRICT=false): AWS's refusals are accepted"
    return f"strict mode: on, {state.violations} requests refused since start"


def iam_line(state: stack.StackStatus) -> str:
    """One line on IAM enforcement: on or off, and how many requests it denied."""
    if state.iam is None:
        return "IAM enforcement: unknown (an older emulator; restart it)"
    if not state.iam:
        return (
            "IAM enforcement: off (PLAYGROUND_EMULATOR_IAM=false; unset it to turn it on): "
            "permissions are not checked"
        )
    return (
        f"IAM enforcement: on, {state.denials} requests denied since start "
        "(`playground local iam` lists them)"
    )


def service_lines(settings: Settings, state: stack.StackStatus) -> list[str]:
    """One line per other service of the stack (API, site, MLflow): where, and IAM's reach.

    The API follows the emulator's setting live (`playground.api.emulator_enforces`): its
    functions always run as their roles, and the Function URL permission is checked while
    the emulator enforces; the site and MLflow make no call IAM decides differently.
    """
    from playground.services import api_service, mlflow_service, site_service

    lines = []
    for service in (api_service(settings), site_service(settings), mlflow_service(settings)):
        found = service.state()
        if not found.running:
            lines.append(f"{service.name}: not running")
            continue
        where = f"{service.name}: running at {service.url} (pid {found.pid})"
        if not found.ready:
            where += ", not answering"
        if service.name == "api":
            checked = "checked" if state.iam else "not checked (the emulator does not enforce)"
            where += (
                f"; its functions run as their roles, Function URL permissions {checked}, "
                "following the emulator's setting"
            )
        lines.append(where)
    return lines


@app.command()
def start() -> None:
    """Start the emulator in the background (state kept on disk) and create the resources."""
    state = start_emulator(settings_or_exit())
    console.print(
        f"emulator ready at [bold]{state.url}[/] (pid {state.pid}, "
        f"{state.journal_entries} journalled changes, state in {state.state_dir})"
    )
    console.print(strict_line(state))
    console.print(iam_line(state))


@app.command()
def repair() -> None:
    """Drop the journal entries that no longer replay (keeping the old journal), so it starts."""
    settings = settings_or_exit()
    try:
        with console.status("replaying the journal to find the entries that fail…"):
            report = stack.repair(settings)
    except stack.StackError as exc:
        raise fail(str(exc)) from None
    if not report.dropped:
        console.print(f"every one of the {report.kept} journal entries replays; nothing to repair")
        return
    console.print(f"kept {report.kept} journal entries; dropped {len(report.dropped)}:")
    for dropped in report.dropped:
        where = f"entry {dropped.seq}" if dropped.seq is not None else f"line {dropped.line}"
        console.print(f"  {where}: {dropped.what}\n    {dropped.reason}", markup=False)
    console.print(f"the journal as it was is kept in {report.backup}")
    console.print("start the emulator again with `playground local start`")


@app.command()
def stop() -> None:
    """Stop the emulator; its state stays on disk for the next start."""
    settings = settings_or_exit()
    was_running = stack.stop(settings)
    console.print("emulator stopped" if was_running else "emulator was not running")


@app.command()
def status() -> None:
    """Whether the emulator runs and answers; exit code 1 when it does not."""
    settings = settings_or_exit()
    state = stack.status(settings)
    if state.running and state.ready:
        console.print(
            f"running at {state.url} (pid {state.pid}), ready, "
            f"{state.journal_entries} journalled changes, state in {state.state_dir}"
        )
        console.print(strict_line(state))
        console.print(iam_line(state))
        for line in service_lines(settings, state):
            console.print(line, markup=False)
        return
    if state.running:
        console.print(f"starting at {state.url} (pid {state.pid}), not ready yet")
    else:
        console.print(f"not running (state in {state.state_dir})")
    raise typer.Exit(1)


@app.command("iam")
def iam_report() -> None:
    """Per role: permissions used (with the call), statements never used, denials since start."""
    import requests

    from localaws.emulator import DENIALS_PATH
    from playground.permissions import role_reports

    settings = settings_or_exit()
    try:
        record = requests.get(settings.emulator_url + DENIALS_PATH, timeout=10).json()
    except (requests.RequestException, ValueError):
        raise fail(f"the emulator does not answer at {settings.emulator_url}") from None
    if not record.get("iam"):
        # Nothing was decided, so no statement can be called used or unused.
        console.print(
            "IAM enforcement is off in this emulator: nothing was recorded, so there is no "
            "report of used or unused statements and no denials. Turn it on (unset "
            "PLAYGROUND_EMULATOR_IAM, or set it to true), restart with `playground local stop` "
            "and `playground local start`, run the flows again, then ask again."
        )
        return
    console.print(
        f"{record.get('denials', 0)} requests denied since the emulator started; used and "
        "unused below count the requests since then too (a restart starts them again)"
    )
    for report in role_reports(record, settings):
        console.print(f"\n[bold]{report.role}[/]")
        for use in report.used:
            for action, call in sorted(use.calls.items()):
                console.print(f"  used    {use.policy}#{use.sid}: {action} ({call})")
        for use in report.unused:
            console.print(f"  unused  {use.policy}#{use.sid}")
        for denial in report.denials:
            console.print(f"  denied  {denial.get('action')} on {denial.get('resource')}")


@app.command()
def env() -> None:
    """Print shell exports that point AWS tools at the emulator: eval "$(playground local env)"."""
    settings = settings_or_exit()
    variables = settings.aws_environment()
    variables["AWS_ENDPOINT_URL"] = settings.emulator_url
    for key, value in variables.items():
        typer.echo(f"export {key}={value}")


@app.command()
def reset(yes: bool = typer.Option(False, "--yes", help="Do not ask.")) -> None:
    """Stop the emulator and delete everything it holds (buckets, models, journal)."""
    settings = settings_or_exit()
    if not yes:
        typer.confirm("Delete all local AWS state (S3 objects, model versions)?", abort=True)
    stack.reset(settings)
    console.print("local AWS state deleted; `playground local start` begins empty")
