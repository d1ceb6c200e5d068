"""Presigned (SigV4) download URLs for model files in S3.

botocore's `generate_presigned_url` resolves the endpoint through its rules engine on every
call (about a millisecond each), which is most of a page's latency when a page holds 20
versions. So the endpoint is resolved once per bucket by botocore itself, and each URL is
then only signed, with botocore's own S3 query signer: the URL is the same one
`generate_presigned_url` would give (a test checks this).

Signing still costs a fraction of a millisecond per URL, so a signed URL is handed out again
while it has at least 90% of its lifetime left (`REUSE_FRACTION`): every answer's URL stays
valid for nearly the configured expiry, and `expires_at` is always its true expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.auth import SIGV4_TIMESTAMP, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest

MAX_EXPIRY_SECONDS = 900
REUSE_FRACTION = 0.1
MAX_CACHED_URLS = 4096
_PROBE_KEY = "probe"


@dataclass(frozen=True)
class DownloadUrl:
    """A presigned GET URL and the moment it stops working."""

    url: str
    expires_at: datetime
    signed_at: datetime


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split `s3://bucket/key` into (bucket, key).

    Raises:
        ValueError: the URI is not an s3:// URI with a bucket and a key.
    """
    parts = urlsplit(uri)
    key = parts.path.lstrip("/")
    if parts.scheme != "s3" or not parts.netloc or not key or parts.query or parts.fragment:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    return parts.netloc, key


class DownloadSigner:
    """Signs GET URLs of S3 objects with the S3 client's credentials, region and endpoint."""

    def __init__(
        self,
        s3_client: Any,
        credentials: Any,
        expiry_seconds: int,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Sign with `credentials` (a botocore Credentials object, refreshed as needed).

        Args:
            s3_client: the S3 client whose endpoint and region the URLs use.
            credentials: the credentials of the session that made `s3_client`.
            expiry_seconds: lifetime of each URL, at most 15 minutes.
            now: the current time (for tests).
        """
        if not 1 <= expiry_seconds <= MAX_EXPIRY_SECONDS:
            raise ValueError(f"expiry must be 1..{MAX_EXPIRY_SECONDS} s, got {expiry_seconds}")
        self._s3 = s3_client
        self._credentials = credentials
        self._expiry = expiry_seconds
        self._region = s3_client.meta.region_name
        self._bases: dict[str, str] = {}
        self._now = now
        self._reuse_for = timedelta(seconds=int(expiry_seconds * REUSE_FRACTION))
        self._signed: dict[tuple[str, str], DownloadUrl] = {}

    def _base_url(self, bucket: str) -> str:
        # Let botocore decide the addressing style and endpoint for this bucket once.
        base = self._bases.get(bucket)
        if base is None:
            probe = self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": _PROBE_KEY}, ExpiresIn=1
            )
            base = probe.split("?", 1)[0][: -len(_PROBE_KEY)]
            self._bases[bucket] = base
        return base

    def sign(self, bucket: str, key: str) -> DownloadUrl:
        """A presigned GET URL of s3://bucket/key, valid for at least 90% of the expiry."""
        reusable = self._signed.get((bucket, key))
        if reusable is not None and self._now() < reusable.signed_at + self._reuse_for:
            return reusable
        signed = self._sign(bucket, key)
        if len(self._signed) >= MAX_CACHED_URLS:
            self._signed.clear()
        self._signed[(bucket, key)] = signed
        return signed

    def _sign(self, bucket: str, key: str) -> DownloadUrl:
        if self._credentials is None:
            raise RuntimeError("no AWS credentials to sign download URLs with")
        frozen = self._credentials.get_frozen_credentials()
        request = AWSRequest(method="GET", url=self._base_url(bucket) + quote(key, safe="/~"))
        S3SigV4QueryAuth(frozen, "s3", self._region, expires=self._expiry).add_auth(request)
        signed_at = datetime.strptime(request.context["timestamp"], SIGV4_TIMESTAMP)
        signed_at = signed_at.replace(tzinfo=UTC)
        expires_at = signed_at + timedelta(seconds=self._expiry)
        return DownloadUrl(url=str(request.url), expires_at=expires_at, signed_at=signed_at)
