"""The local Function URL gateway's event translation (no server)."""

from __future__ import annotations

import base64

from playground.gateway import function_url_event


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
