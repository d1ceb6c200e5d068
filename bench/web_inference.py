"""The web app in headless chromium: time to first prediction, inference time, agreement, bytes.

Starts a throwaway stack (`playground.throwaway`: the project's emulator), registers the real
trained model (tests/fixtures/web/model.onnx: the file the pipeline ships, int8 QDQ by
default), starts the API gateway and the built site, then in chromium (web/e2e/bench.mjs):

- time from choosing a model to the model being ready (download, SHA-256, session), plus the
  first inference; the same from the browser's storage after an offline reload;
- median inference time over 200 digits (batch of 1, as a drawing is predicted);
- argmax agreement with Python onnxruntime on 500 held-out MNIST digits fed as tensors;
- bytes of JS and wasm the site ships.

Prints figures and writes a histogram of inference times; asserts nothing about timings.
Targets: first prediction <= 1 s on localhost, median inference <= 2 ms, agreement 100%.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import matplotlib
import numpy as np
import onnxruntime as ort

from playground.throwaway import throwaway_stack

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]


def _load_webstack() -> ModuleType:
    # The stack helpers live with the web tests; `tests` is not an importable package here.
    spec = importlib.util.spec_from_file_location("webstack", ROOT / "tests/support/webstack.py")
    if spec is None or spec.loader is None:
        raise ImportError("cannot load tests/support/webstack.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["webstack"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


webstack = _load_webstack()
DIST, FIXTURES, MODEL, WEB = webstack.DIST, webstack.FIXTURES, webstack.MODEL, webstack.WEB

OUT = Path("build/bench")
RUNS = 200


def shipped_bytes() -> dict[str, int]:
    """Bytes of JS and wasm in the built site, by kind."""
    sizes = {"js": 0, "wasm": 0, "other": 0}
    for path in DIST.rglob("*"):
        if path.is_file():
            kind = {".js": "js", ".mjs": "js", ".wasm": "wasm"}.get(path.suffix, "other")
            sizes[kind] += path.stat().st_size
    return sizes


def model_kind(path: Path) -> str:
    """ "int8 QDQ" when the graph quantizes (QuantizeLinear nodes), else "fp32"."""
    import onnx

    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    return "int8 QDQ" if "QuantizeLinear" in ops else "fp32"


def main() -> None:
    chromium = webstack.require_tools()
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed")
    with np.load(FIXTURES / "heldout.npz") as data:
        images, labels = data["images"].astype(np.uint8), data["labels"]
    tensors = images.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    reference = ort.InferenceSession(str(MODEL)).run(None, {"input": tensors})[0].argmax(axis=1)

    with throwaway_stack() as local:
        local.activate()
        versions = webstack.register_versions(local.settings)
        with tempfile.TemporaryDirectory() as tmp:
            heldout = Path(tmp) / "heldout.json"
            heldout.write_text(
                json.dumps(
                    {
                        "count": len(images),
                        "pixels_base64": base64.b64encode(
                            images.astype(np.uint8).tobytes()
                        ).decode(),
                    }
                )
            )
            print("starting the API and the site, then chromium ...", flush=True)
            local.start_api()
            site_url = local.start_site()
            result = subprocess.run(
                [node, "e2e/bench.mjs"],
                cwd=WEB,
                env={
                    **os.environ,
                    "CHROMIUM_PATH": chromium,
                    "SITE_URL": site_url,
                    "GOOD_VERSION": str(versions.good),
                    "HELDOUT": str(heldout),
                    "RUNS": str(RUNS),
                },
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        if result.returncode != 0:
            raise SystemExit(f"browser benchmark failed:\n{result.stdout}\n{result.stderr}")
        figures = json.loads(result.stdout.strip().splitlines()[-1])

    browser = np.array(figures["argmax"])
    agreement = float((browser == reference).mean())
    times = figures["inference_ms"]
    sizes = shipped_bytes()
    first = figures["choose_to_ready_ms"] + figures["first_inference_ms"]
    stored = figures["stored_to_ready_ms"] + figures["stored_first_inference_ms"]
    print(
        f"model: {model_kind(MODEL)}, {MODEL.stat().st_size:,} bytes"
        f" (sha256 {versions.good_sha256[:12]})"
    )
    print(
        f"choose -> first prediction (download, verify, session, inference): {first:.0f} ms"
        f"  [ready {figures['choose_to_ready_ms']:.0f} ms + inference"
        f" {figures['first_inference_ms']:.1f} ms]   target <= 1000 ms"
    )
    print(f"stored model, offline reload -> first prediction: {stored:.0f} ms")
    print(
        f"page load -> wasm runtime started (before any choice): "
        f"{figures['page_load_to_runtime_ms']:.0f} ms"
    )
    print(
        f"inference over {len(times)} digits (batch 1): median {statistics.median(times):.2f} ms,"
        f" p90 {np.percentile(times, 90):.2f} ms   target median <= 2 ms"
    )
    print(
        f"argmax agreement with Python onnxruntime on {len(browser)} held-out digits:"
        f" {agreement:.2%} ({int((browser != reference).sum())} differ)   target 100%"
    )
    for index in np.nonzero(browser != reference)[0]:
        print(
            f"  digit #{index} (a {labels[index]}): browser {browser[index]},"
            f" onnxruntime {reference[index]}"
        )
    print(f"accuracy of the browser on those digits: {(browser == labels).mean():.2%}")
    print(
        f"shipped: JS {sizes['js']:,} bytes, wasm {sizes['wasm']:,} bytes,"
        f" other {sizes['other']:,} bytes"
    )

    OUT.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.hist(times, bins=40, color="#2f6fec")
    axis.axvline(statistics.median(times), color="black", linestyle="--", label="median")
    axis.set_xlabel("inference time in chromium, one digit (ms)")
    axis.set_ylabel("digits")
    axis.set_title("onnxruntime-web (wasm, 1 thread)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(OUT / "web_inference.png", dpi=120)
    print(f"histogram: {OUT / 'web_inference.png'}")


if __name__ == "__main__":
    main()
