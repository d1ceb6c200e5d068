"""Cross-origin rules: for the API's responses and for the model bucket's downloads.

The browser calls the API from the site's origin and then fetches the ONNX file straight
from S3 with the presigned URL, so both answers need CORS headers for that origin. "*" in the
allowed origins means any origin (the local target only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ANY_ORIGIN = "*"
ALLOWED_METHODS = "GET, OPTIONS"
PREFLIGHT_MAX_AGE_SECONDS = 600


def cors_headers(origin: str | None, allowed_origins: Iterable[str]) -> dict[str, str]:
    """Headers that let `origin` read a response, or only `Vary` when it may not."""
    allowed = tuple(allowed_origins)
    if ANY_ORIGIN in allowed:
        return {"Access-Control-Allow-Origin": ANY_ORIGIN}
    if origin is not None and origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


def preflight_headers(
    origin: str | None, allowed_origins: Iterable[str], request_headers: Mapping[str, str]
) -> dict[str, str]:
    """Headers of the answer to an OPTIONS preflight."""
    headers = cors_headers(origin, allowed_origins)
    if "Access-Control-Allow-Origin" in headers:
        headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        asked = request_headers.get("access-control-request-headers")
        headers["Access-Control-Allow-Headers"] = asked if asked else "Content-Type"
        headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return headers


def model_bucket_cors_rules(origins: Iterable[str]) -> list[dict[str, Any]]:
    """CORS rules for the model bucket so the site's origins can GET model files."""
    allowed = sorted(set(origins))
    if not allowed:
        raise ValueError("at least one origin is needed")
    return [
        {
            "ID": "browser-downloads-models",
            "AllowedOrigins": allowed,
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["Content-Length", "ETag"],
            "MaxAgeSeconds": PREFLIGHT_MAX_AGE_SECONDS,
        }
    ]


def put_model_bucket_cors(s3_client: Any, bucket: str, origins: Iterable[str]) -> None:
    """Put `model_bucket_cors_rules(origins)` on `bucket` (replaces its CORS configuration)."""
    s3_client.put_bucket_cors(
        Bucket=bucket, CORSConfiguration={"CORSRules": model_bucket_cors_rules(origins)}
    )
