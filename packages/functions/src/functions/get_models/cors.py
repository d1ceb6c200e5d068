"""Cross-origin rules for the model bucket's downloads.

The browser calls the API from the site's origin and then fetches the ONNX file straight
from S3 with the presigned URL, so both answers need CORS headers for that origin. The API's
CORS belongs to its Function URL alone (contracts/api-cors.json, applied by Terraform in AWS
and by the local gateway): the handler adds no CORS header, because a browser refuses an
answer that carries `Access-Control-Allow-Origin` twice. "*" in the allowed origins means any
origin (the local target only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The rule itself (methods, headers, preflight max age) is written once, in the contract
# Terraform's aws_s3_bucket_cors_configuration reads too; only the origins differ per stack.
CONTRACT = Path(__file__).resolve().parents[5] / "contracts" / "model-bucket-cors.json"


def model_bucket_cors_rules(origins: Iterable[str]) -> list[dict[str, Any]]:
    """CORS rules for the model bucket so the site's origins can GET model files.

    Args:
        origins: the site origins allowed ("*" for any: the local target only).

    Returns:
        S3's `CORSRules` (one rule), everything but the origins from
        contracts/model-bucket-cors.json.

    Raises:
        ValueError: no origin given.
    """
    allowed = sorted(set(origins))
    if not allowed:
        raise ValueError("at least one origin is needed")
    rule = json.loads(CONTRACT.read_text())
    return [
        {
            "ID": rule["id"],
            "AllowedOrigins": allowed,
            "AllowedMethods": list(rule["allowed_methods"]),
            "AllowedHeaders": list(rule["allowed_headers"]),
            "ExposeHeaders": list(rule["expose_headers"]),
            "MaxAgeSeconds": int(rule["max_age_seconds"]),
        }
    ]


def put_model_bucket_cors(s3_client: Any, bucket: str, origins: Iterable[str]) -> None:
    """Put `model_bucket_cors_rules(origins)` on `bucket` (replaces its CORS configuration)."""
    s3_client.put_bucket_cors(
        Bucket=bucket, CORSConfiguration={"CORSRules": model_bucket_cors_rules(origins)}
    )
