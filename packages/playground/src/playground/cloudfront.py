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
import mimetypes
from dataclasses import dataclass
from pathlib import Path

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


# --- the deployed site, as web/deploy.sh uploads it -------------------------------------------

# web/deploy.sh's `content_type` for the precompressed files (uploaded with that type set).
DEPLOY_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}
# What S3 stores for an object uploaded without a Content-Type (the CLI guessed none).
S3_DEFAULT_TYPE = "binary/octet-stream"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATED = "no-cache"


@dataclass(frozen=True)
class SiteObject:
    """One object of the site bucket after web/deploy.sh.

    Its key, the file whose bytes it holds, and the headers S3 stores with it.
    """

    key: str
    source: Path
    content_type: str
    content_encoding: str | None
    cache_control: str

    def viewer_bytes(self) -> int:
        """What a browser receives for it from CloudFront (see `viewer_bytes`)."""
        return viewer_bytes(self.source.read_bytes(), self.content_type, self.content_encoding)


def deployed_objects(dist: Path) -> list[SiteObject]:
    """The objects web/deploy.sh uploads for the build in ``dist``, sorted by key.

    The same three passes as the script: each ``assets/**/X.gz`` goes to key X with
    ``Content-Encoding: gzip`` and the script's content type for X; every other file of
    ``assets/`` (neither a ``.gz`` nor the plain copy of one) with the type the AWS CLI guesses
    (`mimetypes.guess_type`, as ``aws s3 sync`` does), cached for a year; the files outside
    ``assets/`` (page, service worker, config, icon) the same way, revalidated on every visit.
    tests/integration/web/test_deploy.py holds this equal to what the script stores.

    Raises:
        FileNotFoundError: ``dist`` has no ``index.html`` (the script refuses it too).
        ValueError: a precompressed file whose type the script does not know.
    """
    dist = Path(dist)
    if not (dist / "index.html").is_file():
        raise FileNotFoundError(f"no built site in {dist} (index.html missing)")
    objects: dict[str, SiteObject] = {}
    for gz in sorted((dist / "assets").rglob("*.gz")):
        key = gz.relative_to(dist).as_posix().removesuffix(".gz")
        suffix = Path(key).suffix
        if suffix not in DEPLOY_TYPES:
            raise ValueError(f"no content type known for {key} (web/deploy.sh's list)")
        objects[key] = SiteObject(key, gz, DEPLOY_TYPES[suffix], "gzip", IMMUTABLE)
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        key = path.relative_to(dist).as_posix()
        if key.endswith(".gz") or key in objects:
            continue
        guessed = mimetypes.guess_type(key)[0] or S3_DEFAULT_TYPE
        cache = IMMUTABLE if key.startswith("assets/") else REVALIDATED
        objects[key] = SiteObject(key, path, guessed, None, cache)
    return [objects[key] for key in sorted(objects)]


@dataclass(frozen=True)
class SiteTransfer:
    """What the deployed site costs in CloudFront and S3 per visit (bytes are bodies only).

    first_visit_bytes, first_visit_requests: a first visit loads the page and the service
    worker, which precaches every file of the build (web/vite.config.ts): every object once.
    return_visit_requests: a return visit with no deploy since revalidates the objects with
    fixed names (``no-cache``: a conditional request answered 304, no body); the app comes
    from the service worker's cache, the model from the browser's storage.
    stored_bytes: what the site bucket holds.
    """

    first_visit_bytes: int
    first_visit_requests: int
    return_visit_requests: int
    stored_bytes: int


def site_transfer(dist: Path) -> SiteTransfer:
    """The first-visit sum (and the rest of `SiteTransfer`) of the build in ``dist``.

    As web/deploy.sh deploys it and CloudFront serves it. Errors: as `deployed_objects`.
    """
    objects = deployed_objects(dist)
    return SiteTransfer(
        first_visit_bytes=sum(item.viewer_bytes() for item in objects),
        first_visit_requests=len(objects),
        return_visit_requests=sum(1 for item in objects if item.cache_control == REVALIDATED),
        stored_bytes=sum(item.source.stat().st_size for item in objects),
    )
