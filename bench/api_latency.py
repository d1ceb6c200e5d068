"""Latency of GET /models through the local gateway, with 200 registered versions.

Starts a throwaway stack (`playground.throwaway`: the project's emulator and the gateway,
`playground serve api`) as separate processes on free loopback ports, registers 200 approved
versions, then measures:

- p50/p99 latency of sequential GET /models (default page size) and GET /models/{version};
- registry calls per request (from the handler's JSON log lines);
- a load run: 50 concurrent clients for 30 s (loopback only), with its error count.

Prints figures and writes a latency histogram; asserts nothing about timings.
Targets: p50 <= 20 ms, p99 <= 60 ms, zero errors under load.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import boto3
import matplotlib
import requests
from loadgen import log_records, percentile, run_load, timed
from tqdm import tqdm

from functions.get_models.fixtures import register_model
from playground.throwaway import throwaway_stack

matplotlib.use("Agg")
import matplotlib.pyplot as plt

VERSIONS = 200
SEQUENTIAL_REQUESTS = 300
CLIENTS = 50
LOAD_SECONDS = 30.0
OUT = Path("build/bench")


def timed_get(session: requests.Session, url: str) -> tuple[float, int]:
    return timed(session, "GET", url)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    # The same emulator and gateway services `make up` runs, on free ports, fresh state.
    with throwaway_stack() as local:
        local.activate()
        settings = local.settings
        # Started before any version exists, so its health check warms no cache.
        api = local.start_api()
        gateway_log = local.services[-1].log_file
        s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
        for seed in tqdm(range(VERSIONS), desc="registering versions", unit="version"):
            register_model(
                sagemaker,
                s3,
                group=settings.model_package_group,
                bucket=settings.model_bucket,
                region=settings.region,
                seed=seed,
                upload=False,
            )
        cold_ms, _ = timed_get(requests.Session(), f"{api}/models")
        time.sleep(0.2)
        cold_calls = log_records(gateway_log)[-1]["registry_calls"]

        session = requests.Session()
        for _ in range(20):
            timed_get(session, f"{api}/models")
        mark = len(log_records(gateway_log))
        listing = [
            timed_get(session, f"{api}/models")[0]
            for _ in tqdm(range(SEQUENTIAL_REQUESTS), desc="GET /models")
        ]
        single = [
            timed_get(session, f"{api}/models/{1 + i % VERSIONS}")[0]
            for i in tqdm(range(100), desc="GET /models/{v}")
        ]
        time.sleep(0.2)
        sequential_logs = log_records(gateway_log)[mark:]
        list_calls = [r["registry_calls"] for r in sequential_logs if r["path"] == "/models"]

        # Load: 50 clients, each its own connection, as many requests as they can for 30 s.
        mark = len(log_records(gateway_log))
        load = run_load(
            CLIENTS,
            LOAD_SECONDS,
            lambda own: (*timed_get(own, f"{api}/models"), None),
            expected_status=200,
        )
        latencies, errors = load.latencies, load.errors
        load_logs = log_records(gateway_log)[mark:]
        load_calls = [r["registry_calls"] for r in load_logs]
        server_ms = [r["duration_ms"] for r in load_logs]

        print()
        total = len(latencies) + len(errors)
        report = [
            f"versions registered: {VERSIONS} (all approved); page size 20 (the default)",
            f"first GET /models (cold caches): {cold_ms:.1f} ms, {cold_calls} registry calls"
            " (1 listing + 1 describe per version on the page)",
            f"GET /models, sequential:           p50 {percentile(listing, 50):6.1f} ms"
            f"  p99 {percentile(listing, 99):6.1f} ms  (n={len(listing)})",
            f"GET /models/{{version}}, sequential: p50 {percentile(single, 50):6.1f} ms"
            f"  p99 {percentile(single, 99):6.1f} ms  (n={len(single)}, mostly cache misses)",
            f"registry calls per GET /models after the first: mean"
            f" {statistics.mean(list_calls):.2f}, max {max(list_calls)} (answers reused for 2 s)",
            f"load: {CLIENTS} clients x {LOAD_SECONDS:.0f} s: {total} requests"
            f" ({total / LOAD_SECONDS:.0f}/s), errors {len(errors)}",
            f"  client latency  p50 {percentile(latencies, 50):.1f} ms"
            f"  p99 {percentile(latencies, 99):.1f} ms",
            f"  handler time    p50 {percentile(server_ms, 50):.1f} ms"
            f"  p99 {percentile(server_ms, 99):.1f} ms",
            f"  registry calls per request {statistics.mean(load_calls):.3f}",
        ]
        if errors:
            report.append(f"  error kinds: {sorted(set(errors))}")
        report.append("targets: p50 <= 20 ms, p99 <= 60 ms, zero errors under load")
        print("\n".join(report))
        figure, axes = plt.subplots(1, 2, figsize=(11, 4))
        axes[0].hist(listing, bins=40, color="tab:blue")
        axes[0].set_title(f"GET /models, sequential (n={len(listing)})")
        axes[1].hist(latencies, bins=60, color="tab:orange")
        axes[1].set_title(
            f"GET /models, {CLIENTS} clients (n={len(latencies)}, errors {len(errors)})"
        )
        for axis in axes:
            axis.set_xlabel("latency (ms)")
            axis.set_ylabel("requests")
        figure.tight_layout()
        figure.savefig(OUT / "api_latency.png", dpi=120)
        print(f"histogram: {OUT / 'api_latency.png'}")


if __name__ == "__main__":
    main()
