"""The local stack's background services besides the emulator: API, site, MLflow.

What `playground up` starts and `playground down` stops, also used by `playground.throwaway`
(tests, bench) and `playground pipeline` (where the pipeline logs), so no command imports
another for them.
"""

from __future__ import annotations

import sys

from localaws.background import BackgroundService
from mlops_settings import Settings
from playground.mlflow_server import TELEMETRY_OFF


def python_cli(*args: str) -> list[str]:
    """The command line that runs `playground ARGS` with this interpreter."""
    return [sys.executable, "-m", "playground", *args]


def api_service(settings: Settings) -> BackgroundService:
    """The get_models API gateway as a background service."""
    return BackgroundService(
        name="api",
        folder=settings.state_dir.resolve() / "services",
        command=python_cli("serve", "api", "--port", str(settings.api_port)),
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
        command=python_cli(
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


def tracking_uri(settings: Settings) -> str:
    """Where the pipeline logs: the setting, else the local MLflow when it runs, else ''."""
    if settings.mlflow_tracking_uri:
        return settings.mlflow_tracking_uri
    service = mlflow_service(settings)
    return service.url if service.state().running else ""
