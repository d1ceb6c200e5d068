"""`playground serve api`: the get_models and feedback Lambdas behind a local gateway."""

from __future__ import annotations

import typer

from mlops_settings import Settings
from playground.console import fail, settings_or_exit

app = typer.Typer(help="Serve parts of the system on localhost.", no_args_is_help=True)


def api_settings() -> Settings:
    """The settings with the endpoint the rest of the playground uses (the emulator locally).

    The handler itself only reads `endpoint_url` (unset in AWS, where the Lambda talks to real
    services); locally the endpoint comes from the target, as for every other command, and
    the download URLs it signs point there too, so the browser fetches from the emulator.
    """
    settings = settings_or_exit()
    endpoint = settings.aws_environment().get("AWS_ENDPOINT_URL")
    return settings.model_copy(update={"endpoint_url": endpoint})


@app.command("api")
def api(
    port: int | None = typer.Option(
        None, "--port", min=0, max=65535, help="Port to listen on (default: settings api_port)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
) -> None:
    """Serve GET /models and POST /feedback on localhost until interrupted (Ctrl-C)."""
    from playground.api import api_gateway

    settings = api_settings()
    chosen = settings.api_port if port is None else port
    try:
        gateway = api_gateway(settings, host, chosen)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{chosen}: {exc}") from None
    # One plain line, so scripts (and `make up`) can wait for it and read the address.
    print(f"get_models API listening on {gateway.url}", flush=True)
    try:
        gateway.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.server_close()
