"""The get_models handler's answers that need no registry: bad input, unknown routes, methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Answer = Any
Call = Callable[..., Answer]


@pytest.mark.parametrize(
    "limit", ["0", "101", "-1", "abc", "1.5", "", " 5", "1,2", "9999", "1e2", "0x10"]
)
def test_bad_limit_is_a_400(offline_call: Call, limit: str) -> None:
    answer = offline_call("GET", "/models", {"limit": limit})
    assert answer.status == 400
    assert answer.body["error"]["code"] == "invalid_limit"
    assert "1 to 100" in answer.body["error"]["message"]


@pytest.mark.parametrize("version", ["abc", "0", "-1", "1.0", "01", "1e3", "9999999999", "%31"])
def test_bad_version_is_a_400(offline_call: Call, version: str) -> None:
    answer = offline_call("GET", f"/models/{version}")
    assert answer.status == 400
    assert answer.body["error"]["code"] == "invalid_version"


@pytest.mark.parametrize("path", ["/", "/model", "/models/", "/models/1/x", "/v1/models", ""])
def test_unknown_route_is_a_404(offline_call: Call, path: str) -> None:
    answer = offline_call("GET", path)
    assert answer.status == 404
    assert answer.body["error"]["code"] == "not_found"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD"])
@pytest.mark.parametrize("path", ["/models", "/models/1"])
def test_wrong_method_is_a_405(offline_call: Call, method: str, path: str) -> None:
    answer = offline_call(method, path)
    assert answer.status == 405
    assert answer.body["error"]["code"] == "method_not_allowed"
    assert answer.headers["Allow"] == "GET, OPTIONS"
