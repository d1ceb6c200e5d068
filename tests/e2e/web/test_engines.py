"""The web app in Chromium, Firefox and WebKit, a normal and a private session in each.

The browser part is web/e2e/engines.e2e.mjs through web/e2e/engines.mjs (playwright-core,
puppeteer-core over WebDriver BiDi, webdriverio over WebDriver classic). One stack (emulator,
API) serves the three engines in turn, each with its own site server over its own copy of the
site. The site server here can be told to answer 503 to everything or to drop every
connection (`SwitchableSite`), so each engine shows what a visitor sees when CloudFront or S3
fails, or the network does, after a model was stored. In Firefox and WebKit the same sessions
then take the update suite (Chromium runs it in test_e2e.py): a version approved later, the
same version withdrawn, and a deploy of the next site build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import onnx
import pytest

from functions.get_models.fixtures import register_model
from mlops_settings import Settings
from playground.throwaway import ThrowawayStack
from support.switchable_site import SwitchableSite
from support.webstack import (
    FIXTURES,
    MODEL,
    WEB,
    SiteBuilds,
    attachments,
    register_versions,
    require_tools,
)

pytestmark = pytest.mark.slow

# E2E_ENGINES (comma-separated) runs fewer, while working on one engine.
ENGINES = tuple(os.environ.get("E2E_ENGINES", "chromium,firefox,webkit").split(","))
# Chromium takes the update suite in test_e2e.py (app.e2e.mjs, update.e2e.mjs).
UPDATE_ENGINES = ("firefox", "webkit")
NODE_TIMEOUT_S = 360


def _register_pending_copy(settings: Settings, seed: int) -> int:
    """The real model once more under its own sha256, pending approval: a version the update
    suite approves (so it appears to the open page) and then rejects (so it is withdrawn)."""
    proto = onnx.load_from_string(MODEL.read_bytes())
    proto.doc_string = f"a later version of the same weights ({seed})"
    accuracy = float(json.loads((FIXTURES / "model.json").read_text())["metrics"]["val_accuracy"])
    return register_model(
        boto3.client("sagemaker"),
        boto3.client("s3"),
        group=settings.model_package_group,
        bucket=settings.model_bucket,
        region=settings.region,
        status="PendingManualApproval",
        seed=seed,
        model_bytes=proto.SerializeToString(),
        accuracy=accuracy,
    ).version


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


def test_every_engine_lists_downloads_recognises_survives_a_failing_site_and_updates(
    emulator: Settings, throwaway: ThrowawayStack, site_builds: SiteBuilds, tmp_path: Path
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
        for number, engine in enumerate(ENGINES):
            live = tmp_path / f"site-{engine}"
            shutil.copytree(site_builds.first, live)
            timings = tmp_path / f"{engine}.json"
            updates = {}
            if engine in UPDATE_ENGINES:
                updates = {
                    "UPDATES": "1",
                    "SITE_DIR": str(live),
                    "FIRST_SITE": str(site_builds.first),
                    "NEXT_SITE": str(site_builds.second),
                    "FIRST_BUILD": site_builds.first_label,
                    "NEXT_BUILD": site_builds.second_label,
                    "NEWER_VERSION": str(_register_pending_copy(emulator, seed=10 + number)),
                    "PLAYGROUND_CLI": json.dumps([sys.executable, "-m", "playground"]),
                }
            start = time.monotonic()
            with SwitchableSite(live, api_url, emulator.emulator_url) as site:
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
                        **updates,
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
