"""CORS of the model bucket as a browser meets it: the emulator's S3 answers a fetch."""

from __future__ import annotations

import boto3
import requests

from functions.get_models.cors import (
    put_model_bucket_cors,
)
from functions.get_models.fixtures import register_model
from mlops_settings import Settings


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
