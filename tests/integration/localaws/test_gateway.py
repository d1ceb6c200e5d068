"""The local Function URL gateway: event translation, CORS as a Function URL applies it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from localaws.gateway import FunctionUrlCors, RunningGateway, start_gateway

SITE = "https://digits.example.com"
CORS = FunctionUrlCors(
    allow_origins=("*",),
    allow_methods=("GET", "POST"),
    allow_headers=("content-type",),
    max_age=3600,
)


def _acao(answer: requests.Response) -> list[str]:
    """Every Access-Control-Allow-Origin header of the answer, as sent (duplicates kept)."""
    raw = answer.raw._original_response.msg  # the http.client message keeps repeated headers
    return list(raw.get_all("Access-Control-Allow-Origin") or [])


def _echo(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    if event["rawPath"] == "/boom":
        raise RuntimeError("secret internals")
    if event["rawPath"] == "/binary":
        body = base64.b64encode(b"\x00\x01").decode()
        return {"statusCode": 200, "body": body, "isBase64Encoded": True}
    return {
        "statusCode": 207,
        "headers": {"Content-Type": "application/json", "X-Request": context.aws_request_id},
        "body": json.dumps({"method": event["requestContext"]["http"]["method"], "event": event}),
        "isBase64Encoded": False,
    }


@pytest.fixture
def echo() -> Iterator[RunningGateway]:
    running = start_gateway(_echo)
    yield running
    running.stop()


def test_gateway_passes_requests_and_responses_through(echo: RunningGateway) -> None:
    answer = requests.get(f"{echo.url}/a/b?x=1", headers={"Origin": "http://o"}, timeout=5)
    assert answer.status_code == 207
    assert answer.headers["X-Request"]
    seen = answer.json()["event"]
    assert seen["rawPath"] == "/a/b"
    assert seen["queryStringParameters"] == {"x": "1"}
    assert seen["headers"]["origin"] == "http://o"
    assert seen["requestContext"]["http"]["sourceIp"] == "127.0.0.1"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
def test_every_method_reaches_the_handler(echo: RunningGateway, method: str) -> None:
    answer = requests.request(method, f"{echo.url}/x", data=b"{}", timeout=5)
    assert answer.json()["method"] == method


def test_head_gets_headers_without_a_body(echo: RunningGateway) -> None:
    answer = requests.head(f"{echo.url}/x", timeout=5)
    assert answer.status_code == 207
    assert answer.content == b""


def test_base64_response_is_decoded(echo: RunningGateway) -> None:
    assert requests.get(f"{echo.url}/binary", timeout=5).content == b"\x00\x01"


def test_failing_handler_is_a_502_without_internals(echo: RunningGateway) -> None:
    answer = requests.get(f"{echo.url}/boom", timeout=5)
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in answer.text
    assert "Traceback" not in answer.text


def test_requests_are_served_concurrently(echo: RunningGateway) -> None:
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: requests.get(f"{echo.url}/{i}", timeout=10), range(64)))
    codes = [a.status_code for a in answers]
    assert codes == [207] * 64


def test_preflights_never_reach_the_function_and_other_requests_do() -> None:
    calls: list[str] = []

    def handler(event: Mapping[str, Any], context: Any) -> Mapping[str, Any]:
        calls.append(event["requestContext"]["http"]["method"])
        return {"statusCode": 204, "headers": {}, "body": ""}

    running = start_gateway(handler, cors=CORS)
    try:
        preflight = requests.options(
            f"{running.url}/models",
            headers={"Origin": SITE, "Access-Control-Request-Method": "GET"},
            timeout=5,
        )
        plain = requests.options(f"{running.url}/models", timeout=5)
    finally:
        running.stop()
    assert _acao(preflight) == ["*"]
    assert plain.status_code == 204
    assert calls == ["OPTIONS"]  # only the request without preflight headers


def test_a_function_that_adds_cors_itself_shows_the_duplicate_a_browser_refuses() -> None:
    # What happened in AWS while the handler and the Function URL both set the header.
    def handler(event: Mapping[str, Any], context: Any) -> Mapping[str, Any]:
        return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}, "body": ""}

    running = start_gateway(
        handler, cors=FunctionUrlCors(allow_origins=(SITE,), allow_methods=("GET",))
    )
    try:
        answer = requests.get(f"{running.url}/models", headers={"Origin": SITE}, timeout=5)
    finally:
        running.stop()
    assert _acao(answer) == ["*", SITE]


def test_a_client_that_never_sends_its_body_is_let_go(
    echo: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A declared body that never arrives frees its connection after the gateway's timeout."""
    import socket

    from localaws import gateway

    assert 0 < gateway._RequestHandler.timeout <= 60  # seconds; shortened for the test
    monkeypatch.setattr(gateway._RequestHandler, "timeout", 0.5)
    host, port = echo.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as stalled:
        stalled.sendall(
            b"POST /feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        # Other clients are answered meanwhile, and the stalled one is closed, not kept.
        assert requests.get(f"{echo.url}/models", timeout=5).status_code == 207
        assert stalled.recv(65536) == b""
