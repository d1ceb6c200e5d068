"""The local Function URL gateway's event translation and rate limit (no server)."""

from __future__ import annotations

import base64

import pytest

from localaws.gateway import TokenBuckets, function_url_event


def test_event_is_function_url_payload_format_2() -> None:
    event = function_url_event(
        "get",
        "/models?limit=5&next_token=a%2Bb&limit=6",
        {"Origin": "http://localhost:5173", "X-Twice": "1", "x-twice": "2"},
    )
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/models"
    assert event["rawQueryString"] == "limit=5&next_token=a%2Bb&limit=6"
    assert event["queryStringParameters"] == {"limit": "5,6", "next_token": "a+b"}
    assert event["headers"]["origin"] == "http://localhost:5173"
    assert event["headers"]["x-twice"] == "1,2"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["path"] == "/models"
    assert event["isBase64Encoded"] is False
    assert "body" not in event


def test_event_without_query_has_no_query_parameters() -> None:
    event = function_url_event("GET", "/models", {})
    assert "queryStringParameters" not in event
    assert event["rawQueryString"] == ""


def test_binary_body_is_base64_and_text_body_is_text() -> None:
    binary = function_url_event("POST", "/x", {"Content-Type": "image/png"}, b"\x89PNG\x00")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x89PNG\x00"
    text = function_url_event("POST", "/x", {"Content-Type": "application/json"}, b'{"a":1}')
    assert text == {**text, "body": '{"a":1}', "isBase64Encoded": False}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_burst_then_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=6, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [None] * 3
    assert buckets.take("a") == 10  # one token every 10 s
    clock.now = 9.0
    assert buckets.take("a") == 1
    clock.now = 10.0
    assert buckets.take("a") is None
    assert buckets.take("a") == 10


def test_clients_have_their_own_buckets() -> None:
    buckets = TokenBuckets(per_minute=1, burst=1, clock=Clock())
    assert buckets.take("a") is None
    assert buckets.take("a") is not None
    assert buckets.take("b") is None


def test_an_idle_client_refills_to_its_burst_only() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock)
    clock.now = 3600.0
    assert [buckets.take("a") is None for _ in range(3)] == [True, True, False]


def test_memory_stays_bounded_by_forgetting_refilled_clients() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=1, clock=clock, max_clients=100)
    for n in range(100):
        buckets.take(f"client-{n}")
    clock.now = 5.0  # all of them have refilled
    buckets.take("one-more")
    assert len(buckets._buckets) <= 2


@pytest.mark.parametrize(("per_minute", "burst"), [(0, 1), (-1, 5), (5, 0)])
def test_a_limit_that_allows_nothing_is_refused(per_minute: float, burst: int) -> None:
    with pytest.raises(ValueError, match="per_minute"):
        TokenBuckets(per_minute, burst)
