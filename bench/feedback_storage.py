"""Bytes stored per accepted feedback sample, and how long a review takes.

Starts a throwaway emulator (`playground.throwaway`), seeds the offline sample (10,000
digits) as the latest dataset version, then for N in (10, 100, 500): stores N corrections of
real digits in the quarantine exactly as contracts/feedback.md says (canonical JSON plus
received_at), and reviews them all as accepted. Measured:

- a pending object's size (what waits in quarantine, deleted by the review);
- the feedback shard's bytes per sample (gzip IDX images + labels; the shard holds every
  sample accepted so far, so each review version repeats the earlier ones);
- the manifest's growth per sample (two 64-hex ids: `accepted` and `ids`);
- the review's wall time (list + checks + version + record + deletes) on the emulator.

Prints figures; asserts nothing about timings.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import time
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np

from pipelines.mnist.code.idx import read_pair
from playground import data
from playground import feedback as fb
from playground.throwaway import throwaway_stack

SIZES = (10, 100, 500)
SAMPLE = data.SAMPLE_DIR


def digits(count: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Real digits with one pixel changed by ``offset`` so every run's samples are new."""
    pair = read_pair(SAMPLE / "train-images-idx3-ubyte.gz", SAMPLE / "train-labels-idx1-ubyte.gz")
    images = pair.images[:count].copy()
    images[:, 0, 0] = (offset % 250) + 1  # no MNIST digit has ink in that corner
    return images, pair.labels[:count].copy()


def store(s3, bucket: str, images: np.ndarray, labels: np.ndarray) -> list[int]:  # type: ignore[no-untyped-def]
    sizes = []
    start = datetime(2026, 11, 30, tzinfo=UTC)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        body = {
            "pixels": base64.b64encode(image.tobytes()).decode("ascii"),
            "predicted": int((label + 1) % 10),
            "label": int(label),
            "model_version": 1,
            "model_sha256": hashlib.sha256(b"bench").hexdigest(),
            "input_spec_version": 2,
        }
        stamp = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        stored = json.dumps({**body, "received_at": stamp}, sort_keys=True, separators=(",", ":"))
        s3.put_object(
            Bucket=bucket, Key=f"{fb.PENDING_PREFIX}{fb.sample_id(body)}.json", Body=stored.encode()
        )
        sizes.append(len(stored))
    return sizes


def main() -> int:
    with throwaway_stack() as stack:
        import os

        os.environ.update(stack.environment)
        from mlops_settings import Settings

        settings = Settings()
        data.seed(settings, "sample")
        s3 = boto3.client("s3")
        base = data.list_versions(settings)[-1]
        base_manifest = len(
            s3.get_object(Bucket=settings.data_bucket, Key=base.manifest_key)["Body"].read()
        )
        accepted_so_far = 0
        for round_, size in enumerate(SIZES):
            images, labels = digits(size, round_ + 1)
            pending = store(s3, settings.data_bucket, images, labels)
            started = time.perf_counter()
            listed = fb.list_pending(settings)
            result = fb.review(settings, fb.decide(listed.samples, accept_all=True), "bench")
            seconds = time.perf_counter() - started
            accepted_so_far += size
            version = data.list_versions(settings)[-1]
            shard = sum(int(o["size"]) for o in version.objects if "feedback-" in str(o["key"]))
            manifest = len(
                s3.get_object(Bucket=settings.data_bucket, Key=version.manifest_key)["Body"].read()
            )
            print(
                f"review of {size} samples (shard now {result.shard_size}): {seconds:.2f} s; "
                f"pending object {np.mean(pending):.0f} B each (deleted); shard "
                f"{shard / accepted_so_far:.1f} B per sample ({shard} B); manifest "
                f"+{(manifest - base_manifest) / accepted_so_far:.1f} B per sample"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
