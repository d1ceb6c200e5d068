"""`playground site serve`: the built web app on localhost, pointed at the API.

The server itself is `playground.site_server`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlops_settings import load_settings
from playground.site_server import SiteError, default_dist, make_server

app = typer.Typer(help="The web app: serve the built site on localhost.", no_args_is_help=True)


@app.command()
def serve(
    port: Annotated[
        int | None, typer.Option(help="Port (default: PLAYGROUND_SITE_PORT).", min=1, max=65535)
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(help="The model API's URL (default: the local gateway's address)."),
    ] = None,
    model_url: Annotated[
        str | None,
        typer.Option(help="Where model download links point (default: the emulator)."),
    ] = None,
    dist: Annotated[Path | None, typer.Option(help="The built site (default: web/dist).")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the built web app with a config.json that points it at the API."""
    settings = load_settings()
    port = settings.site_port if port is None else port
    api_url = api_url or f"http://{settings.emulator_host}:{settings.api_port}"
    try:
        model_url = model_url or settings.endpoint_url or settings.emulator_url
        server = make_server(dist or default_dist(), host, port, api_url, model_url)
    except SiteError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"web app: http://{host}:{server.server_address[1]}/  (API: {api_url})", err=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
