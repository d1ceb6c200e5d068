"""web/deploy.sh against the emulator's S3, and what a first visit then transfers.

The first visit of the deployed site is summed from what the deploy uploaded and how
(each object's stored bytes, Content-Type and Content-Encoding) under CloudFront's
compression rules (`playground.cloudfront`), plus the model file, which S3 sends as stored.
`playground site serve` must send the same bytes for the same build.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from mlops_settings import Settings
from playground import cloudfront
from playground.site_server import make_server, start_in_thread
from playground.throwaway import ThrowawayStack, foreign_variables
from support.webstack import DIST, MODEL, WEB

# Issue 19: a first visit (runtime, app, model) within 4 MB from CloudFront.
FIRST_VISIT_LIMIT_BYTES = 4_000_000
WASM = "ort-wasm-simd-threaded.wasm"
IMMUTABLE = "public, max-age=31536000, immutable"


def copy_build(folder: Path) -> Path:
    """A copy of web/dist with the config.json web.yml writes into it before deploying."""
    if not (DIST / "index.html").is_file():
        pytest.fail(f"no built site in {DIST}: run `make web-build` first")
    if shutil.which("aws") is None:
        pytest.fail("the AWS CLI is not on PATH (web/deploy.sh runs it): pip install awscli")
    dist = folder / "dist"
    shutil.copytree(DIST, dist)
    config = {"api_url": "https://api.example", "feedback_url": "https://feedback.example"}
    (dist / "config.json").write_text(json.dumps(config) + "\n")
    return dist


@pytest.fixture
def built(tmp_path: Path) -> Path:
    return copy_build(tmp_path)


@pytest.fixture(scope="module")
def deployed(
    throwaway: ThrowawayStack, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The build deployed once to a bucket of the session's emulator, and what it stored."""
    dist = copy_build(tmp_path_factory.mktemp("deployed"))
    with pytest.MonkeyPatch.context() as env:
        for key in foreign_variables(os.environ):
            env.delenv(key)
        for key, value in throwaway.environment.items():
            env.setenv(key, value)
        boto3.client("s3").create_bucket(Bucket="test-site-deployed")
        deploy(dist, "test-site-deployed")
        return dist, objects("test-site-deployed")


def deploy(dist: Path, bucket: str) -> None:
    """Run web/deploy.sh as web.yml does, with the emulator as the AWS account."""
    done = subprocess.run(
        ["bash", str(WEB / "deploy.sh"), str(dist), bucket],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def site_bucket(emulator: Settings) -> str:
    boto3.client("s3").create_bucket(Bucket="test-site")
    return "test-site"


def objects(bucket: str) -> dict[str, dict[str, Any]]:
    """Every object in the bucket: its body and the headers S3 sends with it."""
    s3 = boto3.client("s3")
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            got = s3.get_object(Bucket=bucket, Key=item["Key"])
            found[item["Key"]] = {
                "body": got["Body"].read(),
                "type": got.get("ContentType"),
                "encoding": got.get("ContentEncoding"),
                "cache": got.get("CacheControl"),
            }
    return found


def test_the_runtime_is_stored_gzip_compressed_under_its_own_name(
    deployed: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    built, stored = deployed

    wasm_keys = [key for key in stored if key.endswith(f"/{WASM}")]
    assert len(wasm_keys) == 1, sorted(stored)
    wasm = stored[wasm_keys[0]]
    assert wasm["encoding"] == "gzip"
    assert wasm["type"] == "application/wasm"
    assert wasm["cache"] == IMMUTABLE
    assert gzip.decompress(wasm["body"]) == (built / wasm_keys[0]).read_bytes()
    # No .gz key, and every file of the build is there under its own name.
    assert not [key for key in stored if key.endswith(".gz")]
    files = {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    assert set(stored) == {f for f in files if not f.endswith(".gz")}
    for key, item in stored.items():
        expected = IMMUTABLE if key.startswith("assets/") else "no-cache"
        assert item["cache"] == expected, key
        if key.endswith((".js", ".mjs")):
            assert item["type"] == "text/javascript", key


def test_a_redeploy_keeps_the_runtime_compressed_and_drops_stale_files(
    built: Path, site_bucket: str
) -> None:
    (built / "assets" / "index-stale.js").write_text("export {};\n" * 200)
    deploy(built, site_bucket)
    (built / "assets" / "index-stale.js").unlink()
    deploy(built, site_bucket)

    stored = objects(site_bucket)
    assert "assets/index-stale.js" not in stored
    wasm = next(item for key, item in stored.items() if key.endswith(f"/{WASM}"))
    assert wasm["encoding"] == "gzip"


def test_the_first_visit_sum_reads_the_site_as_deploy_sh_stores_it(
    deployed: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    built, stored = deployed

    # `playground aws cost` and the first-visit figure read the build through this mirror.
    mirrored = {item.key: item for item in cloudfront.deployed_objects(built)}
    assert set(mirrored) == set(stored)
    for key, item in stored.items():
        mine = mirrored[key]
        assert (mine.content_type, mine.content_encoding, mine.cache_control) == (
            item["type"],
            item["encoding"],
            item["cache"],
        ), key
        assert mine.source.read_bytes() == item["body"], key


def test_a_first_visit_transfers_at_most_4_mb_from_cloudfront(
    deployed: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    built, stored = deployed

    # A first visit loads the page, its scripts and the service worker, which precaches every
    # file of the build (web/vite.config.ts): every object the deploy uploaded, once.
    site = cloudfront.site_transfer(built)
    model = MODEL.stat().st_size
    total = site.first_visit_bytes + model
    sizes = {
        key: cloudfront.viewer_bytes(item["body"], item["type"], item["encoding"])
        for key, item in stored.items()
    }
    assert site.first_visit_bytes == sum(sizes.values())
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    assert total <= FIRST_VISIT_LIMIT_BYTES, f"{total:,} bytes; largest: {biggest}, model {model:,}"


def test_the_local_site_server_sends_the_bytes_cloudfront_sends(
    deployed: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    built, stored = deployed
    server = make_server(built, "127.0.0.1", 0, "http://127.0.0.1:9", "http://127.0.0.1:9")
    start_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for key, item in stored.items():
            if key == "config.json":  # the server answers its own, pointed at its API
                continue
            answer = requests.get(
                f"{base}/{key}",
                headers={"Accept-Encoding": "gzip, deflate"},
                stream=True,
                timeout=30,
            )
            wire = answer.raw.read(decode_content=False)
            expected = cloudfront.viewer_bytes(item["body"], item["type"], item["encoding"])
            assert len(wire) == expected, key
            if item["encoding"] == "gzip":
                assert answer.headers["Content-Encoding"] == "gzip"
                assert wire == item["body"], key
            assert answer.headers["Content-Type"].split(";")[0] == item["type"], key
        # A .gz copy is no file of the deployed site; a client without gzip gets the plain file.
        wasm_key = next(key for key in stored if key.endswith(f"/{WASM}"))
        assert requests.get(f"{base}/{wasm_key}.gz", timeout=10).status_code == 404
        plain = requests.get(
            f"{base}/{wasm_key}", headers={"Accept-Encoding": "identity"}, timeout=60
        )
        assert "Content-Encoding" not in plain.headers
        assert plain.content == (built / wasm_key).read_bytes()
    finally:
        server.shutdown()
        server.server_close()
