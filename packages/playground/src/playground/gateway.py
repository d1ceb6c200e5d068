"""A local stand-in for a Lambda Function URL.

Each HTTP request becomes a Function URL event (payload format 2.0), the handler is called in
this process (invoking a Lambda in the emulator would need Docker), and the handler's answer
goes back as the HTTP response. The same handler code runs behind the real Function URL.

Like the real one, the gateway owns CORS: with a CORS configuration it answers preflight
requests itself, without calling the handler, and adds the CORS headers to the handler's
answers for allowed origins. The configuration is contracts/api-cors.json, the same file
Terraform gives the Function URL's `cors {}` block, with the origins from the settings.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

LambdaHandler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]

API_CORS_FILE = Path(__file__).resolve().parents[4] / "contracts" / "api-cors.json"
ANY = "*"

_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded")
_MAX_BODY_BYTES = 1 << 20


def function_url_event(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes = b"",
    source_ip: str = "127.0.0.1",
    host: str = "localhost",
) -> dict[str, Any]:
    """The Function URL event (payload format 2.0) for one HTTP request.

    Args:
        method: the HTTP method.
        target: the request target, path and query as sent (e.g. `/models?limit=5`).
        headers: the request headers.
        body: the request body.
        source_ip: the client's address.
        host: the Host the request was sent to (the event's domainName).

    Returns:
        The event, with repeated query parameters and headers joined by commas as AWS does.
    """
    raw_path, _, raw_query = target.partition("?")
    joined: dict[str, str] = {}
    for key, value in headers.items():
        name = key.lower()
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path or "/",
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": method.upper(),
                "path": raw_path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if body:
        content_type = joined.get("content-type", "")
        if content_type.startswith(_TEXT_TYPES):
            event["body"] = body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


@dataclass(frozen=True)
class FunctionUrlCors:
    """A Function URL's CORS configuration (Lambda's `Cors` structure), applied as AWS does."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int = 0
    allow_credentials: bool = False

    @classmethod
    def from_contract(
        cls, allow_origins: tuple[str, ...], path: Path = API_CORS_FILE
    ) -> FunctionUrlCors:
        """The configuration Terraform sets (contracts/api-cors.json) for these origins."""
        config = json.loads(path.read_text())
        return cls(
            allow_origins=tuple(allow_origins),
            allow_methods=tuple(config.get("allow_methods", ())),
            allow_headers=tuple(config.get("allow_headers", ())),
            expose_headers=tuple(config.get("expose_headers", ())),
            max_age=int(config.get("max_age", 0)),
            allow_credentials=bool(config.get("allow_credentials", False)),
        )

    def allowed_origin(self, origin: str | None) -> str | None:
        """The `Access-Control-Allow-Origin` value for `origin`, or None if it is not allowed."""
        if not origin:
            return None
        if ANY in self.allow_origins:
            return origin if self.allow_credentials else ANY
        wanted = origin.lower()
        return origin if any(o.lower() == wanted for o in self.allow_origins) else None

    def is_preflight(self, method: str, headers: Mapping[str, str]) -> bool:
        """An OPTIONS request a browser sends before a cross-origin request."""
        names = {key.lower() for key in headers}
        return (
            method == "OPTIONS" and "origin" in names and "access-control-request-method" in names
        )

    def preflight_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Headers of the URL layer's answer to a preflight (none for a refused one)."""
        lower = {key.lower(): value for key, value in headers.items()}
        allowed = self.allowed_origin(lower.get("origin"))
        method = lower.get("access-control-request-method", "").strip().upper()
        methods = {m.upper() for m in self.allow_methods}
        if allowed is None or not (ANY in methods or method in methods):
            return {}
        answer = {
            "Access-Control-Allow-Origin": allowed,
            "Access-Control-Allow-Methods": ",".join(self.allow_methods),
        }
        if self.allow_headers:
            answer["Access-Control-Allow-Headers"] = ",".join(self.allow_headers)
        if self.max_age:
            answer["Access-Control-Max-Age"] = str(self.max_age)
        if self.allow_credentials:
            answer["Access-Control-Allow-Credentials"] = "true"
        return answer

    def response_headers(self, origin: str | None) -> dict[str, str]:
        """CORS headers the URL layer adds to the function's answer."""
        allowed = self.allowed_origin(origin)
        if allowed is None:
            return {}
        answer = {"Access-Control-Allow-Origin": allowed}
        if self.expose_headers:
            answer["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        if self.allow_credentials:
            answer["Access-Control-Allow-Credentials"] = "true"
        if allowed != ANY:
            answer["Vary"] = "Origin"
        return answer


@dataclass
class _Context:
    """The parts of the Lambda context object the handler may read."""

    aws_request_id: str
    function_name: str = "get_models"


class _RequestHandler(BaseHTTPRequestHandler):
    server: FunctionUrlGateway
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle's algorithm on, a keep-alive
    # client's delayed ACK stalls every response by about 40 ms.
    disable_nagle_algorithm = True
    error_content_type = "application/json"
    error_message_format = '{"error": {"code": "bad_request", "message": "%(message)s"}}'

    def __getattr__(self, name: str) -> Any:
        # Any method goes to the handler, which answers 405 for those it does not serve.
        if name.startswith("do_"):
            return self._forward
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """The handler writes one JSON line per request; no second access log."""

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY_BYTES:
            self.send_error(413, "request body too large")
            return
        body = self.rfile.read(length) if length > 0 else b""
        cors = self.server.cors
        request_headers = dict(self.headers.items())
        if cors is not None and cors.is_preflight(self.command, request_headers):
            # The URL layer answers preflights; the function never sees them.
            self._send(200, cors.preflight_headers(request_headers), b"")
            return
        event = function_url_event(
            self.command,
            self.path,
            dict(self.headers.items()),
            body,
            source_ip=self.client_address[0],
            host=self.headers.get("Host", "localhost"),
        )
        event_id = event["requestContext"]["requestId"]
        try:
            response = self.server.lambda_handler(event, _Context(event_id))
            status = int(response.get("statusCode", 200))
            headers = dict(response.get("headers") or {})
            payload = response.get("body") or ""
            data = (
                base64.b64decode(payload)
                if response.get("isBase64Encoded")
                else str(payload).encode()
            )
        except Exception:
            # What a Function URL answers when the function itself fails.
            status, headers = 502, {"Content-Type": "application/json"}
            data = json.dumps(
                {"error": {"code": "internal_error", "message": "the function failed"}}
            ).encode()
        extra = cors.response_headers(self.headers.get("Origin")) if cors is not None else {}
        self._send(status, headers, data, extra)

    def _send(
        self,
        status: int,
        headers: Mapping[str, Any],
        data: bytes,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        """Send an answer; `extra` headers are added after the function's, as AWS does."""
        self.send_response(status)
        for name, value in [*headers.items(), *(extra or {}).items()]:
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class FunctionUrlGateway(ThreadingHTTPServer):
    """A threaded HTTP server on localhost that calls a Lambda handler per request."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self,
        lambda_handler: LambdaHandler,
        host: str = "127.0.0.1",
        port: int = 0,
        cors: FunctionUrlCors | None = None,
    ):
        self.lambda_handler = lambda_handler
        self.cors = cors
        super().__init__((host, port), _RequestHandler)

    @property
    def url(self) -> str:
        """The base URL the gateway answers on."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


@dataclass
class RunningGateway:
    """A gateway serving on a background thread."""

    gateway: FunctionUrlGateway
    thread: threading.Thread

    @property
    def url(self) -> str:
        """The base URL the gateway answers on."""
        return self.gateway.url

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.gateway.shutdown()
        self.gateway.server_close()
        self.thread.join(timeout=5)


def start_gateway(
    lambda_handler: LambdaHandler,
    host: str = "127.0.0.1",
    port: int = 0,
    cors: FunctionUrlCors | None = None,
) -> RunningGateway:
    """Serve `lambda_handler` on a background thread; port 0 picks a free port."""
    gateway = FunctionUrlGateway(lambda_handler, host, port, cors)
    thread = threading.Thread(target=gateway.serve_forever, name="gateway", daemon=True)
    thread.start()
    return RunningGateway(gateway, thread)


def start_models_api(
    settings: Any, host: str = "127.0.0.1", port: int | None = None
) -> RunningGateway:
    """Serve the get_models handler for `settings` on a background thread.

    Args:
        settings: the playground settings; `endpoint_url` must already name the emulator
            locally (see `playground.commands.serve.api_settings`).
        host: address to bind (loopback by default).
        port: port to listen on; `settings.api_port` by default, 0 for any free port.

    Returns:
        The running gateway, with the Function URL's CORS configuration for the settings'
        origins; call `.stop()` to end it.
    """
    from functions.get_models.handler import ModelsApi

    cors = FunctionUrlCors.from_contract(settings.cors_allow_origins)
    return start_gateway(
        ModelsApi(settings), host, settings.api_port if port is None else port, cors
    )
