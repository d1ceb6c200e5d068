from __future__ import annotations

import boto3
import pytest
import requests

from functions.get_models.cors import (
    cors_headers,
    model_bucket_cors_rules,
    preflight_headers,
    put_model_bucket_cors,
)
from functions.get_models.fixtures import register_model
from mlops_settings import Settings


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


def test_browser_fetch_of_a_model_file_gets_cors_headers(emulator: Settings) -> None:
    s3 = boto3.client("s3")
    site = "http://localhost:5173"
    put_model_bucket_cors(s3, emulator.model_bucket, [site])
    rules = s3.get_bucket_cors(Bucket=emulator.model_bucket)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == [site]
    model = register_model(
        boto3.client("sagemaker"),
        s3,
        group=emulator.model_package_group,
        bucket=emulator.model_bucket,
        region=emulator.region,
    )
    key = model.model_data_url.split("/", 3)[3]
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": emulator.model_bucket, "Key": key}, ExpiresIn=60
    )
    preflight = requests.options(
        url, headers={"Origin": site, "Access-Control-Request-Method": "GET"}, timeout=10
    )
    assert preflight.headers.get("Access-Control-Allow-Origin") == site
    fetched = requests.get(url, headers={"Origin": site}, timeout=10)
    assert fetched.status_code == 200
    assert fetched.headers.get("Access-Control-Allow-Origin") == site
