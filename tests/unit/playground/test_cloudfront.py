"""CloudFront's compression rules, as the site server and the first-visit test apply them."""

from __future__ import annotations

import gzip

import pytest

from playground import cloudfront


@pytest.mark.parametrize(
    ("content_type", "encoding", "size", "expected"),
    [
        ("text/javascript", None, 1_000, True),
        ("text/javascript; charset=utf-8", None, 10_000_000, True),
        ("text/javascript", None, 999, False),  # too small to be worth it
        ("application/wasm", None, 10_000_001, False),  # the 14 MB runtime, as it was
        ("application/wasm", "gzip", 3_700_000, False),  # already compressed at the origin
        ("application/octet-stream", None, 50_000, False),  # not a listed type
        (None, None, 50_000, False),
    ],
)
def test_cloudfront_compresses_listed_types_of_1_000_to_10_000_000_bytes(
    content_type: str | None, encoding: str | None, size: int, expected: bool
) -> None:
    assert cloudfront.compresses(content_type, encoding, size) is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("", False),
        (None, False),
    ],
)
def test_accepts_gzip_reads_the_header_with_weights(header: str | None, expected: bool) -> None:
    assert cloudfront.accepts_gzip(header) is expected


def test_viewer_bytes_counts_what_travels() -> None:
    script = b"export const x = 1;\n" * 500
    assert cloudfront.viewer_bytes(script, "text/javascript", None) == len(
        gzip.compress(script, cloudfront.GZIP_LEVEL, mtime=0)
    )
    stored_gzip = gzip.compress(b"\0" * 20_000_000)
    assert cloudfront.viewer_bytes(stored_gzip, "application/wasm", "gzip") == len(stored_gzip)
    model = bytes(range(256)) * 300
    assert cloudfront.viewer_bytes(model, "application/octet-stream", None) == len(model)
