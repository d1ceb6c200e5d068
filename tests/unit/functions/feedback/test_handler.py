"""The feedback handler's answers that need no registry or bucket: routes, methods, bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from functions.feedback.handler import FeedbackApi
from mlops_settings import Settings
from support.feedback import correction, feedback_event

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def api() -> Handler:
    # The endpoint is never reached: every request here is refused before any AWS call.
    settings = Settings(endpoint_url="http://127.0.0.1:9")
    feedback = FeedbackApi(settings)
    return lambda event: feedback(event, None)


def _error(answer: dict[str, Any]) -> dict[str, str]:
    assert answer["headers"]["Content-Type"] == "application/json"
    assert "Traceback" not in answer["body"]
    return dict(json.loads(answer["body"])["error"])


def test_options_answers_allow(api: Handler) -> None:
    answer = api(feedback_event("", method="OPTIONS"))
    assert answer["statusCode"] == 204
    assert answer["headers"]["Allow"] == "POST, OPTIONS"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD"])
def test_other_methods_are_a_405(api: Handler, method: str) -> None:
    answer = api(feedback_event(json.dumps(correction()), method=method))
    assert answer["statusCode"] == 405
    assert _error(answer)["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/", "/feedback/", "/feedback/x", "/models", ""])
def test_other_paths_are_a_404(api: Handler, path: str) -> None:
    answer = api(feedback_event(json.dumps(correction()), path=path))
    assert answer["statusCode"] == 404


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data"])
def test_a_body_that_is_not_json_is_a_415(api: Handler, content_type: str | None) -> None:
    answer = api(feedback_event(json.dumps(correction()), content_type=content_type))
    assert answer["statusCode"] == 415
    assert "application/json" in _error(answer)["message"]


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_a_large_body_is_a_413(api: Handler, base64_encoded: bool) -> None:
    answer = api(feedback_event("x" * 5000, base64_encoded=base64_encoded))
    assert answer["statusCode"] == 413
    assert _error(answer)["code"] == "payload_too_large"


def test_a_base64_encoded_body_is_decoded_before_it_is_checked(api: Handler) -> None:
    answer = api(feedback_event(json.dumps({**correction(), "label": 12}), base64_encoded=True))
    assert answer["statusCode"] == 400
    assert "label" in _error(answer)["message"]


def test_a_malformed_correction_is_a_400_naming_the_member(api: Handler) -> None:
    answer = api(feedback_event(json.dumps({**correction(), "extra": 1})))
    assert answer["statusCode"] == 400
    error = _error(answer)
    assert error["code"] == "invalid_feedback"
    assert "extra" in error["message"]


def test_an_event_that_is_not_a_mapping_is_answered(api: Handler) -> None:
    answer = api("nonsense")  # type: ignore[arg-type]
    assert answer["statusCode"] == 404


@pytest.mark.parametrize("text", ["\ud800", '{"label": "\udcff"}', "\x00", "caf\u00e9"])
def test_text_that_is_not_a_correction_is_a_400_never_a_500(api: Handler, text: str) -> None:
    event = {**feedback_event(""), "body": text}
    answer = api(event)
    assert answer["statusCode"] == 400
    assert _error(answer)["code"] == "invalid_feedback"
