"""The emulator's S3 answers CORS as S3 does: only to a matching Origin, with Vary, and
preflights from the bucket's rules (moto alone allows every origin on everything)."""

from __future__ import annotations

import boto3
import pytest
import requests

from mlops_settings import Settings

SITE = "https://site.example"


@pytest.fixture
def presigned(emulator: Settings) -> str:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="cors-models")
    s3.put_object(Bucket="cors-models", Key="m.onnx", Body=b"model bytes")
    s3.put_bucket_cors(
        Bucket="cors-models",
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedMethods": ["GET", "HEAD"],
                    "AllowedOrigins": [SITE],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["Content-Length", "ETag"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        },
    )
    url: str = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "cors-models", "Key": "m.onnx"}, ExpiresIn=300
    )
    return url


def cors_of(answer: requests.Response) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.lower().startswith("access-control-")}


def test_no_origin_no_cors_headers_and_no_vary(presigned: str) -> None:
    answer = requests.get(presigned, timeout=10)
    assert answer.content == b"model bytes"
    assert cors_of(answer) == {}
    assert "Origin" not in answer.headers.get("Vary", "")


def test_the_sites_origin_is_allowed_with_vary(presigned: str) -> None:
    answer = requests.get(presigned, headers={"Origin": SITE}, timeout=10)
    assert answer.content == b"model bytes"
    assert answer.headers["Access-Control-Allow-Origin"] == SITE
    assert answer.headers["Access-Control-Expose-Headers"] == "Content-Length, ETag"
    assert answer.headers["Vary"].startswith("Origin")


def test_another_origin_is_not_allowed(presigned: str) -> None:
    answer = requests.get(presigned, headers={"Origin": "https://evil.example"}, timeout=10)
    assert answer.status_code == 200  # S3 serves it; the browser refuses to hand it over
    assert cors_of(answer) == {}
    assert answer.headers["Vary"].startswith("Origin")


def test_preflights_follow_the_buckets_rules(presigned: str, emulator_url: str) -> None:
    url = presigned.split("?")[0]
    ok = requests.options(
        url,
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
        timeout=10,
    )
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == SITE
    assert ok.headers["Access-Control-Allow-Headers"] == "range"
    assert ok.headers["Access-Control-Max-Age"] == "3600"
    refused = requests.options(
        url, headers={"Origin": SITE, "Access-Control-Request-Method": "PUT"}, timeout=10
    )
    assert refused.status_code == 403
    assert "This CORS request is not allowed" in refused.text
    assert cors_of(refused) == {}
    boto3.client("s3").create_bucket(Bucket="cors-none")
    none = requests.options(
        f"{emulator_url}/cors-none/x",
        headers={"Origin": SITE, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert none.status_code == 403
    assert "CORS is not enabled for this bucket" in none.text


def test_other_services_send_no_cors_headers(emulator: Settings, emulator_url: str) -> None:
    client = boto3.client("sagemaker")
    answers: list[requests.Response] = []

    def add_origin(request: object, **_: object) -> None:
        request.headers["Origin"] = SITE  # type: ignore[attr-defined]

    client.meta.events.register("before-sign.sagemaker.*", add_origin)
    client.meta.events.register(
        "after-call.sagemaker.*", lambda http_response, **_: answers.append(http_response)
    )
    client.list_model_package_groups()
    assert answers
    assert not [h for h in answers[0].headers if h.lower().startswith("access-control-")]
