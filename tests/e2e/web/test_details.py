"""The details view of a model in chromium, listed and stored, online and offline.

The browser part is web/e2e/details.e2e.mjs. Here: a throwaway stack with the real web model
registered twice: once with what the pipeline's evaluate step puts next to a passing model
(its run report and pictures, from a real evaluate run on the tiny slice), and once with
nothing beside it and an entry without per-digit figures (registered before they were kept).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import boto3
import onnx
import pytest
import requests

from functions.get_models.cors import put_model_bucket_cors
from functions.get_models.fixtures import register_model
from mlops_settings import Settings
from playground.throwaway import ThrowawayStack
from support.webstack import FIXTURES, MODEL, WEB, require_tools

pytestmark = pytest.mark.slow

NODE_TIMEOUT_S = 300


def _beside_a_passing_model(evaluated: Path) -> dict[str, bytes]:
    """The run report and pictures evaluate.py wrote for a model that passed its gate."""
    folder = evaluated / "processing/evaluation"
    return {
        name: (folder / name).read_bytes()
        for name in ("report.html", "confusion_matrix.png", "training_curves.png")
    }


def test_the_details_view_shows_the_pictures_listed_and_stored_also_offline(
    emulator: Settings, throwaway: ThrowawayStack, evaluated: Path, tmp_path: Path
) -> None:
    chromium = require_tools()
    s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
    put_model_bucket_cors(s3, emulator.model_bucket, emulator.cors_allow_origins)
    accuracy = float(json.loads((FIXTURES / "model.json").read_text())["metrics"]["val_accuracy"])
    model = MODEL.read_bytes()
    common = {
        "group": emulator.model_package_group,
        "bucket": emulator.model_bucket,
        "region": emulator.region,
        "accuracy": accuracy,
        "quantized": True,
    }
    good = register_model(
        sagemaker,
        s3,
        seed=1,
        model_bytes=model,
        beside=_beside_a_passing_model(evaluated),
        **common,
    )
    older = onnx.load_from_string(model)
    older.doc_string = "registered before pictures were kept next to models"
    bare = register_model(
        sagemaker, s3, seed=2, model_bytes=older.SerializeToString(), per_class=False, **common
    )

    try:
        api_url, site_url = throwaway.start_api(), throwaway.start_site()
        listed = {
            m["version"]: m for m in requests.get(f"{api_url}/models", timeout=10).json()["models"]
        }
        assert listed[good.version]["pictures"]["training_curves"] is not None
        assert listed[bare.version]["pictures"] == {
            "confusion_matrix": None,
            "training_curves": None,
        }
        node = shutil.which("node")
        assert node is not None, "node is not installed"
        artifacts = Path(os.environ.get("DETAILS_SCREENSHOTS", tmp_path / "screenshots"))
        result = subprocess.run(
            [node, "--test", "--test-reporter=spec", "e2e/details.e2e.mjs"],
            cwd=WEB,
            env={
                **os.environ,
                "CHROMIUM_PATH": chromium,
                "SITE_URL": site_url,
                "GOOD_VERSION": str(good.version),
                "BARE_VERSION": str(bare.version),
                "ARTIFACTS": str(artifacts),
            },
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
        )
        print(result.stdout[-8000:], result.stderr[-3000:])
        assert result.returncode == 0, "browser test failed:\n" + result.stdout[-8000:]
    finally:
        throwaway.stop_services()
