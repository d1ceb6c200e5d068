"""The `get_models` Lambda handler (Function URL, payload format 2.0).

Routes:
    GET /models?limit=&next_token=   approved versions, newest first, one page
    GET /models/{version}            one approved version, or 404
    OPTIONS on both                  204 with `Allow` (the Function URL answers CORS preflights)

The API's shape is contracts/openapi.yaml. Every answer is JSON; an error is
`{"error": {"code", "message"}}` and never carries a stack trace. One JSON log line is
written per request. CORS headers are the Function URL's to add (functions.get_models.cors).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import boto3
from botocore.config import Config

from functions.function_url import (
    CLIENT_CONFIG,
    ApiError,
    answer,
    json_response,
    log_line,
)
from functions.get_models.download import DownloadSigner, parse_s3_uri
from functions.get_models.paging import InvalidPageTokenError, decode_page_token, encode_page_token
from functions.get_models.registry import (
    ANSWER_CACHE_SECONDS,
    ModelRegistry,
    ModelVersion,
    RegistryTokenRejectedError,
)
from mlops_settings import Settings, load_settings

__all__ = ["ApiError", "ModelsApi", "handler", "parse_limit", "parse_version"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
ALLOW = "GET, OPTIONS"

_VERSION = re.compile(r"^[1-9][0-9]{0,8}$")
_LIMIT = re.compile(r"^[0-9]{1,3}$")


def parse_limit(value: str | None) -> int:
    """The page size from the `limit` query value (default 20).

    Raises:
        ApiError: 400 invalid_limit unless it is a whole number 1..100.
    """
    if value is None:
        return DEFAULT_LIMIT
    if not _LIMIT.match(value) or not 1 <= int(value) <= MAX_LIMIT:
        shown = value if len(value) <= 20 else value[:20] + "..."
        raise ApiError(
            400, "invalid_limit", f"limit must be a whole number from 1 to 100, got {shown!r}"
        )
    return int(value)


def parse_version(value: str) -> int:
    """The version number of `/models/{version}`.

    Raises:
        ApiError: 400 invalid_version unless it is a positive whole number.
    """
    if not _VERSION.match(value):
        shown = value if len(value) <= 20 else value[:20] + "..."
        raise ApiError(
            400, "invalid_version", f"version must be a positive whole number, got {shown!r}"
        )
    return int(value)


def _query(event: Mapping[str, Any]) -> dict[str, str]:
    params = event.get("queryStringParameters")
    if isinstance(params, Mapping):
        return {str(k): str(v) for k, v in params.items()}
    raw = event.get("rawQueryString") or ""
    query: dict[str, str] = {}
    for key, value in parse_qsl(str(raw), keep_blank_values=True):
        # Function URLs join repeated parameters with commas; do the same.
        query[key] = f"{query[key]},{value}" if key in query else value
    return query


class ModelsApi:
    """The API over one registry group and one model bucket's download URLs."""

    def __init__(
        self,
        settings: Settings,
        session: boto3.session.Session | None = None,
        *,
        cache_seconds: float = ANSWER_CACHE_SECONDS,
    ) -> None:
        """Create the registry and S3 clients (no network calls yet).

        Args:
            settings: where the registry group and model bucket are.
            session: the boto3 session to use; a new one by default (tests share one, because
                loading the SageMaker service model takes a noticeable part of a second).
            cache_seconds: how long a registry answer is reused (0: never).
        """
        session = session or boto3.session.Session(region_name=settings.region)
        sagemaker = session.client(
            "sagemaker",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=CLIENT_CONFIG,
        )
        s3 = session.client(
            "s3",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=CLIENT_CONFIG.merge(Config(signature_version="s3v4")),
        )
        self.settings = settings
        self.registry = ModelRegistry(
            sagemaker, settings.model_package_group, answer_cache_seconds=cache_seconds
        )
        self.signer = DownloadSigner(
            s3, session.get_credentials(), settings.download_url_expiry_seconds
        )

    def __call__(self, event: Mapping[str, Any], context: Any = None) -> dict:
        """Answer one Function URL event (payload format 2.0)."""
        return answer(
            event,
            context,
            lambda request, log: self._route(
                request.method, request.path, _query(request.event), request.headers, log
            ),
            unavailable="the model registry cannot be reached right now; retry in a moment",
            log={"registry_calls": 0},
        )

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        log: dict[str, Any],
    ) -> dict:
        parts = path.split("/")
        if len(parts) == 2 and parts[1] == "models":
            version: str | None = None
        elif len(parts) == 3 and parts[1] == "models" and parts[2]:
            version = parts[2]
        else:
            raise ApiError(404, "not_found", "no such route; try GET /models")
        if method not in ("GET", "OPTIONS"):
            raise ApiError(
                405,
                "method_not_allowed",
                f"{method[:20]} is not allowed here; use GET",
                {"Allow": ALLOW},
            )
        number = None if version is None else parse_version(version)
        if method == "OPTIONS":
            return {
                "statusCode": 204,
                "headers": {"Allow": ALLOW},
                "body": "",
                "isBase64Encoded": False,
            }
        if number is None:
            return self._list(query, log)
        return self._get(number, log)

    def _with_download(self, model: ModelVersion) -> dict[str, Any]:
        bucket, key = parse_s3_uri(model.model_data_url)
        signed = self.signer.sign(bucket, key)
        return {
            **model.to_json(),
            "download_url": signed.url,
            "download_url_expires_at": signed.expires_at.isoformat().replace("+00:00", "Z"),
        }

    def _list(self, query: dict[str, str], log: dict[str, Any]) -> dict:
        limit = parse_limit(query.get("limit"))
        raw_token = query.get("next_token")
        group = self.registry.group
        registry_token = None
        if raw_token is not None:
            try:
                registry_token = decode_page_token(raw_token, scope=group)
            except InvalidPageTokenError as exc:
                raise ApiError(400, "invalid_next_token", str(exc)) from None
        try:
            page = self.registry.page(limit, registry_token)
        except RegistryTokenRejectedError:
            raise ApiError(
                400,
                "invalid_next_token",
                "next_token is no longer valid (the listing changed); start again without it",
            ) from None
        log["registry_calls"] = page.registry_calls
        log["count"] = len(page.versions)
        if page.skipped:
            log["skipped_entries"] = list(page.skipped)
        next_token = (
            encode_page_token(page.registry_token, scope=group) if page.registry_token else None
        )
        body = {"models": [self._with_download(m) for m in page.versions], "next_token": next_token}
        return json_response(200, body)

    def _get(self, version: int, log: dict[str, Any]) -> dict:
        model, calls, not_served = self.registry.get(version)
        log["registry_calls"] = calls
        if model is None:
            log["not_served"] = not_served.why if not_served else None
            raise ApiError(
                404,
                "not_found",
                f"model version {version} is not an approved version",
                reason=not_served.reason if not_served else None,
            )
        return json_response(200, self._with_download(model))


_api: ModelsApi | None = None


def handler(event: Mapping[str, Any], context: Any = None) -> dict:
    """The Lambda entry point: `functions.get_models.handler.handler`."""
    global _api  # one API (clients, caches) per warm Lambda container
    if _api is None:
        try:
            _api = ModelsApi(load_settings())
        except Exception as exc:
            log_line(level="error", message="startup failed", cause=str(exc))
            return json_response(
                500,
                {"error": {"code": "internal_error", "message": "the API is misconfigured"}},
            )
    return _api(event, context)
