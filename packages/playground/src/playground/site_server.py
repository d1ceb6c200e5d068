"""The local site server: the built web app (web/dist) on localhost, pointed at the API.

The site is static; the only thing that differs between stacks is the API's URL, which the
app reads at run time from ``config.json`` next to index.html. This server answers that file
from memory (the build stays untouched) and serves everything else from the build folder,
encoded as CloudFront sends it (`playground.cloudfront`): a file with a precompressed ``.gz``
copy beside it is sent as that copy with ``Content-Encoding: gzip`` (as web/deploy.sh uploads
it), and other files CloudFront would compress are gzip-compressed, so a local visitor
transfers the bytes a visitor of the deployed site does. Every answer carries the site's
Content Security Policy, built from contracts/site-csp.json as CloudFront's is.

`playground site serve` runs it; tests and benchmarks start it in a thread.
"""

from __future__ import annotations

import datetime
import email.utils
import io
import json
import os
import re
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from urllib.parse import urlsplit

from playground import cloudfront

# The build next to the working directory (`make up` runs from the repository root), else the
# one in the repository this package is installed from (uv workspace, editable).
DEFAULT_DIST = Path("web/dist")
REPO_DIST = Path(__file__).resolve().parents[4] / "web" / "dist"
# The policy's one source, read by terraform/cloudfront.tf too (contracts/site-csp.md).
CSP_FILE = Path(__file__).resolve().parents[4] / "contracts" / "site-csp.json"


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

    # Compressed copies of files CloudFront would compress, by (path, mtime): a build is
    # compressed once per server, not once per request.
    _compressed: ClassVar[dict[tuple[str, int], bytes]] = {}

    def __init__(self, *args: Any, config: bytes, policy: str, **kwargs: Any) -> None:
        self._config = config
        self._policy = policy
        super().__init__(*args, **kwargs)

    def send_head(self) -> BinaryIO | None:
        """Headers for GET and HEAD: the file as CloudFront would send it to this client."""
        if self.path.split("?")[0].endswith(".gz"):
            # The deploy uploads a .gz copy under its plain name only; no .gz key exists.
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        path = self.translate_path(self.path)
        if os.path.isdir(path) and self.path.split("?")[0].endswith("/"):
            path = os.path.join(path, "index.html")
        if not os.path.isfile(path) or not cloudfront.accepts_gzip(
            self.headers.get("Accept-Encoding")
        ):
            return super().send_head()
        content_type = self.guess_type(path)
        body = self._gzipped(path, content_type)
        if body is None:
            return super().send_head()
        mtime = os.stat(path).st_mtime
        if self._not_modified_since(mtime):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.end_headers()
            return None
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Last-Modified", self.date_time_string(mtime))
        self.end_headers()
        return io.BytesIO(body)

    def _gzipped(self, path: str, content_type: str) -> bytes | None:
        """The gzip bytes to send for ``path``, or None when CloudFront would send it as is."""
        precompressed = f"{path}.gz"
        if os.path.isfile(precompressed):
            with open(precompressed, "rb") as f:
                return f.read()
        size = os.stat(path).st_size
        if not cloudfront.compresses(content_type, None, size):
            return None
        key = (path, os.stat(path).st_mtime_ns)
        if key not in self._compressed:
            with open(path, "rb") as f:
                self._compressed[key] = cloudfront.gzip_bytes(f.read())
        return self._compressed[key]

    def _not_modified_since(self, mtime: float) -> bool:
        """Whether the request's If-Modified-Since (without If-None-Match) covers ``mtime``."""
        since = self.headers.get("If-Modified-Since")
        if since is None or "If-None-Match" in self.headers:
            return False
        try:
            ims = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if ims.tzinfo is None:
            ims = ims.replace(tzinfo=datetime.UTC)
        modified = datetime.datetime.fromtimestamp(mtime, datetime.UTC).replace(microsecond=0)
        return modified <= ims

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
        self.send_header("Content-Security-Policy", self._policy)
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


def origin(url: str) -> str:
    """The origin (scheme://host[:port]) of an http(s) URL, as CSP names it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def site_policy(api_url: str, model_url: str, contract: Path = CSP_FILE) -> str:
    """The ``Content-Security-Policy`` value for a site whose APIs and model files are here.

    Args:
        api_url: the model API's URL (locally the feedback API is the same gateway).
        model_url: where presigned model links point (locally the emulator).
        contract: contracts/site-csp.json: directives in key order, each source once,
            placeholders replaced, the same way terraform/cloudfront.tf builds CloudFront's.
    """
    directives: dict[str, list[str]] = json.loads(contract.read_text())["directives"]
    origins = {
        "{api_origin}": origin(api_url),
        "{feedback_origin}": origin(api_url),
        "{model_origin}": origin(model_url),
    }
    return "; ".join(
        " ".join([name, *dict.fromkeys(origins.get(source, source) for source in directives[name])])
        for name in sorted(directives)
    )


def make_server(
    dist: Path, host: str, port: int, api_url: str, model_url: str
) -> ThreadingHTTPServer:
    """A server for the build folder; call serve_forever() (or run it in a thread).

    ``model_url`` is where presigned model links point (locally the emulator): the policy's
    ``connect-src`` and ``img-src`` name its origin, and the app cannot download a model
    from anywhere else.
    """
    if not (dist / "index.html").is_file():
        raise SiteError(
            f"no built site in {dist} (index.html missing): build it with `make web-build` "
            "(npm run build in web/)"
        )
    handler = partial(
        _SiteHandler,
        directory=str(dist.resolve()),
        config=site_config(api_url),
        policy=site_policy(api_url, model_url),
    )
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise SiteError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def start_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Serve in a daemon thread (tests, benchmarks)."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread
