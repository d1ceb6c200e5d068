"""The local stack the browser tests and the web benchmark run against.

Pieces of `make up`, started by the test: the emulator (moto over HTTP) holding two approved
versions of the real trained model (one whose S3 file was tampered with after registration),
the get_models API gateway (`playground serve api`) and the built site
(`playground site serve`), each a real process on a free localhost port.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import numpy as np
import onnx
import onnx.numpy_helper

from functions.get_models.cors import put_model_bucket_cors
from functions.get_models.fixtures import RegisteredModel, register_model
from mlops_settings import Settings
from playground.background import free_port
from playground.commands.up import api_service, site_service

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
FIXTURES = ROOT / "tests" / "fixtures" / "web"
MODEL = FIXTURES / "model.onnx"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Versions:
    """The registered versions: one good, one whose file no longer matches its sha256, and one
    valid ONNX whose input is not the contract's."""

    good: int
    tampered: int
    wrong_shape: int
    good_sha256: str


def require_tools() -> None:
    """Fail with what to run when the site is not built or the browser is missing."""
    if not (DIST / "index.html").is_file():
        raise RuntimeError(f"no built site in {DIST}: run `make web-build` first")
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(
            f"no chromium at {CHROMIUM}: `apt-get install -y chromium` (or set CHROMIUM_PATH)"
        )
    if not MODEL.is_file():
        raise RuntimeError(f"no model at {MODEL}: run `uv run python {FIXTURES}/make_model.py`")


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


def register_versions(settings: Settings) -> Versions:
    """Register the real model twice, approved, and tamper with the second one's file; then a
    model of the wrong shape (its registry entry claims the contract's, as a bad one might)."""
    s3 = boto3.client("s3")
    sagemaker = boto3.client("sagemaker")
    # The browser downloads from S3 directly, so the bucket must allow the site's origin.
    put_model_bucket_cors(s3, settings.model_bucket, settings.cors_allow_origins)
    model = MODEL.read_bytes()
    accuracy = float(json.loads((FIXTURES / "model.json").read_text())["metrics"]["val_accuracy"])

    def register(seed: int, data: bytes) -> RegisteredModel:
        return register_model(
            sagemaker,
            s3,
            group=settings.model_package_group,
            bucket=settings.model_bucket,
            region=settings.region,
            seed=seed,
            model_bytes=data,
            accuracy=accuracy,
        )

    good = register(1, model)
    second = tampered_copy(model)
    tampered = register(2, second)
    flipped = bytearray(second)
    flipped[len(flipped) // 2] ^= 0xFF
    bucket, key = tampered.model_data_url.removeprefix("s3://").split("/", 1)
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(flipped))
    wrong = register(3, wrong_shape_model())
    return Versions(good.version, tampered.version, wrong.version, good.sha256)


@contextmanager
def serve(logs: Path) -> Iterator[tuple[str, str]]:
    """Start the API gateway and the site (environment: the emulator's); yield both URLs.

    The same background services `make up` starts, on free ports, logging under ``logs``.
    """
    settings = Settings(api_port=free_port(), site_port=free_port(), state_dir=logs)
    services = [api_service(settings), site_service(settings)]
    try:
        for service in services:
            service.start(START_TIMEOUT_S)
        yield services[0].url, services[1].url
    finally:
        for service in reversed(services):
            service.stop()
