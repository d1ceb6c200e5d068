"""The local stack the browser tests and the web benchmark run against.

Pieces of `make up`, started by the test: the emulator (moto over HTTP) holding two approved
versions of the real trained model (one whose S3 file was tampered with after registration),
the get_models API gateway (`playground serve api`) and the built site
(`playground site serve`), each a real process on a free localhost port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import numpy as np
import onnx
import onnx.numpy_helper
import requests

from functions.get_models.cors import put_model_bucket_cors
from functions.get_models.fixtures import RegisteredModel, register_model
from mlops_settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODEL = FIXTURES / "model.onnx"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {START_TIMEOUT_S:.0f} s:\n{log.read_text()}")


@contextmanager
def _process(args: list[str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "playground", *args], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(process, ready_url, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve(logs: Path) -> Iterator[tuple[str, str]]:
    """Start the API gateway and the site (environment: the emulator's); yield both URLs."""
    api_port, site_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    site_url = f"http://127.0.0.1:{site_port}"
    logs.mkdir(parents=True, exist_ok=True)
    api = ["serve", "api", "--port", str(api_port)]
    site = ["site", "serve", "--port", str(site_port), "--api-url", api_url, "--dist", str(DIST)]
    with (
        _process(api, f"{api_url}/models?limit=1", logs / "api.log"),
        _process(site, f"{site_url}/config.json", logs / "site.log"),
    ):
        yield api_url, site_url
