"""Time to the first prediction in Chromium, Firefox and WebKit, per session kind.

Runs the browser tests' own three-engine suite (web/e2e/engines.e2e.mjs through
web/e2e/engines.mjs) against a throwaway stack (emulator, API, the built site in
tests/support/switchable_site.py) with the real trained model, and prints, per engine and
session kind (a normal profile on a 360 px phone at DPR 3, a private one on a laptop at
DPR 2; WebKit has the private session only): the ms from opening the site to the first
digit's answer (the page, the list, a download of the model, its SHA-256, the wasm session,
one drawn 7), whether the stored model survived reloads while the site answered 503 and then
not at all, and the seconds each engine's run took. Asserts nothing about timings; an engine
this machine lacks is named and skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from playground.throwaway import throwaway_stack

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("chromium", "firefox", "webkit")


def _load(name: str) -> ModuleType:
    # The stack helpers live with the web tests; `tests` is not an importable package here.
    spec = importlib.util.spec_from_file_location(name, ROOT / f"tests/support/{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load tests/support/{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    """Print the figures; exit 1 when the site is not built or node is missing."""
    webstack = _load("webstack")
    switchable = _load("switchable_site")
    chromium = webstack.require_tools()
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed")
    rows: list[tuple[str, str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as scratch, throwaway_stack() as local:
        local.activate()
        versions = webstack.register_versions(local.settings, beside=webstack.attachments())
        api_url = local.start_api()
        with switchable.SwitchableSite(webstack.DIST, api_url, local.settings.emulator_url) as site:
            for engine in ENGINES:
                timings = Path(scratch) / f"{engine}.json"
                start = time.monotonic()
                result = subprocess.run(
                    [node, "--test-reporter=dot", "e2e/engines.e2e.mjs"],
                    cwd=webstack.WEB,
                    env={
                        **os.environ,
                        "CHROMIUM_PATH": chromium,
                        "ENGINE": engine,
                        "SITE_URL": site.url,
                        "CONTROL_URL": site.control_url,
                        "GOOD_VERSION": str(versions.good),
                        "TIMINGS": str(timings),
                    },
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
                took = f"{time.monotonic() - start:.0f} s"
                if not timings.is_file():
                    tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
                    rows.append((engine, "-", "-", "not run: " + " | ".join(tail), took))
                    continue
                for kind, figures in json.loads(timings.read_text()).items():
                    screen = figures["screen"]
                    rows.append(
                        (
                            engine,
                            f"{kind} {screen['width']}px DPR {screen['dpr']}",
                            f"{figures['first_prediction_ms']} ms",
                            str(figures.get("offline", "not reached")),
                            took,
                        )
                    )
    header = ("engine", "session", "first prediction", "after 503 and offline", "run")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
