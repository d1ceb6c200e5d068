"""Pending feedback samples exactly as contracts/feedback.md stores them, for tests.

The `feedback` Lambda writes ``s3://<data bucket>/feedback/pending/<id>.json``: the canonical
JSON of the six members (keys sorted, no spaces) plus ``received_at``, write-once. These
helpers build such bodies from real digits and write them the same way, so the review side
is tested against the contract, not against the endpoint's code.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "packages/pipelines/src/pipelines/mnist/data"
MODEL_SHA256 = hashlib.sha256(b"a model the tests never run").hexdigest()
BASE_TIME = datetime(2026, 11, 30, 3, 0, 0, tzinfo=UTC)


def correction(
    pixels: np.ndarray,
    label: int,
    predicted: int | None = None,
    model_version: int = 1,
    model_sha256: str = MODEL_SHA256,
    input_spec_version: int = 2,
) -> dict[str, Any]:
    """The request body of POST /feedback for a uint8 [28, 28] image (the model's input)."""
    flat = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1)
    assert flat.size == 784
    return {
        "pixels": base64.b64encode(flat.tobytes()).decode("ascii"),
        "predicted": int((label + 1) % 10 if predicted is None else predicted),
        "label": int(label),
        "model_version": model_version,
        "model_sha256": model_sha256,
        "input_spec_version": input_spec_version,
    }


def canonical(body: dict[str, Any]) -> bytes:
    """The six members, keys sorted, no spaces: what the id is the SHA-256 of."""
    members = (
        "pixels",
        "predicted",
        "label",
        "model_version",
        "model_sha256",
        "input_spec_version",
    )
    return json.dumps({k: body[k] for k in members}, sort_keys=True, separators=(",", ":")).encode()


def sample_id(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


def stored(body: dict[str, Any], received_at: datetime) -> bytes:
    """The pending object's bytes: the canonical JSON plus received_at (ISO 8601 UTC, seconds)."""
    document = json.loads(canonical(body))
    document["received_at"] = received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def put_pending(
    bucket: str, body: dict[str, Any], received_at: datetime | None = None, s3: Any = None
) -> str:
    """Store one correction in the quarantine, write-once as the Lambda does; its id."""
    s3 = s3 or boto3.client("s3")
    identity = sample_id(body)
    s3.put_object(
        Bucket=bucket,
        Key=f"feedback/pending/{identity}.json",
        Body=stored(body, received_at or BASE_TIME),
        ContentType="application/json",
        IfNoneMatch="*",
    )
    return identity


def real_digits(count: int, skip: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """``count`` real MNIST digits (uint8 [N, 28, 28], labels [N]) from the offline sample,
    the digits 0-9 in turn, each class from its ``skip``-th image on. The tests' datasets
    (tests/fixtures/mnist and the e2e slice: the first 100 or 150 digits of each class) hold
    none of them."""
    from pipelines.mnist.code.idx import read_pair

    pair = read_pair(SAMPLE / "train-images-idx3-ubyte.gz", SAMPLE / "train-labels-idx1-ubyte.gz")
    chosen = [int(np.flatnonzero(pair.labels == i % 10)[skip + i // 10]) for i in range(count)]
    return pair.images[chosen].copy(), pair.labels[chosen].copy()


def put_many(
    bucket: str, images: np.ndarray, labels: np.ndarray, s3: Any = None
) -> list[dict[str, Any]]:
    """One pending correction per image, a second apart (index i arrives i-th); the bodies."""
    bodies = []
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        body = correction(image, int(label))
        put_pending(bucket, body, BASE_TIME + timedelta(seconds=i), s3)
        bodies.append(body)
    return bodies
