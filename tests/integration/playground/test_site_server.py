"""The local site server over HTTP: the built web app with its runtime config.json."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from playground.site_server import make_server, start_in_thread
from support.site_build import tiny_build


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    return tiny_build(tmp_path)


@pytest.fixture
def site(dist: Path) -> Iterator[str]:
    server = make_server(dist, "127.0.0.1", 0, "http://127.0.0.1:8999/", "http://127.0.0.1:4566")
    start_in_thread(server)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_serves_the_build_and_a_config_pointing_at_the_api(site: str) -> None:
    page = requests.get(f"{site}/", timeout=5)
    assert page.status_code == 200
    assert "id=root" in page.text
    config = requests.get(f"{site}/config.json", timeout=5)
    assert config.json() == {
        "api_url": "http://127.0.0.1:8999",
        "feedback_url": "http://127.0.0.1:8999",
    }
    assert config.headers["Cache-Control"] == "no-store"


def test_types_the_wasm_runtime_and_caches_only_hashed_assets(site: str) -> None:
    wasm = requests.get(f"{site}/ort/ort-wasm-simd-threaded.wasm", timeout=5)
    assert wasm.headers["Content-Type"] == "application/wasm"
    assert wasm.headers["Cache-Control"] == "no-cache"
    script = requests.get(f"{site}/assets/index-abc.js", timeout=5)
    assert script.headers["Content-Type"] == "text/javascript"
    assert "immutable" in script.headers["Cache-Control"]
    assert requests.get(f"{site}/missing.js", timeout=5).status_code == 404


def test_every_answer_carries_the_sites_content_security_policy(dist: Path) -> None:
    server = make_server(dist, "127.0.0.1", 0, "http://127.0.0.1:8999/", "http://127.0.0.1:4566")
    start_in_thread(server)
    site = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for path in ("/", "/config.json", "/assets/index-abc.js", "/missing.js"):
            policy = requests.get(f"{site}{path}", timeout=5).headers["Content-Security-Policy"]
            directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
            assert directives["script-src"] == ["'self'", "'wasm-unsafe-eval'"], path
            assert directives["connect-src"] == [
                "'self'",
                "http://127.0.0.1:8999",
                "http://127.0.0.1:4566",
            ]
    finally:
        server.shutdown()
        server.server_close()
