"""One correction (contracts/feedback.md), checked strictly, and its content address.

Pure functions on bytes: no AWS, so every refusal is testable without a network. Anything
that is not exactly the contract's six members with their types and ranges is refused with
`ApiError` (400 `invalid_feedback`, 413 `payload_too_large`, 415 `unsupported_media_type`)
and a message naming the member, never echoing more than a few characters of the input.

The one implementation of the contract's rules: the `feedback` Lambda reads request bodies
with `parse_correction`, and the review (`playground feedback`) reads the stored objects
with `parse_stored`, the same checks plus `received_at`, refused with the same messages
(`CorrectionError`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.function_url import ApiError

MAX_BODY_BYTES = 4096  # contracts/feedback.md: a correction is about 1.3 KB
# The image side and the digits are pipelines.mnist.code.idx's IMAGE_SIDE and NUM_CLASSES
# (contracts/preprocessing.md's SIZE, the model's logits [N, 10]); this Lambda's zip holds no
# pipelines code, so it keeps a copy, which tests/unit/pipelines/mnist/code/test_idx.py pins.
IMAGE_SIDE = 28
PIXEL_BYTES = IMAGE_SIDE * IMAGE_SIDE
DIGITS = range(10)
MAX_VERSION = 999_999_999  # the registry's versions, as `/models/{version}` accepts them
PENDING_PREFIX = "feedback/pending/"

MEMBERS = ("pixels", "predicted", "label", "model_version", "model_sha256", "input_spec_version")
STORED_MEMBERS = (*MEMBERS, "received_at")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


class CorrectionError(ValueError):
    """A correction (or a stored one) that breaks contracts/feedback.md; the message says why."""


def _invalid(message: str) -> CorrectionError:
    return CorrectionError(message)


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 24 else text[:24] + "..."


@dataclass(frozen=True)
class Correction:
    """A checked correction: the model's 28x28 input bytes and the labels around it."""

    pixels: bytes
    predicted: int
    label: int
    model_version: int
    model_sha256: str
    input_spec_version: int

    def members(self) -> dict[str, Any]:
        """The six members as the body carries them (pixels as standard base64)."""
        return {
            "pixels": base64.b64encode(self.pixels).decode("ascii"),
            "predicted": self.predicted,
            "label": self.label,
            "model_version": self.model_version,
            "model_sha256": self.model_sha256,
            "input_spec_version": self.input_spec_version,
        }

    def canonical_json(self) -> bytes:
        """The members as JSON with sorted keys and no spaces (what the id hashes)."""
        return json.dumps(self.members(), sort_keys=True, separators=(",", ":")).encode()

    @property
    def sample_id(self) -> str:
        """The sample's id: SHA-256 (hex) of the canonical JSON."""
        return hashlib.sha256(self.canonical_json()).hexdigest()

    @property
    def key(self) -> str:
        """The quarantine key: `feedback/pending/<id>.json`."""
        return f"{PENDING_PREFIX}{self.sample_id}.json"

    def stored_object(self, received_at: datetime) -> bytes:
        """The stored object: the canonical members plus `received_at` (ISO 8601 UTC, s)."""
        stamp = received_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        record = {**self.members(), "received_at": stamp}
        return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def check_content_type(value: str | None) -> None:
    """Accept only `application/json` (parameters such as charset=utf-8 allowed).

    Raises:
        ApiError: 415 unsupported_media_type.
    """
    media = (value or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        shown = _shown(value) if value else "none"
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the correction as Content-Type: application/json (got {shown})",
        )


def check_size(size: int) -> None:
    """Refuse a body of `size` bytes when it is over `MAX_BODY_BYTES`.

    Raises:
        ApiError: 413 payload_too_large.
    """
    if size > MAX_BODY_BYTES:
        raise ApiError(
            413,
            "payload_too_large",
            f"the body is {size:,} bytes; a correction is at most {MAX_BODY_BYTES:,}",
        )


def _refuse_constant(name: str) -> Any:
    raise _invalid(f"{name} is not a JSON number; numbers must be finite")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _invalid(f"member {_shown(key)} appears twice")
        seen[key] = value
    return seen


def _load(body: bytes, members: tuple[str, ...]) -> dict[str, Any]:
    if not body:
        raise _invalid("the body is empty; send a correction as a JSON object")
    try:
        text = body.decode("utf-8")
        document = json.loads(
            text, parse_constant=_refuse_constant, object_pairs_hook=_unique_members
        )
    except CorrectionError:
        raise
    except UnicodeDecodeError:
        raise _invalid("the body is not UTF-8 text") from None
    except (ValueError, RecursionError):
        raise _invalid("the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise _invalid("the body must be a JSON object with the members " + ", ".join(members))
    return document


def _integer(document: dict[str, Any], name: str, low: int, high: int) -> int:
    value = document[name]
    # JSON Schema's integer (the OpenAPI document's) includes 7.0, so it is read as 7 (and
    # the id hashes 7). bool is an int in Python but not in JSON: true is not the digit 1.
    if type(value) is float and value.is_integer() and abs(value) <= MAX_VERSION:
        value = int(value)
    if type(value) is not int:
        raise _invalid(f"{name} must be a whole number from {low} to {high}, got {_shown(value)}")
    if not low <= value <= high:
        raise _invalid(f"{name} must be from {low} to {high}, got {value}")
    return value


def _pixels(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _invalid(f"pixels must be a base64 string, got {_shown(value)}")
    if not _BASE64.match(value) or len(value) % 4:
        raise _invalid("pixels is not standard base64 (A-Z a-z 0-9 + /, padded with =)")
    try:
        data = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise _invalid("pixels is not standard base64 (A-Z a-z 0-9 + /, padded with =)") from None
    if len(data) != PIXEL_BYTES:
        raise _invalid(
            f"pixels must be {PIXEL_BYTES} bytes ({IMAGE_SIDE}x{IMAGE_SIDE}), got {len(data)}"
        )
    if base64.b64encode(data).decode("ascii") != value:
        # Unused bits set in the last character: another spelling of the same bytes, which
        # would give the same image two ids.
        raise _invalid("pixels is not canonical base64 (unused bits in the last characters)")
    return data


def _correction(document: dict[str, Any], members: tuple[str, ...]) -> Correction:
    unknown = sorted(set(document) - set(members))
    if unknown:
        names = ", ".join(_shown(name) for name in unknown[:3])
        raise _invalid(f"unknown member(s) {names}; a correction has only " + ", ".join(members))
    missing = [name for name in members if name not in document]
    if missing:
        raise _invalid("missing member(s) " + ", ".join(missing))
    sha256 = document["model_sha256"]
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise _invalid(f"model_sha256 must be 64 lowercase hex digits, got {_shown(sha256)}")
    return Correction(
        pixels=_pixels(document["pixels"]),
        predicted=_integer(document, "predicted", DIGITS.start, DIGITS.stop - 1),
        label=_integer(document, "label", DIGITS.start, DIGITS.stop - 1),
        model_version=_integer(document, "model_version", 1, MAX_VERSION),
        model_sha256=sha256,
        input_spec_version=_integer(document, "input_spec_version", 1, MAX_VERSION),
    )


def check_correction(body: bytes) -> Correction:
    """Check a request body against the contract and return the correction.

    Args:
        body: the raw request body.

    Returns:
        The correction, with the pixel bytes decoded.

    Raises:
        CorrectionError: naming the first member that is wrong (or why the body is not
            a JSON object with exactly the six members).
    """
    return _correction(_load(body, MEMBERS), MEMBERS)


def parse_correction(body: bytes) -> Correction:
    """`check_correction` as the Lambda answers it.

    Args:
        body: the raw request body (already checked for size and content type).

    Returns:
        The correction, with the pixel bytes decoded.

    Raises:
        ApiError: 400 invalid_feedback with `CorrectionError`'s message.
    """
    try:
        return check_correction(body)
    except CorrectionError as exc:
        raise ApiError(400, "invalid_feedback", str(exc)) from None


def _received_at(value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid(f"received_at must be an ISO 8601 UTC time, got {_shown(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(f"received_at {_shown(value)} is not ISO 8601") from None
    offset = moment.utcoffset()
    if offset is None or offset.total_seconds() != 0:
        raise _invalid(f"received_at {_shown(value)} is not UTC")
    return value


def parse_stored(body: bytes) -> tuple[Correction, str]:
    """A stored correction (`Correction.stored_object`'s bytes) checked against the contract.

    The same rules and messages as `check_correction`, with one more member, ``received_at``.

    Args:
        body: the bytes of an object under `feedback/pending/`.

    Returns:
        The correction and its ``received_at`` as stored (ISO 8601 UTC).

    Raises:
        CorrectionError: naming the first member that is wrong.
    """
    document = _load(body, STORED_MEMBERS)
    correction = _correction(document, STORED_MEMBERS)
    return correction, _received_at(document["received_at"])
