"""What the API benches share: timed requests, percentiles, the gateway's log, a client load.

Not a benchmark itself (`make bench` runs it and it prints nothing); the benches import it
from their own folder.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, nearest rank; `values` must not be empty."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(session: requests.Session, method: str, url: str, **kwargs: Any) -> tuple[float, int]:
    """One request read to its end: (milliseconds, HTTP status)."""
    started = time.perf_counter()
    answer = session.request(method, url, timeout=10, **kwargs)
    answer.content  # noqa: B018 - read the whole body
    return (time.perf_counter() - started) * 1000, answer.status_code


def log_records(path: Path) -> list[dict]:
    """The handlers' JSON log lines (one per request) in a gateway's log file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


@dataclass
class Load:
    """What a load run saw: client latencies (ms), errors by kind, what each request carried."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    payloads: list[Any] = field(default_factory=list)


def run_load(
    clients: int,
    seconds: float,
    request: Callable[[requests.Session], tuple[float, int, Any]],
    expected_status: int,
) -> Load:
    """`clients` threads, each with its own session, calling `request` until `seconds` pass.

    `request(session)` returns (milliseconds, status, payload); a status other than
    `expected_status` and any `requests` exception count as errors.
    """
    load = Load()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        own = requests.Session()
        mine, payloads, errors = [], [], []
        while time.monotonic() < stop:
            try:
                elapsed, status, payload = request(own)
                mine.append(elapsed)
                payloads.append(payload)
                if status != expected_status:
                    errors.append(f"HTTP {status}")
            except requests.RequestException as exc:
                errors.append(type(exc).__name__)
        with lock:
            load.latencies.extend(mine)
            load.payloads.extend(payloads)
            load.errors.extend(errors)

    print(f"load: {clients} clients for {seconds:.0f} s ...", flush=True)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.2)  # the gateway's last log lines
    return load
