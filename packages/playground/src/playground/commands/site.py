"""`playground site serve`: the built web app (web/dist) on localhost, pointed at the API.

The site is static; the only thing that differs between stacks is the API's URL, which the
app reads at run time from ``config.json`` next to index.html. This server answers that file
from memory (the build stays untouched) and serves everything else from the build folder.
"""

from __future__ import annotations

import json
import re
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import typer

from mlops_settings import load_settings

app = typer.Typer(help="The web app: serve the built site on localhost.", no_args_is_help=True)

# The build next to the working directory (`make up` runs from the repository root), else the
# one in the repository this package is installed from (uv workspace, editable).
DEFAULT_DIST = Path("web/dist")
REPO_DIST = Path(__file__).resolve().parents[5] / "web" / "dist"


def default_dist() -> Path:
    """Where the built site is when --dist is not given."""
    return DEFAULT_DIST if DEFAULT_DIST.is_dir() or not REPO_DIST.is_dir() else REPO_DIST


_URL = re.compile(r"^https?://[^\s/]+(:\d+)?(/\S*)?$")


class SiteError(RuntimeError):
    """The site cannot be served; the message says why and what to do."""


class _SiteHandler(SimpleHTTPRequestHandler):
    """Static files plus an in-memory config.json; wasm and module scripts typed right."""

    extensions_map = {  # noqa: RUF012 - the base class declares it as a plain class dict
        **SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".mjs": "text/javascript",
        ".js": "text/javascript",
    }

    def __init__(self, *args: Any, config: bytes, **kwargs: Any) -> None:
        self._config = config
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        """Answer config.json from memory, the rest from the build folder."""
        if self.path.split("?")[0] == "/config.json":
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self._config)))
            self.end_headers()
            self.wfile.write(self._config)
            return
        super().do_GET()

    def end_headers(self) -> None:
        # Hashed assets never change; the config may change at any start; everything else is
        # revalidated so a rebuild shows up.
        path = self.path.split("?")[0]
        if path == "/config.json":
            cache = "no-store"
        elif path.startswith("/assets/"):
            cache = "max-age=31536000, immutable"
        else:
            cache = "no-cache"
        self.send_header("Cache-Control", cache)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the terminal quiet; errors still reach log_error."""


def site_config(api_url: str) -> bytes:
    """The runtime configuration the app reads (web/src/config.ts).

    Locally one gateway serves both APIs, so corrections go to the API's address too
    (`feedback_url`); in AWS the feedback API has a Function URL of its own.
    """
    if not _URL.match(api_url):
        raise SiteError(f"--api-url {api_url!r} is not an http(s) URL like http://127.0.0.1:8787")
    url = api_url.rstrip("/")
    return json.dumps({"api_url": url, "feedback_url": url}).encode()


def make_server(dist: Path, host: str, port: int, api_url: str) -> ThreadingHTTPServer:
    """A server for the build folder; call serve_forever() (or run it in a thread)."""
    if not (dist / "index.html").is_file():
        raise SiteError(
            f"no built site in {dist} (index.html missing): build it with `make web-build` "
            "(npm run build in web/)"
        )
    handler = partial(_SiteHandler, directory=str(dist.resolve()), config=site_config(api_url))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise SiteError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def start_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Serve in a daemon thread (tests, benchmarks)."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@app.command()
def serve(
    port: Annotated[
        int | None, typer.Option(help="Port (default: PLAYGROUND_SITE_PORT).", min=1, max=65535)
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(help="The model API's URL (default: the local gateway's address)."),
    ] = None,
    dist: Annotated[Path | None, typer.Option(help="The built site (default: web/dist).")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the built web app with a config.json that points it at the API."""
    settings = load_settings()
    port = settings.site_port if port is None else port
    api_url = api_url or f"http://{settings.emulator_host}:{settings.api_port}"
    try:
        server = make_server(dist or default_dist(), host, port, api_url)
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
