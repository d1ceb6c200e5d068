"""The `feedback` Lambda handler (Function URL, payload format 2.0).

Routes:
    POST /feedback      a correction (contracts/feedback.md) → 202 {"id", "duplicate"}
    OPTIONS /feedback   204 with `Allow` (the Function URL answers CORS preflights itself)

The order of checks puts the cheap ones first, so abuse costs the least: method and path,
content type (415), size (413), the body's shape (400 `invalid_feedback`), then one registry
read (cached per warm container) for the version (400 `unknown_model_version`), and only then
one conditional S3 write. A refused request stores nothing; a repeated correction is stored
once (`If-None-Match: *` on a content-addressed key). Nothing that identifies the person
(address, user agent) is stored or logged.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from functions.feedback.correction import (
    Correction,
    check_content_type,
    check_size,
    parse_correction,
)
from functions.function_url import (
    CLIENT_CONFIG,
    ApiError,
    Request,
    answer,
    json_response,
    log_line,
)
from functions.get_models.registry import ANSWER_CACHE_SECONDS, ModelRegistry
from mlops_settings import Settings, load_settings

PATH = "/feedback"
ALLOW = "POST, OPTIONS"
# S3 answers these when the key already exists (412) or a write of the same key is still in
# flight (409); both mean this correction is, or is about to be, stored.
_ALREADY_STORED = {"PreconditionFailed", "ConditionalRequestConflict"}


def _body(event: Mapping[str, Any]) -> bytes:
    raw = event.get("body")
    if raw is None:
        return b""
    text = str(raw)
    # Sized before decoding, so a huge body costs no work: base64 is 4/3 of the bytes.
    if event.get("isBase64Encoded"):
        check_size(len(text) * 3 // 4)
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            raise ApiError(400, "invalid_feedback", "the body is not readable") from None
    check_size(len(text))
    # A lone surrogate cannot be UTF-8: it becomes U+FFFD, and the JSON check refuses it.
    return text.encode("utf-8", errors="replace")


class FeedbackApi:
    """Checks corrections against the registry and stores them in the quarantine prefix."""

    def __init__(
        self,
        settings: Settings,
        session: boto3.session.Session | None = None,
        *,
        cache_seconds: float = ANSWER_CACHE_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Create the registry and S3 clients (no network calls yet).

        Args:
            settings: the data bucket and the registry group.
            session: the boto3 session to use; a new one by default.
            cache_seconds: how long a registry answer about a version is reused (0: never).
            clock: the time written as `received_at`.
        """
        session = session or boto3.session.Session(region_name=settings.region)
        sagemaker = session.client(
            "sagemaker",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=CLIENT_CONFIG,
        )
        self.s3 = session.client(
            "s3",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=CLIENT_CONFIG,
        )
        self.bucket = settings.data_bucket
        self.registry = ModelRegistry(
            sagemaker, settings.model_package_group, answer_cache_seconds=cache_seconds
        )
        self.clock = clock

    def __call__(self, event: Mapping[str, Any], context: Any = None) -> dict:
        """Answer one Function URL event (payload format 2.0)."""
        return answer(
            event,
            context,
            self._route,
            unavailable="the model registry or the storage cannot be reached right now; "
            "retry in a moment",
        )

    def _route(self, request: Request, log: dict[str, Any]) -> dict:
        if request.path != PATH:
            raise ApiError(404, "not_found", "no such route; try POST /feedback")
        if request.method == "OPTIONS":
            return {
                "statusCode": 204,
                "headers": {"Allow": ALLOW},
                "body": "",
                "isBase64Encoded": False,
            }
        if request.method != "POST":
            raise ApiError(
                405,
                "method_not_allowed",
                f"{request.method[:20]} is not allowed here; use POST",
                {"Allow": ALLOW},
            )
        check_content_type(request.headers.get("content-type"))
        body = _body(request.event)
        check_size(len(body))
        correction = parse_correction(body)
        self._check_version(correction)
        duplicate = self._store(correction)
        log.update(sample_id=correction.sample_id, duplicate=duplicate, label=correction.label)
        return json_response(202, {"id": correction.sample_id, "duplicate": duplicate})

    def _check_version(self, correction: Correction) -> None:
        """Refuse a correction for a model this API does not serve.

        Raises:
            ApiError: 400 unknown_model_version (not approved now, or another file or spec).
        """
        version = correction.model_version
        model, _, _ = self.registry.get(version)
        if model is None:
            raise ApiError(
                400, "unknown_model_version", f"model version {version} is not an approved version"
            )
        if model.sha256 != correction.model_sha256:
            raise ApiError(
                400,
                "unknown_model_version",
                f"model_sha256 is not the sha256 of model version {version}'s file",
            )
        if model.input_spec_version != correction.input_spec_version:
            raise ApiError(
                400,
                "unknown_model_version",
                f"input_spec_version {correction.input_spec_version} is not model version "
                f"{version}'s ({model.input_spec_version})",
            )

    def _store(self, correction: Correction) -> bool:
        """Write the sample unless it is there; True when it was already stored."""
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=correction.key,
                Body=correction.stored_object(self.clock()),
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _ALREADY_STORED:
                return True
            raise
        return False


_api: FeedbackApi | None = None


def handler(event: Mapping[str, Any], context: Any = None) -> dict:
    """The Lambda entry point: `functions.feedback.handler.handler`."""
    global _api  # one API (clients, registry cache) per warm Lambda container
    if _api is None:
        try:
            _api = FeedbackApi(load_settings())
        except Exception as exc:
            log_line(level="error", message="startup failed", cause=str(exc))
            return json_response(
                500,
                {"error": {"code": "internal_error", "message": "the API is misconfigured"}},
            )
    return _api(event, context)
