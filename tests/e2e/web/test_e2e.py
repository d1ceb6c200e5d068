"""The web app in Debian's chromium against the local stack (emulator, API gateway, site).

The browser parts are web/e2e/app.e2e.mjs and web/e2e/update.e2e.mjs (Playwright via
playwright-core, Node's test runner); these tests start what they talk to, then run them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import boto3
import onnx
import pytest
import requests

from functions.get_models.fixtures import register_model
from mlops_settings import Settings
from localaws.background import free_port
from playground.site_server import make_server, start_in_thread
from playground.throwaway import ThrowawayStack
from support.webstack import (
    DIST,
    FIXTURES,
    MODEL,
    WEB,
    SiteBuilds,
    register_versions,
    require_tools,
)

pytestmark = pytest.mark.slow

NODE_TIMEOUT_S = 420


def _register_newer_copy(settings: Settings) -> int:
    """The real model once more under its own sha256: a newer approved version to withdraw."""
    proto = onnx.load_from_string(MODEL.read_bytes())
    proto.doc_string = "a newer version of the same weights"
    accuracy = float(json.loads((FIXTURES / "model.json").read_text())["metrics"]["val_accuracy"])
    return register_model(
        boto3.client("sagemaker"),
        boto3.client("s3"),
        group=settings.model_package_group,
        bucket=settings.model_bucket,
        region=settings.region,
        seed=4,
        model_bytes=proto.SerializeToString(),
        accuracy=accuracy,
    ).version


def _serve_without_wasm_eval(api_url: str, model_url: str) -> ThreadingHTTPServer:
    """The site with its policy as Safari before 16 reads it: 'wasm-unsafe-eval' unknown, so
    left out (started in a thread; shut it down)."""
    server = make_server(DIST, "127.0.0.1", free_port(), api_url, model_url)
    site = server.RequestHandlerClass
    assert isinstance(site, partial), "playground's site handler is no longer a partial"
    policy = site.keywords["policy"]
    assert "'wasm-unsafe-eval'" in policy
    without = {**site.keywords, "policy": policy.replace(" 'wasm-unsafe-eval'", "")}
    server.RequestHandlerClass = partial(site.func, *site.args, **without)
    start_in_thread(server)
    return server


def _node() -> str:
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    return node


def _run_node(script: str, chromium: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [_node(), "--test", "--test-reporter=spec", script],
        cwd=WEB,
        env={**os.environ, "CHROMIUM_PATH": chromium, **env},
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
    )
    print(result.stdout[-8000:], result.stderr[-3000:])
    assert result.returncode == 0, "browser test failed:\n" + result.stdout[-8000:]


def test_the_app_lists_downloads_verifies_recognises_retires_and_works_offline(
    emulator: Settings, throwaway: ThrowawayStack, tmp_path: Path
) -> None:
    chromium = require_tools()
    versions = register_versions(emulator)
    newer = _register_newer_copy(emulator)

    try:
        api_url, site_url = throwaway.start_api(), throwaway.start_site()
        old_safari = _serve_without_wasm_eval(api_url, emulator.emulator_url)
        listed = requests.get(f"{api_url}/models", timeout=10).json()["models"]
        assert [m["version"] for m in listed] == [
            newer,
            versions.wrong_shape,
            versions.tampered,
            versions.good,
        ]
        _run_node(
            "e2e/app.e2e.mjs",
            chromium,
            {
                "SITE_URL": site_url,
                "GOOD_VERSION": str(versions.good),
                "NEWER_VERSION": str(newer),
                "TAMPERED_VERSION": str(versions.tampered),
                "WRONG_SHAPE_VERSION": str(versions.wrong_shape),
                "PLAYGROUND_CLI": json.dumps([sys.executable, "-m", "playground"]),
                "NO_WASM_EVAL_SITE_URL": f"http://127.0.0.1:{old_safari.server_address[1]}/",
                "ARTIFACTS": str(tmp_path / "screenshots"),
            },
        )
        old_safari.shutdown()
        old_safari.server_close()
    finally:
        throwaway.stop_services()
    # The browser test rejected both good versions and approved them again through the CLI.
    packages = boto3.client("sagemaker").list_model_packages(
        ModelPackageGroupName=emulator.model_package_group, ModelApprovalStatus="Rejected"
    )
    assert packages["ModelPackageSummaryList"] == []


def test_a_new_site_version_reaches_a_returning_visitor_and_offline_still_works(
    emulator: Settings, throwaway: ThrowawayStack, site_builds: SiteBuilds, tmp_path: Path
) -> None:
    chromium = require_tools()
    versions = register_versions(emulator)
    live = tmp_path / "live"
    shutil.copytree(site_builds.first, live)

    try:
        api_url = throwaway.start_api()
        # The deploy swaps the files under one origin, so the browser keeps its service worker
        # and its models, as with a real site.
        server = make_server(live, "127.0.0.1", free_port(), api_url, emulator.emulator_url)
        start_in_thread(server)
        try:
            _run_node(
                "e2e/update.e2e.mjs",
                chromium,
                {
                    "SITE_URL": f"http://127.0.0.1:{server.server_address[1]}/",
                    "SITE_DIR": str(live),
                    "NEXT_SITE": str(site_builds.second),
                    "FIRST_BUILD": site_builds.first_label,
                    "NEXT_BUILD": site_builds.second_label,
                    "GOOD_VERSION": str(versions.good),
                    "ARTIFACTS": str(tmp_path / "screenshots"),
                },
            )
        finally:
            server.shutdown()
            server.server_close()
    finally:
        throwaway.stop_services()
