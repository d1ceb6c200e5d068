"""A site server that can be told to fail: what the browser tests and the engine benchmark use
to show what a visitor sees when CloudFront or S3 answers 5xx, or the network drops.

The site is playground's own server (`playground.site_server.make_server`); a second small
server takes POST /site/<mode> to switch what it answers.
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from localaws.background import free_port
from playground.site_server import make_server, start_in_thread

MODES = ("ok", "503", "down")


class SwitchableSite:
    """The built site (playground's site server), answering as `mode` says.

    ok: as usual; 503: every request gets 503 Service Unavailable (an origin in trouble);
    down: every connection is closed unanswered (the network failing). `control_url` takes
    POST /site/<mode>.
    """

    def __init__(self, dist: Path, api_url: str, model_url: str) -> None:
        self.mode = "ok"
        self.server = make_server(dist, "127.0.0.1", free_port(), api_url, model_url)
        site_handler = self.server.RequestHandlerClass
        outer = self

        class Failing(BaseHTTPRequestHandler):
            def handle_one_request(self) -> None:
                self.raw_requestline = self.rfile.readline(65537)
                if not self.raw_requestline or not self.parse_request():
                    return
                if outer.mode == "down":
                    self.close_connection = True  # no status line at all
                    return
                body = b"<!doctype html><title>503</title>the origin is unavailable"
                self.send_response(HTTPStatus.SERVICE_UNAVAILABLE)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        def switch(*args: Any, **kwargs: Any) -> object:
            if outer.mode == "ok":
                return site_handler(*args, **kwargs)
            return Failing(*args, **kwargs)

        self.server.RequestHandlerClass = switch  # type: ignore[assignment]
        self.control = ThreadingHTTPServer(("127.0.0.1", free_port()), self._control_handler())

    def _control_handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Control(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                mode = self.path.removeprefix("/site/")
                if mode not in MODES:
                    self.send_error(HTTPStatus.NOT_FOUND, f"modes: {', '.join(MODES)}")
                    return
                outer.mode = mode
                self.send_response(HTTPStatus.NO_CONTENT)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Control

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control.server_address[1]}"

    def __enter__(self) -> SwitchableSite:
        start_in_thread(self.server)
        threading.Thread(target=self.control.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self.server, self.control):
            server.shutdown()
            server.server_close()
