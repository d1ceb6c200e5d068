"""A local stand-in for a Lambda Function URL.

Each HTTP request becomes a Function URL event (payload format 2.0), the handler is called in
this process (invoking a Lambda in the emulator would need Docker), and the handler's answer
goes back as the HTTP response. The same handler code runs behind the real Function URL.
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
from typing import Any
from urllib.parse import parse_qsl

LambdaHandler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]

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
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class FunctionUrlGateway(ThreadingHTTPServer):
    """A threaded HTTP server on localhost that calls a Lambda handler per request."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, lambda_handler: LambdaHandler, host: str = "127.0.0.1", port: int = 0):
        self.lambda_handler = lambda_handler
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
    lambda_handler: LambdaHandler, host: str = "127.0.0.1", port: int = 0
) -> RunningGateway:
    """Serve `lambda_handler` on a background thread; port 0 picks a free port."""
    gateway = FunctionUrlGateway(lambda_handler, host, port)
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
        The running gateway; call `.stop()` to end it.
    """
    from functions.get_models.handler import ModelsApi

    return start_gateway(ModelsApi(settings), host, settings.api_port if port is None else port)
