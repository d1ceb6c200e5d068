"""S3's CORS answers (the emulator's layer in front of moto), without a server."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from localaws.s3_cors import VARY, CorsRule, S3CorsLayer, matching_rule

SITE = "https://site.example"
RULES = [
    CorsRule(
        allowed_methods=("GET", "HEAD"),
        allowed_origins=(SITE, "https://*.preview.example"),
        allowed_headers=("*",),
        expose_headers=("Content-Length", "ETag"),
        max_age_seconds=3600,
    ),
    CorsRule(allowed_methods=("PUT",), allowed_origins=("*",), allowed_headers=("x-amz-*",)),
]


def _moto_like(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """An inner app that, like moto's server, allows every origin."""
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/octet-stream"),
            ("Access-Control-Allow-Origin", "*"),
            ("Vary", "Origin"),
        ],
    )
    return [b"model"]


def call(
    method: str,
    headers: dict[str, str],
    path: str = "/models/m.onnx",
    rules: list[CorsRule] | None = RULES,
) -> tuple[str, dict[str, str], bytes]:
    layer = S3CorsLayer(_moto_like, rules_of=lambda bucket: rules if bucket == "models" else None)
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "HTTP_HOST": "127.0.0.1:4566",
    }
    environ.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    answer: dict[str, Any] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]], *exc: Any) -> None:
        answer["status"], answer["headers"] = status, dict(hdrs)

    body = b"".join(layer(environ, start_response))
    return answer["status"], answer["headers"], body


def test_a_request_without_origin_gets_no_cors_header_and_no_vary() -> None:
    status, headers, body = call("GET", {})
    assert status == "200 OK"
    assert body == b"model"
    assert not [h for h in headers if h.lower().startswith("access-control-")]
    assert "Vary" not in headers


def test_a_matching_origin_gets_its_rules_headers_and_vary() -> None:
    _, headers, _ = call("GET", {"Origin": SITE})
    assert headers["Access-Control-Allow-Origin"] == SITE
    assert headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert headers["Access-Control-Expose-Headers"] == "Content-Length, ETag"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["Vary"] == VARY
    _, preview, _ = call("GET", {"Origin": "https://pr-7.preview.example"})
    assert preview["Access-Control-Allow-Origin"] == "https://pr-7.preview.example"


def test_another_origin_gets_vary_but_no_allow_origin() -> None:
    _, headers, _ = call("GET", {"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers
    assert headers["Vary"] == VARY


def test_a_bucket_without_cors_configuration_answers_no_cors_at_all() -> None:
    _, headers, _ = call("GET", {"Origin": SITE}, rules=None)
    assert not [h for h in headers if h.lower().startswith("access-control-")]
    assert "Vary" not in headers


def test_a_preflight_is_answered_from_the_rules() -> None:
    status, headers, _ = call(
        "OPTIONS",
        {
            "Origin": SITE,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Range, X-Custom",
        },
    )
    assert status == "200 OK"
    assert headers["Access-Control-Allow-Origin"] == SITE
    assert headers["Access-Control-Allow-Headers"] == "range, x-custom"
    assert headers["Access-Control-Max-Age"] == "3600"
    # A wildcard origin is answered with *, and without credentials.
    status, headers, _ = call(
        "OPTIONS",
        {
            "Origin": "https://any.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-amz-meta-a",
        },
    )
    assert status == "200 OK"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers


def test_a_preflight_the_rules_do_not_allow_is_refused_as_s3_refuses_it() -> None:
    for request in (
        {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        {"Origin": SITE, "Access-Control-Request-Method": "DELETE"},
        {
            "Origin": "https://any.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
    ):
        status, headers, body = call("OPTIONS", request)
        assert status == "403 Forbidden", request
        assert b"<Code>AccessForbidden</Code>" in body
        assert b"This CORS request is not allowed" in body
        assert "Access-Control-Allow-Origin" not in headers
    status, _, body = call(
        "OPTIONS", {"Origin": SITE, "Access-Control-Request-Method": "GET"}, rules=None
    )
    assert status == "403 Forbidden"
    assert b"CORS is not enabled for this bucket" in body
    status, _, body = call("OPTIONS", {"Access-Control-Request-Method": "GET"})
    assert status == "400 Bad Request"
    assert b"Origin request header needed" in body


def test_the_first_matching_rule_wins_and_methods_must_match() -> None:
    match = matching_rule(RULES, SITE, "PUT", ["x-amz-acl"])
    assert match is not None
    assert match[1] == "*"
    assert matching_rule(RULES, SITE, "GET") == (RULES[0], SITE)
    assert matching_rule(RULES, "https://site.example.evil", "GET") is None


def test_other_services_lose_the_blanket_cors_header_too() -> None:
    layer = S3CorsLayer(_moto_like, rules_of=lambda bucket: RULES)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "HTTP_HOST": "127.0.0.1:4566",
        "HTTP_ORIGIN": SITE,
        "HTTP_X_AMZ_TARGET": "SageMaker.ListModelPackages",
    }
    seen: dict[str, str] = {}
    list(layer(environ, lambda status, hdrs, *exc: seen.update(dict(hdrs))))
    assert not [h for h in seen if h.lower().startswith("access-control-")]
