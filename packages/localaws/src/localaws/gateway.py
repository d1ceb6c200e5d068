"""A local stand-in for a Lambda Function URL.

Each HTTP request becomes a Function URL event (payload format 2.0), the handler is called in
this process (invoking a Lambda in the emulator would need Docker), and the handler's answer
goes back as the HTTP response. The same handler code runs behind the real Function URL.

Like the real one, the gateway owns CORS: with a CORS configuration it answers preflight
requests itself, without calling the handler, and adds the CORS headers to the handler's
answers for allowed origins. The configuration is an argument (`FunctionUrlCors`, read from
the JSON file Terraform gives the Function URL's `cors {}` block by `from_contract`).

In AWS each function has its own URL; locally one gateway can serve several on one port, each
path on its own `FunctionUrl` (handler, CORS, rate limit). Which functions, on which paths, is
the project's wiring (`playground.api`).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

log = logging.getLogger("localaws.gateway")

LambdaHandler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]

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
    def from_contract(cls, allow_origins: tuple[str, ...], path: Path) -> FunctionUrlCors:
        """The configuration in `path` (the JSON Terraform gives the URL's `cors {}` block).

        Args:
            allow_origins: the origins allowed (they differ per deployment, so not in the file).
            path: a JSON object with `allow_methods`, `allow_headers`, `expose_headers`,
                `max_age` (seconds) and `allow_credentials`, each optional.
        """
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


class TokenBuckets:
    """A token bucket per client: `burst` requests at once, then `per_minute` a minute.

    Memory is bounded: when more than `max_clients` buckets are held, the full ones (clients
    idle long enough to have refilled) are dropped, as they hold nothing a new bucket would not.
    """

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> int | None:
        """Take one token for `client`: None when allowed, else the seconds to wait (>= 1)."""
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                if len(self._buckets) > self._max_clients:
                    self._forget_full(now)
                return None
            self._buckets[client] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _forget_full(self, now: float) -> None:
        full = [
            client
            for client, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * self.rate >= self.burst
        ]
        for client in full:
            del self._buckets[client]


@dataclass(frozen=True)
class FunctionUrl:
    """What one Function URL puts in front of its function: CORS and (locally) a rate limit."""

    handler: LambdaHandler
    cors: FunctionUrlCors | None = None
    rate_limit: TokenBuckets | None = field(default=None, compare=False)
    name: str = "get_models"
    # The function's resource policy, checked as AWS checks it for every URL request.
    permission: UrlPermission | None = field(default=None, compare=False)


class UrlPermission:
    """Whether a function's resource policy lets anyone call it through its URL (AWS's rule).

    Reads the function's policy from the emulator (``GetPolicy``, at most once a second, as
    AWS too takes a moment to apply a permission change) and decides with
    `localaws.permission.function_url_decision`: both ``lambda:InvokeFunctionUrl`` and
    ``lambda:InvokeFunction`` with ``lambda:InvokedViaFunctionUrl`` are needed.
    """

    def __init__(
        self,
        lambda_client: Any,
        function: str,
        ttl_seconds: float = 1.0,
        enforced: Callable[[], bool] | None = None,
    ) -> None:
        """Check ``function`` through ``lambda_client`` (a boto3 Lambda client of the emulator).

        ``enforced`` is asked, as often as the policy is read, whether the emulator enforces
        IAM now; while it answers False every request is let through. None: always enforced.
        """
        self.client = lambda_client
        self.function = function
        self.ttl_seconds = ttl_seconds
        self.enforced = enforced
        self._lock = threading.Lock()
        self._checked = (-math.inf, False, "")

    def allows(self) -> tuple[bool, str]:
        """(allowed, why not) for a URL request now."""
        from localaws.permission import function_url_decision, lambda_policy

        with self._lock:
            at, allowed, why = self._checked
            if time.monotonic() - at < self.ttl_seconds:
                return allowed, why
            if self.enforced is not None and not self.enforced():
                self._checked = (time.monotonic(), True, "")
                return True, ""
            try:
                arn = self.client.get_function(FunctionName=self.function)["Configuration"][
                    "FunctionArn"
                ]
                try:
                    document = json.loads(
                        self.client.get_policy(FunctionName=self.function)["Policy"]
                    )
                except self.client.exceptions.ResourceNotFoundException:
                    document = {}
                decision = function_url_decision(lambda_policy(self.function, document), arn)
                allowed = decision.allowed
                why = "" if allowed else f"the resource policy of {self.function} does not allow it"
            except Exception as exc:  # no function, or no emulator: no URL answers
                allowed, why = False, f"function {self.function} cannot be read: {exc}"
            self._checked = (time.monotonic(), allowed, why)
            return allowed, why


@dataclass
class _Context:
    """The parts of the Lambda context object the handler may read."""

    aws_request_id: str
    function_name: str = "get_models"


def _json_error(status: int, code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class _RequestHandler(BaseHTTPRequestHandler):
    server: FunctionUrlGateway
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle's algorithm on, a keep-alive
    # client's delayed ACK stalls every response by about 40 ms.
    disable_nagle_algorithm = True
    error_content_type = "application/json"
    error_message_format = '{"error": {"code": "bad_request", "message": "%(message)s"}}'
    # A client that declares a body and never sends it gives its thread back after this many
    # seconds instead of holding it (a Function URL's own limit is the function's timeout).
    timeout = 30

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
            # The body is not read, so the connection cannot be reused.
            self.close_connection = True
            message = f"the body is over {_MAX_BODY_BYTES:,} bytes"
            headers = {"Content-Type": "application/json", "Connection": "close"}
            self._send(413, headers, _json_error(413, "payload_too_large", message))
            return
        body = self.rfile.read(length) if length > 0 else b""
        url = self.server.url_for(self.path.partition("?")[0])
        if url.permission is not None:
            allowed, why = url.permission.allows()
            if not allowed:
                # What a Function URL answers when the function's policy does not let the
                # caller in (Lambda Developer Guide, "Control access to Lambda function URLs").
                self.server.log_denial(url.name, why)
                headers = {
                    "Content-Type": "application/json",
                    "x-amzn-ErrorType": "AccessDeniedException",
                }
                self._send(403, headers, b'{"Message":"Forbidden"}')
                return
        cors = url.cors
        request_headers = dict(self.headers.items())
        if cors is not None and cors.is_preflight(self.command, request_headers):
            # The URL layer answers preflights; the function never sees them.
            self._send(200, cors.preflight_headers(request_headers), b"")
            return
        extra = cors.response_headers(self.headers.get("Origin")) if cors is not None else {}
        wait = url.rate_limit.take(self.client_address[0]) if url.rate_limit else None
        if wait is not None:
            message = f"too many requests from this client; retry in {wait} s"
            headers = {"Content-Type": "application/json", "Retry-After": str(wait)}
            self._send(429, headers, _json_error(429, "rate_limited", message), extra)
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
            response = url.handler(event, _Context(event_id, url.name))
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
            data = _json_error(502, "internal_error", "the function failed")
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
        routes: Mapping[str, FunctionUrl] | None = None,
        permission: UrlPermission | None = None,
    ):
        """Serve `lambda_handler` on every path but those `routes` give their own URL.

        With `permission`, the default function's resource policy is checked on every request.
        """
        self.default = FunctionUrl(lambda_handler, cors, permission=permission)
        self.routes = dict(routes or {})
        self.denials = 0
        super().__init__((host, port), _RequestHandler)

    def log_denial(self, function: str, why: str) -> None:
        """Count a request refused for want of permission; log the first of each kind."""
        self.denials += 1
        if self.denials == 1:
            log.warning("Function URL of %s answers 403: %s", function, why)

    def url_for(self, path: str) -> FunctionUrl:
        """The Function URL (handler, CORS, rate limit) that answers `path`."""
        return self.routes.get(path, self.default)

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
    routes: Mapping[str, FunctionUrl] | None = None,
    permission: UrlPermission | None = None,
) -> RunningGateway:
    """Serve `lambda_handler` on a background thread; port 0 picks a free port."""
    gateway = FunctionUrlGateway(lambda_handler, host, port, cors, routes, permission)
    thread = threading.Thread(target=gateway.serve_forever, name="gateway", daemon=True)
    thread.start()
    return RunningGateway(gateway, thread)
