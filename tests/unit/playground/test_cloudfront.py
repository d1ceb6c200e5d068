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


def a_build(folder, wasm_gz: int = 300) -> object:
    """A build as vite writes it: page, icon, a script, and the runtime with its .gz copy.

    Every file is under 1,000 bytes or precompressed, so what travels is its stored size.
    """
    (folder / "assets" / "ort-abc").mkdir(parents=True)
    (folder / "index.html").write_bytes(b"<" * 500)
    (folder / "favicon.svg").write_bytes(b"s" * 200)
    (folder / "assets" / "index-1.js").write_bytes(b"j" * 800)
    (folder / "assets" / "ort-abc" / "ort.wasm").write_bytes(b"w" * 5_000_000)
    (folder / "assets" / "ort-abc" / "ort.wasm.gz").write_bytes(b"g" * wasm_gz)
    return folder


def test_the_deployed_objects_are_web_deploy_shs(tmp_path) -> None:
    objects = {o.key: o for o in cloudfront.deployed_objects(a_build(tmp_path))}

    assert sorted(objects) == [
        "assets/index-1.js",
        "assets/ort-abc/ort.wasm",
        "favicon.svg",
        "index.html",
    ]
    wasm = objects["assets/ort-abc/ort.wasm"]
    assert (wasm.content_type, wasm.content_encoding) == ("application/wasm", "gzip")
    assert wasm.source.name == "ort.wasm.gz"
    assert objects["index.html"].cache_control == "no-cache"
    assert objects["assets/index-1.js"].cache_control == cloudfront.IMMUTABLE


def test_a_first_visit_counts_the_runtime_once_and_compressed(tmp_path) -> None:
    transfer = cloudfront.site_transfer(a_build(tmp_path))

    # 500 + 200 + 800 + 300 (the .gz copy in place of the 5 MB wasm), nothing twice
    assert transfer.first_visit_bytes == 1_800
    assert transfer.first_visit_requests == 4
    assert transfer.return_visit_requests == 2  # the page and the icon, revalidated
    assert transfer.stored_bytes == 1_800


def test_a_compressible_file_counts_as_gzip(tmp_path) -> None:
    build = a_build(tmp_path)
    script = b"export const a = 1;\n" * 5_000
    (build / "assets" / "index-1.js").write_bytes(script)

    transfer = cloudfront.site_transfer(build)

    assert transfer.first_visit_bytes == 1_000 + len(cloudfront.gzip_bytes(script))


def test_a_folder_without_a_page_is_no_build(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"index\.html"):
        cloudfront.deployed_objects(tmp_path)
