"""What every Lambda here shares as a Function URL function (payload format 2.0).

An answer is JSON; an error is `{"error": {"code", "message"}}` (the OpenAPI document's
`Error`) and never carries a stack trace; one JSON log line goes to stdout per request, which
Lambda sends to CloudWatch. CORS belongs to the Function URL, not to these answers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
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


class Encoded(str):
    """JSON text already encoded (an answer assembled from cached encodings), sent as it is."""


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict:
    """A Function URL answer with a compact JSON body that no cache keeps."""
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            **(headers or {}),
        },
        "body": str(body) if isinstance(body, Encoded) else json.dumps(body, separators=(",", ":")),
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
