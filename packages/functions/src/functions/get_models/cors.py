"""Cross-origin rules for the model bucket's downloads.

The browser calls the API from the site's origin and then fetches the ONNX file straight
from S3 with the presigned URL, so both answers need CORS headers for that origin. The API's
CORS belongs to its Function URL alone (contracts/api-cors.json, applied by Terraform in AWS
and by the local gateway): the handler adds no CORS header, because a browser refuses an
answer that carries `Access-Control-Allow-Origin` twice. "*" in the allowed origins means any
origin (the local target only).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PREFLIGHT_MAX_AGE_SECONDS = 600


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
