"""The web app in Chromium, Firefox and WebKit, a normal and a private session in each.

The browser part is web/e2e/engines.e2e.mjs through web/e2e/engines.mjs (playwright-core,
puppeteer-core over WebDriver BiDi, webdriverio over WebDriver classic). One stack (emulator,
API, site) serves the three engines in turn. The site server here can be told to answer 503
to everything or to drop every connection (`SwitchableSite`), so each engine shows what a
visitor sees when CloudFront or S3 fails, or the network does, after a model was stored.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from mlops_settings import Settings
from playground.throwaway import ThrowawayStack
from support.switchable_site import SwitchableSite
from support.webstack import DIST, WEB, attachments, register_versions, require_tools

pytestmark = pytest.mark.slow

# E2E_ENGINES (comma-separated) runs fewer, while working on one engine.
ENGINES = tuple(os.environ.get("E2E_ENGINES", "chromium,firefox,webkit").split(","))
NODE_TIMEOUT_S = 300


def missing_engines() -> list[str]:
    """What this machine lacks for Firefox and WebKit (mk/prerequisites.sh says how to get it)."""
    wanted = {
        "firefox-esr": os.environ.get("FIREFOX_PATH") or shutil.which("firefox-esr"),
        "WebKitWebDriver": shutil.which("WebKitWebDriver"),
        "MiniBrowser": os.environ.get("WEBKIT_MINIBROWSER")
        or "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
        "xvfb-run": shutil.which("xvfb-run") if not os.environ.get("DISPLAY") else "display",
    }
    return [name for name, path in wanted.items() if not path or not Path(path).exists()]


def test_every_engine_lists_downloads_recognises_and_survives_a_failing_site(
    emulator: Settings, throwaway: ThrowawayStack, tmp_path: Path
) -> None:
    chromium = require_tools()
    missing = missing_engines()
    assert not missing, (
        f"missing for the Firefox and WebKit runs: {', '.join(missing)} "
        "(apt-get install firefox-esr webkit2gtk-driver xvfb)"
    )
    # The report and pictures are stored with the model: WebKit's private windows refused that.
    versions = register_versions(emulator, beside=attachments())
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    failures: dict[str, str] = {}
    seconds: dict[str, float] = {}
    try:
        api_url = throwaway.start_api()
        with SwitchableSite(DIST, api_url, emulator.emulator_url) as site:
            for engine in ENGINES:
                timings = tmp_path / f"{engine}.json"
                start = time.monotonic()
                result = subprocess.run(
                    [node, "--test-reporter=spec", "e2e/engines.e2e.mjs"],
                    cwd=WEB,
                    env={
                        **os.environ,
                        "CHROMIUM_PATH": chromium,
                        "ENGINE": engine,
                        "SITE_URL": site.url,
                        "CONTROL_URL": site.control_url,
                        "GOOD_VERSION": str(versions.good),
                        "TIMINGS": str(timings),
                    },
                    capture_output=True,
                    text=True,
                    timeout=NODE_TIMEOUT_S,
                )
                seconds[engine] = time.monotonic() - start
                print(f"== {engine}: {seconds[engine]:.0f} s")
                print(result.stdout[-6000:], result.stderr[-2000:])
                if timings.is_file():
                    print(f"== {engine} timings: {json.loads(timings.read_text())}")
                if result.returncode != 0:
                    failures[engine] = result.stdout[-6000:] + result.stderr[-2000:]
    finally:
        throwaway.stop_services()
    assert not failures, "\n\n".join(f"== {engine}\n{out}" for engine, out in failures.items())
