"""evaluate.py: the gate's numbers, parity, int8, and the champion from the registry."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

pytestmark = pytest.mark.slow  # these train a model (on the tiny slice)


def report_of(opt_ml: Path) -> dict[str, Any]:
    return json.loads((opt_ml / "processing/evaluation/evaluation.json").read_text())


def test_reports_the_numbers_the_gate_reads(evaluated: Path, prepared: Path) -> None:
    report = report_of(evaluated)
    chosen = evaluated / "processing/output/model/model.onnx"
    with np.load(prepared / "test/test.npz") as data:
        images, labels = data["images"], data["labels"]
    session = ort.InferenceSession(str(chosen))
    (logits,) = session.run(None, {"input": (images.astype(np.float32) / 255)[:, None]})

    # The exact paths the pipeline's JsonGet conditions use.
    assert report["metrics"]["accuracy"]["value"] == pytest.approx(
        float((logits.argmax(1) == labels).mean())
    )
    assert report["champion"]["accuracy_delta"] == 0.0
    assert report["champion"]["version"] is None
    assert report["parity"]["argmax_agreement"] == 1.0
    assert report["parity"]["max_abs_logit_diff"] < 1e-4
    assert report["model"]["size_bytes"] == chosen.stat().st_size
    assert report["model"]["sha256"] == hashlib.sha256(chosen.read_bytes()).hexdigest()
    matrix = np.array(report["metrics"]["confusion_matrix"])
    assert matrix.shape == (10, 10)
    assert matrix.sum() == len(labels)
    assert set(report["metrics"]["per_class"]) == {str(d) for d in range(10)}
    assert report["model"]["latency"]["batch1_median_ms"] > 0
    manifest = json.loads((prepared / "report/manifest.json").read_text())
    assert report["dataset_hash"] == manifest["dataset_hash"]
    png = evaluated / "processing/evaluation/confusion_matrix.png"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_int8_is_kept_only_within_the_tolerance(evaluated: Path) -> None:
    report = report_of(evaluated)
    quantization = report["quantization"]
    chosen = evaluated / "processing/output/model/model.onnx"
    ops = {node.op_type for node in onnx.load(str(chosen)).graph.node}

    assert quantization["attempted"] is True
    assert quantization["int8_size_bytes"] < quantization["fp32_size_bytes"] / 2
    assert quantization["kept"] == (quantization["accuracy_drop"] <= 0.003)
    assert report["model"]["quantized"] == quantization["kept"]
    assert ("QuantizeLinear" in ops) == quantization["kept"]


def test_a_zero_tolerance_keeps_fp32_when_int8_is_worse(
    evaluated: Path, tmp_path: Path, run_step: Callable[..., Any], trained: Any
) -> None:
    opt_ml = tmp_path / "opt_ml"
    shutil.copytree(evaluated / "processing", opt_ml / "processing")
    shutil.rmtree(opt_ml / "processing/output")

    run = run_step("evaluate.py", opt_ml, "--quantization-tolerance", "-1")

    assert run.returncode == 0, run.stderr
    report = report_of(opt_ml)
    assert report["quantization"]["kept"] is False
    assert report["model"]["quantized"] is False
    chosen = opt_ml / "processing/output/model/model.onnx"
    assert chosen.read_bytes() == (trained.model_dir / "model.onnx").read_bytes()


def test_a_test_split_other_than_the_manifests_is_refused(
    evaluated: Path, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    opt_ml = tmp_path / "opt_ml"
    shutil.copytree(evaluated / "processing", opt_ml / "processing")
    shutil.rmtree(opt_ml / "processing/output")
    shutil.rmtree(opt_ml / "processing/evaluation")
    test_file = opt_ml / "processing/test/test.npz"
    with np.load(test_file) as data:
        np.savez(test_file, images=data["images"][:-1], labels=data["labels"][:-1])

    run = run_step("evaluate.py", opt_ml, "--quantize", "false")

    assert run.returncode == 1
    assert "the test split is not the one the prepare step wrote" in run.failure
    assert not (opt_ml / "processing/evaluation/evaluation.json").exists()


# ---------------------------------------------------------------- champion (emulator)
