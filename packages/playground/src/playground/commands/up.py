"""`playground up` / `playground down`: the whole local system in one command."""

from __future__ import annotations

import subprocess

import typer
from rich.console import Console

from localaws.background import ServiceError
from playground import data as raw_data
from playground import services, stack
from playground.cli_steps import seed_and_report, start_emulator
from playground.console import console, fail, settings_or_exit
from playground.services import api_service, mlflow_environment, python_cli, site_service

SERVICE_TIMEOUT_S = 120.0


def runs_address(url: str) -> str:
    """The MLflow UI's page of the pipeline's runs (its experiment, made when missing).

    The server's root opens MLflow's GenAI home; ``#/experiments/<id>/runs`` is the UI's
    route to an experiment's runs (MLflow 3's web app). A deleted experiment is restored,
    with the warning printed, as the pipeline's own logging would.
    """
    from pipelines.mnist.code import tracking

    store = tracking.RestTracking(url, wait_s=5.0)
    experiment_id = store.experiment_id(tracking.EXPERIMENT)
    for warning in store.warnings:
        console.print(f"[yellow]MLflow: {warning}[/]")
    return f"{url}/#/experiments/{experiment_id}/runs"


def _step(title: str, command: list[str]) -> None:
    console.rule(title)
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise fail(f"{title} failed (exit code {result.returncode}); see the output above")


def up(
    pipeline: bool = typer.Option(True, help="Run the training pipeline (cached when unchanged)."),
) -> None:
    """Start the emulator, seed the data, run the pipeline, serve the API and the site."""
    settings = settings_or_exit()
    # MLflow takes seconds to start: launched first and waited for last, so its start-up
    # overlaps everything else. The pipeline does not wait for it: its evaluate step, the one
    # that logs, waits for a server that is still starting (tracking.py).
    tracking = services.mlflow_service(settings)
    try:
        tracking.start(SERVICE_TIMEOUT_S, env=mlflow_environment(settings), wait=False)
    except ServiceError as exc:
        raise fail(str(exc)) from None
    console.rule("local AWS emulator")
    emulator = start_emulator(settings)
    console.print(
        f"emulator ready at {emulator.url} ({emulator.journal_entries} journalled changes)"
    )
    console.rule("raw MNIST in S3")
    if raw_data.dataset_exists(settings):
        # Whatever `data seed` put there (the user's own folder, the mirror) stays the input.
        latest = raw_data.list_versions(settings)[-1:]
        what = f"dataset version {latest[0].version} ({latest[0].source})" if latest else "data"
        console.print(f"{what} already in {settings.raw_data_uri}/; not seeding the sample")
    else:
        # In process: the CLI is already loaded, a second interpreter would only add start-up.
        seed_and_report(settings, "sample")
    if not tracking.state().running:
        raise fail(
            f"the MLflow server exited; its log ({tracking.log_file}) ends with:\n"
            f"{tracking.log_tail()}"
        )
    if pipeline:
        _step("continuous-training pipeline", python_cli("pipeline", "run"))
        # After the first run, so seeding a fresh stack does not also start a second one.
        _step("pipeline and triggers in the emulator", python_cli("pipeline", "upsert"))
    servers = [api_service(settings), site_service(settings)]
    for service in servers:
        try:
            with console.status(f"starting the {service.name}…"):
                service.start(SERVICE_TIMEOUT_S, env=settings.aws_environment())
        except ServiceError as exc:
            raise fail(str(exc)) from None
    try:  # ready before its address is printed
        with console.status("starting MLflow…"):
            tracking.start(SERVICE_TIMEOUT_S, env=mlflow_environment(settings))
    except ServiceError as exc:
        raise fail(str(exc)) from None
    try:
        runs = runs_address(tracking.url)
    except Exception as exc:  # the address of the server still helps
        console.print(f"[yellow]MLflow: the pipeline's experiment not found: {exc}[/]")
        runs = tracking.url
    print_summary(
        console,
        "aws-mlops-playground is up",
        [
            ("web app", f"{servers[1].url}/"),
            ("model API", f"{servers[0].url}/models"),
            ("feedback API", f"POST {servers[0].url}/feedback"),
            ("MLflow (runs, metrics, pictures)", runs),
            ("AWS emulator", emulator.url),
            ("raw data", f"{settings.raw_data_uri}/"),
            ("model bucket", f"s3://{settings.model_bucket}"),
            ("model registry", f"model package group '{settings.model_package_group}'"),
            ("state and logs", str(settings.state_dir.resolve())),
            ("shell", 'eval "$(uv run playground local env)"   # aws CLI → emulator'),
            ("stop", "make down"),
        ],
    )


def print_summary(out: Console, title: str, rows: list[tuple[str, str]]) -> None:
    """Print ``label  value`` lines, never cutting a value (addresses are copied from here).

    A value that does not fit beside its label at the terminal's width goes on its own line
    below it, whole; one longer than the terminal is printed as one line for the terminal
    to wrap (rich would otherwise cut it with "…" or break it inside a table's borders).
    """
    out.rule(title)
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        if width + len(value) <= out.width:
            out.print(f"{label:<{width}}{value}", soft_wrap=True, markup=False)
        else:
            out.print(label, markup=False)
            out.print(f"  {value}", soft_wrap=True, markup=False)


def down() -> None:
    """Stop the site, the API and the emulator; all state stays on disk."""
    settings = settings_or_exit()
    for service in (
        site_service(settings),
        api_service(settings),
        services.mlflow_service(settings),
    ):
        if service.stop():
            console.print(f"stopped the {service.name}")
    if stack.stop(settings):
        console.print("stopped the AWS emulator (state kept; `make up` brings it back)")
