"""Small digits and taps drawn in chromium, by mouse and by touch, on the real site.

A slice of the drawn-digit benchmark (bench/drawn_digits.py, web/e2e/drawn.mjs) with the
fixture model (the pipeline's int8 file): plain digits 20% of the pad tall in the corners and
the centre, and taps and tiny scribbles, which must never get an answer nor even run the model.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mlops_settings import Settings
from playground.throwaway import ThrowawayStack
from support.webstack import ROOT, register_versions, require_tools

pytestmark = pytest.mark.slow


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drawn_digits", ROOT / "bench/drawn_digits.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["drawn_digits"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_small_digits_are_read_and_taps_are_not(
    emulator: Settings, throwaway: ThrowawayStack, tmp_path: Path
) -> None:
    chromium = require_tools()
    bench = load_bench()
    plan = bench.plan()
    small = [d for d in plan if d.kind == "digit" and d.size == 0.2 and d.style == 0]
    # Taps (a dot as wide as the pen) and tiny scribbles: ink, but too little to be a digit.
    taps = [d for d in plan if d.kind == "tap"][:8] + [d for d in plan if d.kind == "scribble"][:4]
    assert {d.input for d in small} == {"mouse", "touch"}
    assert {d.input for d in taps} == {"mouse", "touch"}
    assert {d.position for d in small} > {"centre"}
    versions = register_versions(emulator)

    try:
        throwaway.start_api()
        site_url = throwaway.start_site()
        results = {
            r["id"]: r
            for r in bench.draw_in_browser(small + taps, site_url, versions.good, chromium)
        }
    finally:
        throwaway.stop_services()

    read = [d for d in small if results[d.id]["reading"] == "digit"]
    right = [d for d in read if results[d.id]["digit"] == d.label]
    wrong = {(d.label, results[d.id]["digit"], d.position, d.input) for d in read} - {
        (d.label, d.label, d.position, d.input) for d in right
    }
    assert len(right) >= 0.95 * len(small), f"{len(right)}/{len(small)} read; wrong: {wrong}"
    assert not wrong, f"small digits read confidently as another digit: {wrong}"
    for tap in taps:
        assert results[tap.id]["reading"] == "not_a_digit", (tap, results[tap.id]["reading"])
        assert results[tap.id]["p"] == 0.0  # no bars, no answer
        assert results[tap.id]["inferences"] == 0, "a tap ran the model"
    assert all(results[d.id]["inferences"] >= 1 for d in read)  # the counter does count
