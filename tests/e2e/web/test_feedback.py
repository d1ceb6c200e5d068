"""Corrections from the web app in Debian's chromium to the quarantine prefix of the bucket.

The browser part is web/e2e/feedback.e2e.mjs: draw a 1, press "Wrong? It was a 7"; then,
offline, draw a 3 and press "Right", and go online again. Here: the two corrections are the
only objects under feedback/pending/, each with the input the browser sent, and the gateway
received the queued one exactly once.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest

from mlops_settings import Settings
from playground.throwaway import ThrowawayStack
from support.feedback import sample_id
from support.webstack import WEB, register_versions, require_tools

pytestmark = pytest.mark.slow

NODE_TIMEOUT_S = 300


def test_a_correction_drawn_in_the_browser_lands_in_quarantine_once(
    emulator: Settings, throwaway: ThrowawayStack, tmp_path: Path
) -> None:
    chromium = require_tools()
    versions = register_versions(emulator)
    results = tmp_path / "posted.json"
    try:
        throwaway.start_api()
        gateway_log = throwaway.services[-1].log_file
        site_url = throwaway.start_site()
        node = shutil.which("node")
        assert node is not None, "node is not installed"
        done = subprocess.run(
            [node, "--test", "--test-reporter=spec", "e2e/feedback.e2e.mjs"],
            cwd=WEB,
            env={
                **os.environ,
                "CHROMIUM_PATH": chromium,
                "SITE_URL": site_url,
                "GOOD_VERSION": str(versions.good),
                "RESULTS": str(results),
                "ARTIFACTS": str(tmp_path / "screenshots"),
            },
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
        )
        print(done.stdout[-8000:], done.stderr[-3000:])
        assert done.returncode == 0, "browser test failed:\n" + done.stdout[-8000:]
    finally:
        throwaway.stop_services()

    posted = json.loads(results.read_text())["posted"]
    assert [(c["predicted"], c["label"]) for c in posted] == [(1, 7), (3, 3)]
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=emulator.data_bucket).get("Contents", [])
    assert sorted(item["Key"] for item in listed) == sorted(
        f"feedback/pending/{sample_id(c)}.json" for c in posted
    )
    for correction in posted:
        key = f"feedback/pending/{sample_id(correction)}.json"
        stored = json.loads(s3.get_object(Bucket=emulator.data_bucket, Key=key)["Body"].read())
        assert stored.pop("received_at")
        assert stored == correction
        assert len(base64.b64decode(stored["pixels"])) == 784
        assert stored["model_sha256"] == versions.good_sha256
    # The queued correction reached the gateway once: one request, stored, not a duplicate.
    queued_id = sample_id(posted[1])
    lines = [json.loads(x) for x in gateway_log.read_text().splitlines() if x.startswith("{")]
    seen = [x for x in lines if x.get("sample_id") == queued_id]
    assert [(x["status"], x["duplicate"]) for x in seen] == [(202, False)]
