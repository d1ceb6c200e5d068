"""The web app in Chromium, Firefox and WebKit, a normal and a private session in each.

The browser part is web/e2e/engines.e2e.mjs through web/e2e/engines.mjs (playwright-core,
puppeteer-core over WebDriver BiDi, webdriverio over WebDriver classic). One stack (emulator,
API, site) serves the three engines in turn. The site server here can be told to answer 503
to everything or to drop every connection (`SwitchableSite`), so each engine shows what a
visitor sees when CloudFront or S3 fails, or the network does, after a model was stored.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlops_settings import Settings
from playground.background import free_port
from playground.commands.site import make_server, start_in_thread
from playground.throwaway import ThrowawayStack
from support.webstack import DIST, WEB, register_versions, require_tools

pytestmark = pytest.mark.slow

ENGINES = ("chromium", "firefox", "webkit")
NODE_TIMEOUT_S = 300
MODES = ("ok", "503", "down")


class SwitchableSite:
    """The built site (playground's site server), answering as `mode` says.

    ok: as usual; 503: every request gets 503 Service Unavailable (an origin in trouble);
    down: every connection is closed unanswered (the network failing). `control_url` takes
    POST /site/<mode>.
    """

    def __init__(self, dist: Path, api_url: str) -> None:
        self.mode = "ok"
        self.server = make_server(dist, "127.0.0.1", free_port(), api_url)
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


def missing_engines() -> list[str]:
    """What this machine lacks for Firefox and WebKit (mk/prerequisites.sh says how to get it)."""
    wanted = {
        "firefox-esr": os.environ.get("FIREFOX_PATH") or shutil.which("firefox-esr"),
        "WebKitWebDriver": shutil.which("WebKitWebDriver"),
        "MiniBrowser": os.environ.get("WEBKIT_MINIBROWSER")
        or "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
        "xvfb-run": shutil.which("xvfb-run") if not os.environ.get("DISPLAY") else "display",
    }
    return [name for name, path in wanted.items() if not path or not Path(path).exists()]


def test_every_engine_lists_downloads_recognises_and_survives_a_failing_site(
    emulator: Settings, throwaway: ThrowawayStack, tmp_path: Path
) -> None:
    chromium = require_tools()
    missing = missing_engines()
    assert not missing, (
        f"missing for the Firefox and WebKit runs: {', '.join(missing)} "
        "(apt-get install firefox-esr webkit2gtk-driver xvfb)"
    )
    versions = register_versions(emulator)
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    failures: dict[str, str] = {}
    seconds: dict[str, float] = {}
    try:
        api_url = throwaway.start_api()
        with SwitchableSite(DIST, api_url) as site:
            for engine in ENGINES:
                timings = tmp_path / f"{engine}.json"
                start = time.monotonic()
                result = subprocess.run(
                    [node, "--test-reporter=spec", "e2e/engines.e2e.mjs"],
                    cwd=WEB,
                    env={
                        **os.environ,
                        "CHROMIUM_PATH": chromium,
                        "ENGINE": engine,
                        "SITE_URL": site.url,
                        "CONTROL_URL": site.control_url,
                        "GOOD_VERSION": str(versions.good),
                        "TIMINGS": str(timings),
                    },
                    capture_output=True,
                    text=True,
                    timeout=NODE_TIMEOUT_S,
                )
                seconds[engine] = time.monotonic() - start
                print(f"== {engine}: {seconds[engine]:.0f} s", result.stdout[-6000:], result.stderr[-2000:])
                if timings.is_file():
                    print(f"== {engine} timings: {json.loads(timings.read_text())}")
                if result.returncode != 0:
                    failures[engine] = result.stdout[-6000:] + result.stderr[-2000:]
    finally:
        throwaway.stop_services()
    assert not failures, "\n\n".join(f"== {engine}\n{out}" for engine, out in failures.items())
