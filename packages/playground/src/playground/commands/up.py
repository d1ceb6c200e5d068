"""`playground up` / `playground down`: the whole local system in one command."""

from __future__ import annotations

import subprocess
import sys

import typer
from rich.table import Table

from localaws.background import BackgroundService, ServiceError
from mlops_settings import Settings
from playground import data as raw_data
from playground import stack
from playground.commands import data
from playground.commands.local import start_emulator
from playground.console import console, fail, settings_or_exit
from playground.mlflow_server import TELEMETRY_OFF

SERVICE_TIMEOUT_S = 120.0


def _python_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "playground", *args]


def api_service(settings: Settings) -> BackgroundService:
    """The get_models API gateway as a background service."""
    return BackgroundService(
        name="api",
        folder=settings.state_dir.resolve() / "services",
        command=_python_cli("serve", "api", "--port", str(settings.api_port)),
        host=settings.emulator_host,
        port=settings.api_port,
        health_path="/models?limit=1",
        marker=b"serve",
        port_variable="PLAYGROUND_API_PORT",
    )


def site_service(settings: Settings) -> BackgroundService:
    """The built web app as a background service, pointed at the API."""
    api = api_service(settings)
    return BackgroundService(
        name="site",
        folder=settings.state_dir.resolve() / "services",
        command=_python_cli(
            "site", "serve", "--port", str(settings.site_port), "--api-url", api.url
        ),
        host=settings.emulator_host,
        port=settings.site_port,
        health_path="/config.json",
        marker=b"site",
        port_variable="PLAYGROUND_SITE_PORT",
    )


def mlflow_service(settings: Settings) -> BackgroundService:
    """The MLflow tracking server: runs in sqlite under the state folder, artifacts in S3.

    MLflow's own server in one process (`playground.mlflow_server`: about half the start-up
    of ``mlflow server``, which imports MLflow twice and starts a job runner besides). The
    database is created on the first start and reused after (``make down``/``make up``).
    Artifacts go through the server (``--serve-artifacts``) to the emulator's S3, under
    ``s3://<data bucket>/mlflow``, as a SageMaker managed tracking server keeps them in S3;
    the server reaches the emulator through ``MLFLOW_S3_ENDPOINT_URL`` (``mlflow_environment``).
    """
    folder = settings.state_dir.resolve() / "mlflow"
    return BackgroundService(
        name="mlflow",
        folder=folder,
        command=[
            sys.executable,
            "-m",
            "playground.mlflow_server",
            *("--host", settings.emulator_host, "--port", str(settings.mlflow_port)),
            *("--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}"),
            *("--artifacts-destination", f"s3://{settings.data_bucket}/mlflow"),
        ],
        host=settings.emulator_host,
        port=settings.mlflow_port,
        health_path="/health",
        marker=b"mlflow",
        port_variable="PLAYGROUND_MLFLOW_PORT",
    )


def mlflow_environment(settings: Settings) -> dict[str, str]:
    """The MLflow server's environment: AWS pointed at the target, S3 artifacts included.

    MLflow's usage data is off (`playground.mlflow_server.TELEMETRY_OFF`; the server sets it
    itself too).
    """
    environment = {**settings.aws_environment(), **TELEMETRY_OFF}
    if environment.get("AWS_ENDPOINT_URL"):
        environment["MLFLOW_S3_ENDPOINT_URL"] = environment["AWS_ENDPOINT_URL"]
    return environment


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


def tracking_uri(settings: Settings) -> str:
    """Where the pipeline logs: the setting, else the local MLflow when it runs, else ''."""
    if settings.mlflow_tracking_uri:
        return settings.mlflow_tracking_uri
    service = mlflow_service(settings)
    return service.url if service.state().running else ""


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
    tracking = mlflow_service(settings)
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
        data.seed(source="sample")
    if not tracking.state().running:
        raise fail(
            f"the MLflow server exited; its log ({tracking.log_file}) ends with:\n"
            f"{tracking.log_tail()}"
        )
    if pipeline:
        _step("continuous-training pipeline", _python_cli("pipeline", "run"))
        # After the first run, so seeding a fresh stack does not also start a second one.
        _step("pipeline and triggers in the emulator", _python_cli("pipeline", "upsert"))
    services = [api_service(settings), site_service(settings)]
    for service in services:
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
    table = Table(title="aws-mlops-playground is up", show_header=False)
    table.add_row("web app", f"[bold]{services[1].url}/[/]")
    table.add_row("model API", f"{services[0].url}/models")
    table.add_row("feedback API", f"POST {services[0].url}/feedback")
    try:
        runs = runs_address(tracking.url)
    except Exception as exc:  # the address of the server still helps
        console.print(f"[yellow]MLflow: the pipeline's experiment not found: {exc}[/]")
        runs = tracking.url
    table.add_row("MLflow (runs, metrics, pictures)", runs)
    table.add_row("AWS emulator", emulator.url)
    table.add_row("raw data", f"{settings.raw_data_uri}/")
    table.add_row("model bucket", f"s3://{settings.model_bucket}")
    table.add_row("model registry", f"model package group '{settings.model_package_group}'")
    table.add_row("state and logs", str(settings.state_dir.resolve()))
    table.add_row("shell", 'eval "$(uv run playground local env)"   # aws CLI → emulator')
    table.add_row("stop", "make down")
    console.print(table)


def down() -> None:
    """Stop the site, the API and the emulator; all state stays on disk."""
    settings = settings_or_exit()
    for service in (site_service(settings), api_service(settings), mlflow_service(settings)):
        if service.stop():
            console.print(f"stopped the {service.name}")
    if stack.stop(settings):
        console.print("stopped the AWS emulator (state kept; `make up` brings it back)")
