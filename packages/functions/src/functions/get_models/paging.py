"""The opaque `next_token` of `GET /models`.

The token wraps the registry's own page token. It carries a checksum so that a token changed
on the way (by hand or by a broken client) is rejected with a clear 400 instead of reaching
the registry. The checksum is not a secret signature: a token holds nothing but a position in
a public list, so a forged one can show nothing a client could not ask for directly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

TOKEN_VERSION = 1
MAX_TOKEN_LENGTH = 4096
_CHECKSUM_BYTES = 12


class InvalidPageTokenError(ValueError):
    """The next_token is not one this API issued (or it was altered)."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # The last character also carries unused bits: another character there decodes to the same
    # bytes, so only the one spelling _b64encode gives is accepted.
    if _b64encode(data) != text:
        raise ValueError("not the canonical base64url spelling")
    return data


def _checksum(scope: str, payload: bytes) -> bytes:
    digest = hashlib.sha256(f"get_models/{TOKEN_VERSION}/{scope}/".encode() + payload)
    return digest.digest()[:_CHECKSUM_BYTES]


def encode_page_token(registry_token: str, *, scope: str) -> str:
    """Wrap the registry's page token for the client.

    Args:
        registry_token: the registry's NextToken.
        scope: what the token is valid for (the model package group), so a token from another
            group's listing is rejected.

    Returns:
        A URL-safe string: base64url(payload) "." base64url(checksum).
    """
    payload = json.dumps({"v": TOKEN_VERSION, "r": registry_token}, separators=(",", ":"))
    raw = payload.encode()
    return f"{_b64encode(raw)}.{_b64encode(_checksum(scope, raw))}"


def decode_page_token(token: str, *, scope: str) -> str:
    """Return the registry's page token inside `token`.

    Raises:
        InvalidPageTokenError: the token is malformed, altered, or from another scope.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise InvalidPageTokenError("next_token is not a token this API issued")
    body, mac = token.split(".")
    try:
        raw = _b64decode(body)
        given = _b64decode(mac)
    except (binascii.Error, ValueError):
        raise InvalidPageTokenError("next_token is not a token this API issued") from None
    if not hmac.compare_digest(given, _checksum(scope, raw)):
        raise InvalidPageTokenError("next_token was altered or belongs to another listing")
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidPageTokenError("next_token is not a token this API issued") from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != TOKEN_VERSION
        or not isinstance(payload.get("r"), str)
        or not payload["r"]
    ):
        raise InvalidPageTokenError("next_token is not a token this API issued")
    return str(payload["r"])
