"""The site's Content Security Policy and the stored run report's sandbox, in chromium.

The browser part is web/e2e/security.e2e.mjs. Here: a throwaway stack (emulator, API, the
site served with the policy from contracts/site-csp.json) with the real web model registered
once, with pictures and a run report beside it. The report carries a script that would read
the site's IndexedDB if it ran in the site's origin.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess

import boto3
import pytest
from PIL import Image

from functions.get_models.cors import put_model_bucket_cors
from functions.get_models.fixtures import register_model
from mlops_settings import Settings
from playground.throwaway import ThrowawayStack
from support.webstack import FIXTURES, MODEL, WEB, require_tools

pytestmark = pytest.mark.slow

NODE_TIMEOUT_S = 300

# A report as a hostile bucket could hold: styled, with a picture, and a script that reads the
# site's storage and shows what it found.
REPORT = b"""<!doctype html><html><head><meta charset="utf-8"><title>Run execution-1</title>
<style>h1{color:rgb(200, 0, 0)}</style></head><body><h1 id="heading">Run report</h1>
<img id="picture" alt="pixel" src="data:image/png;base64,PIXEL">
<p id="stolen">nothing read</p>
<script>
indexedDB.databases().then(function (dbs) {
  document.getElementById('stolen').textContent = 'read: ' + JSON.stringify(dbs);
});
</script></body></html>"""
PIXEL = b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def _png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return out.getvalue()


def test_the_app_runs_under_its_policy_and_the_stored_report_cannot_read_the_site(
    emulator: Settings, throwaway: ThrowawayStack
) -> None:
    chromium = require_tools()
    s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
    put_model_bucket_cors(s3, emulator.model_bucket, emulator.cors_allow_origins)
    accuracy = float(json.loads((FIXTURES / "model.json").read_text())["metrics"]["val_accuracy"])
    good = register_model(
        sagemaker,
        s3,
        group=emulator.model_package_group,
        bucket=emulator.model_bucket,
        region=emulator.region,
        accuracy=accuracy,
        quantized=True,
        seed=1,
        model_bytes=MODEL.read_bytes(),
        beside={
            "report.html": REPORT.replace(b"PIXEL", PIXEL),
            "confusion_matrix.png": _png((20, 120, 200)),
            "training_curves.png": _png((200, 120, 20)),
        },
    )
    try:
        api_url, site_url = throwaway.start_api(), throwaway.start_site()
        node = shutil.which("node")
        assert node is not None, "node is not installed"
        result = subprocess.run(
            [node, "--test", "--test-reporter=spec", "e2e/security.e2e.mjs"],
            cwd=WEB,
            env={
                **os.environ,
                "CHROMIUM_PATH": chromium,
                "SITE_URL": site_url,
                "API_URL": api_url,
                "MODEL_ORIGIN": emulator.emulator_url,
                "GOOD_VERSION": str(good.version),
                "GOOD_SHA256": good.sha256,
            },
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
        )
        print(result.stdout[-8000:], result.stderr[-3000:])
        assert result.returncode == 0, "browser test failed:\n" + result.stdout[-8000:]
    finally:
        throwaway.stop_services()
