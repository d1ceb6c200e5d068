from __future__ import annotations

import pytest

from functions.get_models.cors import (
    cors_headers,
    model_bucket_cors_rules,
    preflight_headers,
)


def test_any_origin_only_with_the_wildcard() -> None:
    assert cors_headers("https://a.example", ["*"]) == {"Access-Control-Allow-Origin": "*"}
    assert cors_headers("https://a.example", ["https://b.example"]) == {"Vary": "Origin"}
    assert cors_headers(None, ["https://b.example"]) == {"Vary": "Origin"}


def test_preflight_allows_get_for_an_allowed_origin() -> None:
    headers = preflight_headers(
        "https://a.example", ["https://a.example"], {"access-control-request-headers": "x-y"}
    )
    assert headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert headers["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    assert headers["Access-Control-Allow-Headers"] == "x-y"


def test_bucket_rules_need_an_origin() -> None:
    with pytest.raises(ValueError, match="at least one origin"):
        model_bucket_cors_rules([])
