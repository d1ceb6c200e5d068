"""Corrections (contracts/feedback.md) for tests: valid bodies and Function URL events."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

PIXELS = bytes((7 * i) % 256 for i in range(784))


def correction(
    *,
    version: int = 1,
    sha256: str = "a" * 64,
    spec: int = 1,
    label: int = 7,
    predicted: int = 1,
    pixels: bytes = PIXELS,
) -> dict[str, Any]:
    """A correction body as the web app sends it."""
    return {
        "pixels": base64.b64encode(pixels).decode("ascii"),
        "predicted": predicted,
        "label": label,
        "model_version": version,
        "model_sha256": sha256,
        "input_spec_version": spec,
    }


def sample_id(body: dict[str, Any]) -> str:
    """The id the contract gives `body`: SHA-256 of its canonical JSON."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def feedback_event(
    body: bytes | str,
    *,
    method: str = "POST",
    path: str = "/feedback",
    content_type: str | None = "application/json",
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """A Function URL event (payload format 2.0) carrying `body`."""
    headers = {} if content_type is None else {"content-type": content_type}
    raw = body.encode() if isinstance(body, str) else body
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": path}, "requestId": "test"},
        "body": base64.b64encode(raw).decode() if base64_encoded else raw.decode("latin-1"),
        "isBase64Encoded": base64_encoded,
    }
