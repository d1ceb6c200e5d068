"""An emulator served from the test's own process, with IAM enforcement on.

moto keeps its state per process, shared by every in-process emulator, so the emulator starts
from an empty moto and leaves it empty (role sessions' keys come from seeded ids another module
would reuse).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from localaws.background import free_port
from localaws.emulator import build_app


@contextmanager
def enforcing_emulator(state_dir: Path) -> Iterator[str]:
    """Serve a strict emulator enforcing IAM on a free port; yields its URL."""
    from werkzeug.serving import make_server

    app = build_app(state_dir, strict=True, iam=True)
    app.replay()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    requests.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()
    try:
        yield url
    finally:
        requests.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()
        server.shutdown()
