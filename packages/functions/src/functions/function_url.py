"""What every Lambda here shares as a Function URL function (payload format 2.0).

An answer is JSON; an error is `{"error": {"code", "message"}}` (the OpenAPI document's
`Error`) and never carries a stack trace; one JSON log line goes to stdout per request, which
Lambda sends to CloudWatch. CORS belongs to the Function URL, not to these answers.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)

# A service that does not answer must turn into a quick 503, not a hung browser: short
# timeouts and one retry (Function URL requests time out after the Lambda's own timeout).
CLIENT_CONFIG = Config(
    connect_timeout=1,
    read_timeout=5,
    retries={"max_attempts": 2, "mode": "standard"},
)

_THROTTLED = {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure"}


class ApiError(Exception):
    """An answer with an error status, a code from the OpenAPI document and a message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        reason: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.reason = reason


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict:
    """A Function URL answer with a compact JSON body that no cache keeps."""
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            **(headers or {}),
        },
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def error_response(error: ApiError) -> dict:
    """The `Error` answer for `error`."""
    fields = {"code": error.code, "message": error.message}
    if error.reason:
        fields["reason"] = error.reason
    return json_response(error.status, {"error": fields}, error.headers)


def service_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means an AWS service did not answer or was throttled (retry later)."""
    if isinstance(exc, ConnectionError | HTTPClientError | ReadTimeoutError):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return error.get("Code") in _THROTTLED or status >= 500
    return False


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` when it is a mapping, else an empty one (events are read defensively)."""
    return value if isinstance(value, Mapping) else {}


def request_headers(event: Mapping[str, Any]) -> dict[str, str]:
    """The event's headers, names in lower case."""
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def log_line(**fields: Any) -> None:
    """Write one structured log line (JSON) to stdout, which Lambda sends to CloudWatch."""
    record = {"timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"), **fields}
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Request:
    """The parts of a Function URL event a route reads."""

    method: str
    path: str
    headers: dict[str, str]
    event: Mapping[str, Any]


Route = Callable[[Request, dict[str, Any]], dict]


def answer(
    event: Any,
    context: Any,
    route: Route,
    *,
    unavailable: str,
    log: dict[str, Any] | None = None,
) -> dict:
    """Answer one Function URL event (payload format 2.0) with `route`, and log it.

    `route(request, log)` returns the answer or raises `ApiError` (its own answer); an AWS
    service that does not answer becomes 503 `registry_unavailable` with `unavailable` as its
    message; anything else 500 `internal_error` naming the request id, the traceback going to
    the log only. One JSON log line per request: method, path, status, duration and what the
    route added to `log`.
    """
    started = time.perf_counter()
    event = event if isinstance(event, Mapping) else {}
    request_context = mapping(event.get("requestContext"))
    http = mapping(request_context.get("http"))
    request = Request(
        method=str(http.get("method") or "GET").upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        headers=request_headers(event),
        event=event,
    )
    request_id = getattr(context, "aws_request_id", None) or str(
        request_context.get("requestId") or uuid.uuid4()
    )
    fields: dict[str, Any] = dict(log or {})
    try:
        response = route(request, fields)
    except ApiError as exc:
        response = error_response(exc)
        fields["error_code"] = exc.code
    except Exception as exc:
        if service_unavailable(exc):
            response = error_response(
                ApiError(503, "registry_unavailable", unavailable, {"Retry-After": "5"})
            )
            fields["error_code"] = "registry_unavailable"
            fields["cause"] = f"{type(exc).__name__}: {exc}"
        else:
            response = error_response(
                ApiError(500, "internal_error", f"internal error (request id {request_id})")
            )
            fields["error_code"] = "internal_error"
            fields["traceback"] = traceback.format_exc()
    log_line(
        level="error" if response["statusCode"] >= 500 else "info",
        message="request",
        request_id=request_id,
        method=request.method[:20],
        path=request.path[:200],
        status=response["statusCode"],
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        **fields,
    )
    return response
