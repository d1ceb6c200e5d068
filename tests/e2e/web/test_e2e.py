"""The web app in Debian's chromium against the local stack (emulator, API gateway, site).

The browser part is web/e2e/app.e2e.mjs (Playwright via playwright-core, Node's test
runner); this test starts what it talks to, then runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from mlops_settings import Settings
from playground.throwaway import ThrowawayStack
from support.webstack import WEB, register_versions, require_tools

pytestmark = pytest.mark.slow


def test_the_app_lists_downloads_verifies_recognises_and_works_offline(
    emulator: Settings, throwaway: ThrowawayStack, tmp_path: Path
) -> None:
    chromium = require_tools()
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    versions = register_versions(emulator)

    try:
        api_url, site_url = throwaway.start_api(), throwaway.start_site()
        listed = requests.get(f"{api_url}/models", timeout=10).json()["models"]
        assert [m["version"] for m in listed] == [
            versions.wrong_shape,
            versions.tampered,
            versions.good,
        ]
        result = subprocess.run(
            [node, "--test", "--test-reporter=spec", "e2e/app.e2e.mjs"],
            cwd=WEB,
            env={
                **os.environ,
                "CHROMIUM_PATH": chromium,
                "SITE_URL": site_url,
                "GOOD_VERSION": str(versions.good),
                "TAMPERED_VERSION": str(versions.tampered),
                "WRONG_SHAPE_VERSION": str(versions.wrong_shape),
                "ARTIFACTS": str(tmp_path / "screenshots"),
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        throwaway.stop_services()
    print(result.stdout[-6000:], result.stderr[-3000:])
    assert result.returncode == 0, "browser test failed:\n" + result.stdout[-6000:]
