"""POST /feedback under load through the local gateway, and what one accepted sample costs.

Starts a throwaway stack (`playground.throwaway`: the project's emulator and the gateway,
`playground serve api`) as separate processes on free loopback ports, registers one approved
version, then runs 50 concurrent clients for 30 s, each posting corrections as fast as it
can: every correction a new one (random pixels), so every accepted request is one S3 write,
the expensive case. Then a last round sends each of 200 stored corrections again, to time
the duplicate path. Prints requests per second, p50/p99, errors (anything but 202), and the
bytes stored per accepted sample (the objects under feedback/pending/); asserts nothing.

The rate limit is off for this run (PLAYGROUND_FEEDBACK_RATE_LIMIT_PER_MINUTE=0): all 50
clients come from one loopback address, so with the default limit (10 at once, then 30 a
minute per address) all but a handful of requests would be 429 by design, which measures the
limiter, not the endpoint (tests/integration/functions/feedback covers the limiter).
Target: zero errors; one sample stored in about 1.3 KB.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import boto3
import requests
from loadgen import log_records, percentile, run_load, timed

from functions.get_models.fixtures import register_model
from playground.throwaway import throwaway_stack

CLIENTS = 50
LOAD_SECONDS = 30.0
DUPLICATES = 200
OUT = Path("build/bench")


def correction(version: int, sha256: str, spec: int) -> dict:
    """A new correction: random 28x28 bytes, a random label."""
    pixels = os.urandom(784)
    return {
        "pixels": base64.b64encode(pixels).decode(),
        "predicted": pixels[0] % 10,
        "label": pixels[1] % 10,
        "model_version": version,
        "model_sha256": sha256,
        "input_spec_version": spec,
    }


def timed_post(session: requests.Session, url: str, body: dict) -> tuple[float, int]:
    return timed(session, "POST", url, json=body)


def stored_objects(s3: object, bucket: str) -> list[int]:
    """Sizes (bytes) of every object under feedback/pending/."""
    sizes: list[int] = []
    for page in s3.get_paginator("list_objects_v2").paginate(  # type: ignore[attr-defined]
        Bucket=bucket, Prefix="feedback/pending/"
    ):
        sizes.extend(item["Size"] for item in page.get("Contents", []))
    return sizes


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["PLAYGROUND_FEEDBACK_RATE_LIMIT_PER_MINUTE"] = "0"
    with throwaway_stack() as local:
        local.activate()
        settings = local.settings
        s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
        model = register_model(
            sagemaker,
            s3,
            group=settings.model_package_group,
            bucket=settings.model_bucket,
            region=settings.region,
            upload=False,
        )
        spec = int(model.metadata["input_spec_version"])
        url = f"{local.start_api()}/feedback"
        gateway_log = local.services[-1].log_file
        warm = timed_post(requests.Session(), url, correction(model.version, model.sha256, spec))
        if warm[1] != 202:
            raise SystemExit(f"the first correction was answered {warm[1]}, not 202")

        def one(own: requests.Session) -> tuple[float, int, dict]:
            body = correction(model.version, model.sha256, spec)
            return (*timed_post(own, url, body), body)

        mark = len(log_records(gateway_log))
        load = run_load(CLIENTS, LOAD_SECONDS, one, expected_status=202)
        latencies, errors, sent = load.latencies, load.errors, load.payloads
        handler_ms = [r["duration_ms"] for r in log_records(gateway_log)[mark:]]
        session = requests.Session()
        again = [timed_post(session, url, body) for body in sent[:DUPLICATES]]
        duplicate_ms = [elapsed for elapsed, _ in again]
        duplicate_errors = sum(status != 202 for _, status in again)
        sizes = stored_objects(s3, settings.data_bucket)

        total = len(latencies) + len(errors)
        report = [
            "rate limit: off for this run (all clients share one address; see the docstring)",
            f"load: {CLIENTS} clients x {LOAD_SECONDS:.0f} s: {total} requests"
            f" ({total / LOAD_SECONDS:.0f}/s), errors {len(errors)}",
            f"  client latency  p50 {percentile(latencies, 50):.1f} ms"
            f"  p99 {percentile(latencies, 99):.1f} ms",
            f"  handler time    p50 {percentile(handler_ms, 50):.1f} ms"
            f"  p99 {percentile(handler_ms, 99):.1f} ms (checks, registry read, S3 write)",
            f"repeated corrections ({len(again)}, sequential): p50"
            f" {percentile(duplicate_ms, 50):.1f} ms  p99 {percentile(duplicate_ms, 99):.1f} ms,"
            f" errors {duplicate_errors}",
            f"stored: {len(sizes)} objects for {len(sent) + 1} accepted corrections"
            f" (each stored once), {sum(sizes):,} bytes,"
            f" {sum(sizes) / max(1, len(sizes)):.0f} bytes per sample",
        ]
        if errors:
            report.append(f"  error kinds: {sorted(set(errors))}")
        report.append("target: zero errors; about 1.3 KB per sample")
        print("\n".join(report))
        (OUT / "feedback_load.txt").write_text("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
