"""S3's CORS answers, as S3 gives them, in front of moto's server.

moto's server answers every request of every service with ``Access-Control-Allow-Origin: *``
(flask-cors on the whole app), so a browser on any origin may read anything, and what a
browser in AWS refuses cannot be seen locally. This layer removes every CORS header the
server adds and answers S3 requests from the bucket's CORS configuration as S3 does
(Amazon S3 User Guide, "Using cross-origin resource sharing (CORS)": "How does Amazon S3
evaluate the CORS configuration on a bucket?", and the CORS configuration reference):

- a request without an ``Origin`` header gets no CORS header at all, and no ``Vary``: the
  answer a browser caches from an ``<img>`` without ``crossorigin`` then fails a later
  ``fetch`` of the same URL, as it does in AWS;
- a request with an ``Origin``, to a bucket with a CORS configuration, gets
  ``Vary: Origin, Access-Control-Request-Headers, Access-Control-Request-Method``, and the
  ``Access-Control-*`` headers of the first rule whose AllowedOrigin matches the origin and
  whose AllowedMethod holds the method (none when no rule matches);
- a preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered
  here: 200 with the rule's headers when a rule also allows every requested header, else
  403 ``AccessForbidden`` ("CORS is not enabled for this bucket" or "This CORS request is not
  allowed"); without ``Origin`` or the method, 400 as S3 answers.

The wildcard rules are S3's: an AllowedOrigin or AllowedHeader holds at most one ``*``; an
AllowedOrigin of ``*`` is answered with ``Access-Control-Allow-Origin: *``, any other match
with the origin itself and ``Access-Control-Allow-Credentials: true``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or "
    "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)
NO_ORIGIN = "Insufficient information. Origin request header needed."
NO_METHOD = "Invalid Access-Control-Request-Method: null"


@dataclass(frozen=True)
class CorsRule:
    """One CORSRule of a bucket's configuration (the PutBucketCors fields)."""

    allowed_methods: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None


def _wildcard(pattern: str, value: str, *, ignore_case: bool) -> bool:
    """S3's match: the pattern's (at most one) ``*`` stands for any characters."""
    flags = re.IGNORECASE if ignore_case else 0
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, flags) is not None


def _origin_allowed(rule: CorsRule, origin: str) -> str | None:
    """The AllowedOrigin of ``rule`` that admits ``origin``, or None."""
    for allowed in rule.allowed_origins:
        if allowed == "*" or _wildcard(allowed, origin, ignore_case=False):
            return allowed
    return None


def matching_rule(
    rules: Sequence[CorsRule], origin: str, method: str, request_headers: Sequence[str] = ()
) -> tuple[CorsRule, str] | None:
    """The first rule that allows this origin, method and every requested header.

    Returns:
        The rule and the AllowedOrigin that matched (``*`` or a pattern), or None.
    """
    for rule in rules:
        allowed_origin = _origin_allowed(rule, origin)
        if allowed_origin is None or method.upper() not in rule.allowed_methods:
            continue
        if all(
            any(_wildcard(p, header, ignore_case=True) for p in rule.allowed_headers)
            for header in request_headers
        ):
            return rule, allowed_origin
    return None


def cors_headers(
    rule: CorsRule, allowed_origin: str, origin: str, request_headers: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """The ``Access-Control-*`` headers S3 sends for a request ``rule`` allowed."""
    wildcard = allowed_origin == "*"
    headers = [("Access-Control-Allow-Origin", "*" if wildcard else origin)]
    headers.append(("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods)))
    if request_headers:
        headers.append(("Access-Control-Allow-Headers", ", ".join(request_headers)))
    if rule.expose_headers:
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule.expose_headers)))
    if rule.max_age_seconds is not None:
        headers.append(("Access-Control-Max-Age", str(rule.max_age_seconds)))
    if not wildcard:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return headers


def _error(code: str, message: str, method: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
        f"<Method>{escape(method)}</Method><ResourceType>OBJECT</ResourceType></Error>"
    ).encode()


def bucket_of(environ: dict[str, Any]) -> str | None:
    """The bucket a request names, or None.

    ``bucket.localhost`` and ``bucket.s3.…`` hosts name it; otherwise the path's first segment
    does (path style, as clients of the emulator address it).
    """
    host = environ.get("HTTP_HOST", "").split(":")[0].lower()
    for marker in (".s3.", ".s3-", ".localhost"):
        if marker in host and not host.startswith("s3."):
            return host.split(marker, 1)[0]
    first = unquote(environ.get("PATH_INFO", "")).lstrip("/").split("/", 1)[0]
    return first or None


def moto_bucket_rules(bucket: str) -> list[CorsRule] | None:
    """The CORS rules moto keeps for ``bucket``, or None without a bucket or a configuration.

    Bucket names are global in S3, so every account's backend is looked in.
    """
    from moto.s3.models import s3_backends

    for account in list(s3_backends):
        for backend in list(s3_backends[account].values()):
            found = backend.buckets.get(bucket)
            if found is None:
                continue
            if not found.cors:
                return None
            return [
                CorsRule(
                    allowed_methods=tuple(m.upper() for m in (r.allowed_methods or [])),
                    allowed_origins=tuple(r.allowed_origins or []),
                    allowed_headers=tuple(r.allowed_headers or []),
                    expose_headers=tuple(r.exposed_headers or []),
                    max_age_seconds=int(r.max_age_seconds) if r.max_age_seconds else None,
                )
                for r in found.cors
            ]
    return None


def _is_s3(environ: dict[str, Any]) -> bool:
    """Whether moto's dispatcher takes this request for S3 (unsigned requests default to S3)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    query = environ.get("QUERY_STRING", "")
    scope = ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
    elif "X-Amz-Credential=" in query:
        scope = unquote(query.split("X-Amz-Credential=", 1)[1].split("&", 1)[0])
    parts = scope.strip().split("/")
    if len(parts) >= 5:
        return parts[3] == "s3"
    return "HTTP_X_AMZ_TARGET" not in environ and "Action=" not in query


def _without_cors(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The server's headers less any CORS header and any ``Vary`` on Origin it added."""
    kept = []
    for name, value in headers:
        lower = name.lower()
        if lower.startswith("access-control-"):
            continue
        if lower == "vary":
            rest = [v.strip() for v in value.split(",") if v.strip().lower() != "origin"]
            if not rest:
                continue
            value = ", ".join(rest)
        kept.append((name, value))
    return kept


class S3CorsLayer:
    """WSGI middleware: S3's CORS answers in place of the server's blanket ones."""

    def __init__(
        self,
        app: WsgiApp,
        rules_of: Callable[[str], list[CorsRule] | None] = moto_bucket_rules,
    ) -> None:
        self.app = app
        self.rules_of = rules_of

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer a preflight here; otherwise pass on and set the CORS headers S3 would."""
        method = environ.get("REQUEST_METHOD", "GET").upper()
        origin = environ.get("HTTP_ORIGIN")
        s3 = _is_s3(environ)
        bucket = bucket_of(environ) if s3 else None
        if s3 and method == "OPTIONS" and bucket is not None:
            return self._preflight(environ, start_response, bucket, origin)

        def cors_start_response(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            headers = _without_cors(headers)
            if s3 and origin and bucket is not None:
                rules = self.rules_of(bucket)
                if rules is not None:
                    headers.append(("Vary", VARY))
                    match = matching_rule(rules, origin, method)
                    if match is not None:
                        headers.extend(cors_headers(match[0], match[1], origin))
            return start_response(status, headers, *exc)

        return self.app(environ, cors_start_response)

    def _preflight(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        bucket: str,
        origin: str | None,
    ) -> Iterable[bytes]:
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        xml = [("Content-Type", "application/xml")]
        if not origin:
            start_response("400 Bad Request", xml)
            return [_error("BadRequest", NO_ORIGIN, "OPTIONS")]
        if not requested:
            start_response("400 Bad Request", xml)
            return [_error("BadRequest", NO_METHOD, "OPTIONS")]
        header_list = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
        request_headers = [h.strip().lower() for h in header_list.split(",") if h.strip()]
        rules = self.rules_of(bucket)
        if rules is None:
            start_response("403 Forbidden", xml)
            return [_error("AccessForbidden", NOT_ENABLED, requested)]
        match = matching_rule(rules, origin, requested, request_headers)
        if match is None:
            start_response("403 Forbidden", [*xml, ("Vary", VARY)])
            return [_error("AccessForbidden", NOT_ALLOWED, requested)]
        headers = [
            *cors_headers(match[0], match[1], origin, request_headers),
            ("Vary", VARY),
            ("Content-Length", "0"),
        ]
        start_response("200 OK", headers)
        return [b""]
