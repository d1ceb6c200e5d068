"""What CloudFront sends a viewer for an object of the site bucket: compressed or as stored.

The site's distribution compresses (`compress = true` in terraform/cloudfront.tf, with the
managed CachingOptimized policy, which accepts gzip and Brotli). The rules are AWS's (CloudFront
Developer Guide, "Serve compressed files": "Conditions for compression" and "File types that
CloudFront compresses"):

- an object whose origin response already has a ``Content-Encoding`` is passed on as stored;
- otherwise CloudFront compresses only objects of 1,000 to 10,000,000 bytes, of the listed
  content types, for a viewer whose ``Accept-Encoding`` names gzip or br (Brotli first).

`playground site serve` answers with the same rules, so what a local visitor transfers is
what a visitor of the deployed site transfers; tests/integration/web/test_deploy.py sums it
over what web/deploy.sh uploads.
"""

from __future__ import annotations

import gzip

MIN_COMPRESSED_BYTES = 1_000
MAX_COMPRESSED_BYTES = 10_000_000

# "File types that CloudFront compresses" (the Content-Type without parameters).
COMPRESSED_TYPES = frozenset(
    {
        "application/dash+xml",
        "application/eot",
        "application/font",
        "application/font-sfnt",
        "application/javascript",
        "application/json",
        "application/opentype",
        "application/otf",
        "application/pdf",
        "application/pkcs7-mime",
        "application/protobuf",
        "application/rss+xml",
        "application/truetype",
        "application/ttf",
        "application/vnd.apple.mpegurl",
        "application/vnd.mapbox-vector-tile",
        "application/vnd.ms-fontobject",
        "application/wasm",
        "application/xhtml+xml",
        "application/xml",
        "application/x-font-opentype",
        "application/x-font-truetype",
        "application/x-font-ttf",
        "application/x-httpd-cgi",
        "application/x-javascript",
        "application/x-mpegurl",
        "application/x-opentype",
        "application/x-otf",
        "application/x-perl",
        "application/x-ttf",
        "font/eot",
        "font/opentype",
        "font/otf",
        "font/ttf",
        "image/svg+xml",
        "text/css",
        "text/csv",
        "text/html",
        "text/javascript",
        "text/js",
        "text/plain",
        "text/richtext",
        "text/tab-separated-values",
        "text/xml",
        "text/x-component",
        "text/x-java-source",
        "text/x-script",
    }
)

# CloudFront does not say which gzip level it uses; zlib's default is the common choice.
GZIP_LEVEL = 6


def compresses(content_type: str | None, content_encoding: str | None, size: int) -> bool:
    """Whether CloudFront compresses this object for a viewer that accepts gzip.

    Args:
        content_type: the object's Content-Type (parameters such as charset are ignored).
        content_encoding: the object's Content-Encoding, if it was stored with one.
        size: the object's stored size in bytes.
    """
    if content_encoding:
        return False
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type in COMPRESSED_TYPES and MIN_COMPRESSED_BYTES <= size <= MAX_COMPRESSED_BYTES


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header admits gzip (``gzip;q=0`` refuses it)."""
    for item in (accept_encoding or "").split(","):
        name, *params = (part.strip() for part in item.split(";"))
        if name.lower() not in {"gzip", "*"}:
            continue
        weights = [p.removeprefix("q=") for p in params if p.startswith("q=")]
        try:
            return not weights or float(weights[0]) > 0
        except ValueError:
            return False
    return False


def gzip_bytes(body: bytes) -> bytes:
    """``body`` gzip-compressed as a compressing CDN would (level `GZIP_LEVEL`, no timestamp)."""
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


def viewer_bytes(body: bytes, content_type: str | None, content_encoding: str | None) -> int:
    """The body bytes a browser receives for this object (it accepts gzip and Brotli).

    Objects CloudFront compresses are counted gzip-compressed: over HTTPS browsers get Brotli,
    which is smaller, so the figure is an upper bound.
    """
    if compresses(content_type, content_encoding, len(body)):
        return len(gzip_bytes(body))
    return len(body)
