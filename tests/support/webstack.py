"""What the browser tests and the web benchmark put in their throwaway stack.

The stack itself (emulator, API gateway, site on free ports) is `playground.throwaway`; this
module registers the real trained model in it (two approved versions, one whose S3 file was
tampered with after registration, and one of the wrong input shape) and finds the browser.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import boto3
import numpy as np
import onnx
import onnx.numpy_helper

from functions.get_models.cors import put_model_bucket_cors
from functions.get_models.fixtures import RegisteredModel, register_model
from mlops_settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
FIXTURES = ROOT / "tests" / "fixtures" / "web"
MODEL = FIXTURES / "model.onnx"
# Debian and Ubuntu name the browser chromium or chromium-browser; Google's build google-chrome.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@dataclass(frozen=True)
class Versions:
    """The registered versions: one good, one whose file no longer matches its sha256, and one
    valid ONNX whose input is not the contract's."""

    good: int
    tampered: int
    wrong_shape: int
    good_sha256: str


def find_chromium() -> str | None:
    """The browser: ``CHROMIUM_PATH`` when set, else the first of `CHROMIUM_NAMES` on PATH."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_tools() -> str:
    """The chromium path; fails with what to run when the site, browser or model is missing."""
    if not (DIST / "index.html").is_file():
        raise RuntimeError(f"no built site in {DIST}: run `make web-build` first")
    chromium = find_chromium()
    if chromium is None:
        where = os.environ.get("CHROMIUM_PATH") or f"PATH ({', '.join(CHROMIUM_NAMES)})"
        raise RuntimeError(
            f"no chromium at {where}: `apt-get install -y chromium`, the devcontainer, "
            "or set CHROMIUM_PATH to the browser"
        )
    if not MODEL.is_file():
        raise RuntimeError(f"no model at {MODEL}: run `make web-model`")
    return chromium


def _png(width: int, height: int) -> bytes:
    """A grey PNG of `width` x `height` pixels (8-bit greyscale, no filter)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def attachments() -> dict[str, bytes]:
    """A run report and two pictures to keep next to a model, as the evaluate step leaves them."""
    return {
        "report.html": b"<!doctype html><title>run report</title><section id=confusion></section>",
        "confusion_matrix.png": _png(40, 40),
        "training_curves.png": _png(60, 30),
    }


def tampered_copy(model: bytes) -> bytes:
    """A valid, different ONNX file (so it registers under its own sha256)."""
    proto = onnx.load_from_string(model)
    proto.doc_string = "a second version of the same weights"
    return proto.SerializeToString()


def wrong_shape_model() -> bytes:
    """A valid ONNX classifier of flat 784-pixel vectors: input "pixels" [N,784]."""
    weights = onnx.numpy_helper.from_array(np.zeros((784, 10), dtype=np.float32), "weights")
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["pixels", "weights"], ["logits"])],
        "flat",
        [onnx.helper.make_tensor_value_info("pixels", onnx.TensorProto.FLOAT, ["N", 784])],
        [onnx.helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["N", 10])],
        [weights],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def register_versions(settings: Settings, beside: Mapping[str, bytes] | None = None) -> Versions:
    """Register the real model twice, approved, and tamper with the second one's file; then a
    model of the wrong shape (its registry entry claims the contract's, as a bad one might).

    `beside`: files next to the good model (a run report and pictures, as `attachments()`).
    """
    s3 = boto3.client("s3")
    sagemaker = boto3.client("sagemaker")
    # The browser downloads from S3 directly, so the bucket must allow the site's origin.
    put_model_bucket_cors(s3, settings.model_bucket, settings.cors_allow_origins)
    model = MODEL.read_bytes()
    accuracy = float(json.loads((FIXTURES / "model.json").read_text())["metrics"]["val_accuracy"])

    def register(
        seed: int, data: bytes, files: Mapping[str, bytes] | None = None
    ) -> RegisteredModel:
        return register_model(
            sagemaker,
            s3,
            group=settings.model_package_group,
            bucket=settings.model_bucket,
            region=settings.region,
            seed=seed,
            model_bytes=data,
            accuracy=accuracy,
            beside=files,
        )

    good = register(1, model, beside)
    second = tampered_copy(model)
    tampered = register(2, second)
    flipped = bytearray(second)
    flipped[len(flipped) // 2] ^= 0xFF
    bucket, key = tampered.model_data_url.removeprefix("s3://").split("/", 1)
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(flipped))
    wrong = register(3, wrong_shape_model())
    return Versions(good.version, tampered.version, wrong.version, good.sha256)


@dataclass(frozen=True)
class SiteBuilds:
    """Two builds of web/ for a deploy: `first`, then `second`, labelled with their names."""

    first: Path
    second: Path
    first_label: str = "e2e-first"
    second_label: str = "e2e-second"


def build_site(out: Path, label: str) -> None:
    """`vite build` of web/ into `out`, labelled `label` (the footer and the service worker)."""
    result = subprocess.run(
        [
            str(WEB / "node_modules" / ".bin" / "vite"),
            "build",
            "--outDir",
            str(out),
            "--emptyOutDir",
        ],
        cwd=WEB,
        env={**os.environ, "SITE_BUILD": label},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
