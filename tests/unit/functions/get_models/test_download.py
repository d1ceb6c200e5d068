from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from functions.get_models.download import DownloadSigner, parse_s3_uri

FROZEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _s3(endpoint_url: str | None) -> tuple[boto3.session.Session, object]:
    session = boto3.session.Session(
        region_name="eu-west-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token="session-token",
    )
    client = session.client(
        "s3", endpoint_url=endpoint_url, config=Config(signature_version="s3v4")
    )
    return session, client


@pytest.mark.parametrize("endpoint_url", [None, "http://127.0.0.1:45999"])
@pytest.mark.parametrize(
    "key", ["models/mnist/" + "ab" * 32 + "/model.onnx", "odd key/with spaces+plus~.onnx"]
)
def test_signed_url_is_the_one_botocore_would_give(
    monkeypatch: pytest.MonkeyPatch, endpoint_url: str | None, key: str
) -> None:
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: FROZEN.replace(tzinfo=None))
    session, s3 = _s3(endpoint_url)
    signer = DownloadSigner(s3, session.get_credentials(), 300)
    signed = signer.sign("mnist-playground-models", key)
    expected = s3.generate_presigned_url(  # type: ignore[attr-defined]
        "get_object", Params={"Bucket": "mnist-playground-models", "Key": key}, ExpiresIn=300
    )
    assert signed.url == expected
    assert signed.expires_at == datetime(2026, 1, 2, 3, 9, 5, tzinfo=UTC)
    assert "X-Amz-Security-Token=session-token" in signed.url


@pytest.mark.parametrize("expiry", [0, -5, 901, 3600])
def test_expiry_beyond_15_minutes_is_refused(expiry: int) -> None:
    session, s3 = _s3(None)
    with pytest.raises(ValueError, match=r"expiry must be 1\.\.900"):
        DownloadSigner(s3, session.get_credentials(), expiry)


def test_missing_credentials_are_a_clear_error() -> None:
    _, s3 = _s3(None)
    with pytest.raises(RuntimeError, match="no AWS credentials"):
        DownloadSigner(s3, None, 60).sign("bucket-name", "key")


def test_s3_uri_is_split_into_bucket_and_key() -> None:
    assert parse_s3_uri("s3://bucket-name/models/a/model.onnx") == (
        "bucket-name",
        "models/a/model.onnx",
    )


@pytest.mark.parametrize(
    "uri", ["https://bucket/key", "s3://bucket", "s3://bucket/", "s3:///key", "s3://b/k?x=1"]
)
def test_bad_s3_uri_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="not an s3://bucket/key URI"):
        parse_s3_uri(uri)


def test_signed_url_is_reused_while_it_has_90_percent_of_its_life_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [FROZEN]
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: clock[0].replace(tzinfo=None))
    session, s3 = _s3(None)
    signer = DownloadSigner(s3, session.get_credentials(), 300, now=lambda: clock[0])
    first = signer.sign("mnist-playground-models", "models/a/model.onnx")
    clock[0] = FROZEN + timedelta(seconds=29)
    assert signer.sign("mnist-playground-models", "models/a/model.onnx") == first
    assert signer.sign("mnist-playground-models", "models/b/model.onnx") != first
    clock[0] = FROZEN + timedelta(seconds=31)
    renewed = signer.sign("mnist-playground-models", "models/a/model.onnx")
    assert renewed.url != first.url
    assert renewed.expires_at == FROZEN + timedelta(seconds=331)
