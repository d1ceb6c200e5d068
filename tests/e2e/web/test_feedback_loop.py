"""Issue 13 end to end: draw in chromium, correct, review, accept; the next execution's
dataset holds the sample, and a rejected sample never reaches S3 outside the quarantine.

The browser part is web/e2e/feedback-loop.e2e.mjs (a 3 corrected as a 3, a 7 "corrected" as a 1);
this test starts the stack it talks to, reviews what arrived with `playground feedback
review` (accepting the 3, rejecting the 1), runs the pipeline on the new dataset version, and
looks through every object in every bucket for the rejected pixels.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import boto3
import numpy as np
import pytest
from typer.testing import CliRunner

from mlops_settings import Settings
from playground import data
from playground import feedback as fb
from playground.cli import app
from playground.throwaway import ThrowawayStack
from support.webstack import WEB, register_versions, require_tools

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mnist"
NODE_TIMEOUT_S = 300
cli = CliRunner()
QUICK = [
    *("--param", "Epochs=1", "--param", "AccuracyThreshold=0", "--param", "MinClassRecall=0"),
    *("--param", "MinParityAgreement=0", "--param", "MaxModelSizeBytes=10000000"),
    *("--param", "MinVariationAccuracy=0"),
    # One epoch cannot match the served model; this run is about its data, not its quality.
    *("--param", "ChampionSignificance=0"),
]


def _unpacked(body: bytes) -> list[bytes]:
    """The object's bytes and, for gzip, zip (.npz) and tar archives, what they hold."""
    found = [body]
    if body[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError):
            found += _unpacked(gzip.decompress(body))
        try:
            with tarfile.open(fileobj=io.BytesIO(body)) as archive:
                for member in archive.getmembers():
                    handle = archive.extractfile(member)
                    if handle is not None:
                        found += _unpacked(handle.read())
        except tarfile.TarError:
            pass
    if body[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            found += [archive.read(name) for name in archive.namelist()]
    return found


def places_holding(settings: Settings, pixels: bytes) -> list[str]:
    """Every S3 object outside the quarantine whose bytes (or archive members) hold these 784
    pixel bytes, raw or as base64."""
    s3 = boto3.client("s3")
    encoded = base64.b64encode(pixels)
    hits = []
    for bucket in (settings.data_bucket, settings.model_bucket, settings.site_bucket):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                key = item["Key"]
                if bucket == settings.data_bucket and key.startswith(fb.PENDING_PREFIX):
                    continue
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                if any(pixels in part or encoded in part for part in _unpacked(body)):
                    hits.append(f"s3://{bucket}/{key}")
    return hits


def run_browser(chromium: str, site_url: str, good: int, artifacts: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", "e2e/feedback-loop.e2e.mjs"],
        cwd=WEB,
        env={
            **os.environ,
            "CHROMIUM_PATH": chromium,
            "SITE_URL": site_url,
            "GOOD_VERSION": str(good),
            "ARTIFACTS": str(artifacts),
        },
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
    )
    print(result.stdout[-6000:], result.stderr[-3000:])
    assert result.returncode == 0, "browser test failed:\n" + result.stdout[-6000:]


def test_draw_correct_review_accept_and_the_next_execution_trains_on_it(
    emulator: Settings, throwaway: ThrowawayStack, tmp_path: Path
) -> None:
    chromium = require_tools()
    versions = register_versions(emulator)
    data.seed(emulator, str(FIXTURES))  # the dataset the feedback is added to

    try:
        throwaway.start_api()
        site_url = throwaway.start_site()
        run_browser(chromium, site_url, versions.good, tmp_path / "screenshots")
    finally:
        throwaway.stop_services()

    pending = fb.list_pending(emulator)
    assert pending.broken == []
    assert sorted(s.label for s in pending.samples) == [1, 3]
    assert {s.model_version for s in pending.samples} == {versions.good}
    [three] = [i for i, s in enumerate(pending.samples) if s.label == 3]
    [one] = [i for i, s in enumerate(pending.samples) if s.label == 1]
    accepted, rejected = pending.samples[three], pending.samples[one]
    # What the browser sent is the model's input: a digit's worth of ink on black.
    assert 20 < int((accepted.pixels > 0).sum()) < 500
    assert places_holding(emulator, rejected.pixels.tobytes()) == []

    shown = fb.show(emulator, pending)  # the grid the reviewer looks at
    choice = ["--review", shown.review, "--accept", str(three), "--reject", str(one)]
    choice += ["--reviewer", "Browser Test"]
    review = cli.invoke(app, ["feedback", "review", *choice])
    assert review.exit_code == 0, review.output
    version = data.list_versions(emulator)[-1]
    assert version.feedback["accepted"] == [accepted.id]
    assert fb.list_pending(emulator).samples == []

    # The browser test's broken versions step aside: the served model is the champion.
    for broken in (versions.tampered, versions.wrong_shape):
        rejected_version = cli.invoke(
            app, ["models", "reject", str(broken), "--reason", "test model, not for use"]
        )
        assert rejected_version.exit_code == 0, rejected_version.output
    run = cli.invoke(app, ["pipeline", "run", *QUICK])

    assert run.exit_code == 0, run.output
    runs = Path(emulator.state_dir) / "pipeline-runs"
    record = json.loads(next(runs.glob("*/run.json")).read_text())
    prepare = record["steps"]["PrepareData"]
    outputs = {
        o["OutputName"]: o["S3Output"]["S3Uri"]
        for o in prepare["properties"]["ProcessingOutputConfig"]["Outputs"]
    }
    s3 = boto3.client("s3")
    prepared: dict[bytes, int] = {}
    for split in ("train", "validation", "test"):
        bucket, _, prefix = outputs[split].removeprefix("s3://").partition("/")
        body = s3.get_object(Bucket=bucket, Key=f"{prefix.rstrip('/')}/{split}.npz")["Body"]
        with np.load(io.BytesIO(body.read())) as arrays:
            prepared.update(
                {
                    img.tobytes(): int(lab)
                    for img, lab in zip(arrays["images"], arrays["labels"], strict=True)
                }
            )
    # The next execution's dataset holds the accepted drawing under the corrected label...
    assert prepared.get(accepted.pixels.tobytes()) == 3
    # ...and the rejected one nowhere: not in the data, the models, the reports, the site.
    assert rejected.pixels.tobytes() not in prepared
    assert places_holding(emulator, rejected.pixels.tobytes()) == []
    assert places_holding(emulator, accepted.pixels.tobytes()) != []
