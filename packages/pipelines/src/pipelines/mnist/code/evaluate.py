"""Evaluate step: the shipped file's accuracy, parity and size, and the champion comparison.

Runs as a SageMaker processing job. Inputs: /opt/ml/processing/model/model.tar.gz (the
training job's model directory: model.onnx and model.pt), and from prepare
/opt/ml/processing/{train,validation,test}/<split>.npz with
/opt/ml/processing/manifest/manifest.json (every split's SHA-256 is checked against it).
Outputs: /opt/ml/processing/evaluation/evaluation.json (contracts/evaluation-report.md; the
gate reads it through a PropertyFile) with confusion_matrix.png, training_curves.png (train's,
when its archive holds one) and report.html (the run report, `report.py`), and
/opt/ml/processing/output/model/model.onnx, the file to register.

The gate's limits arrive as ``--gate-limit NAME VALUE``; this step judges them with the same
table as the pipeline's ConditionStep (`gates.py`), so the run report (and evaluation.json's
``gates``) shows every decision with its value and limit. With ``--model-bucket`` and
``--pipeline-execution-id`` the report is uploaded to
``s3://<model bucket>/reports/<execution id>/report.html`` for every run, passed or not, and
next to the model (``models/<group>/<sha256>/report.html``, with ``confusion_matrix.png`` and
``training_curves.png`` beside it) when every gate passed. With
``--mlflow-tracking-uri`` the execution is logged as one MLflow run (`tracking.py`); its id
goes into evaluation.json's ``tracking`` and from there into the registry entry.

The shipped file is also scored on the test split under every variation of `variations.py`
(shifted, scaled, rotated, slanted, thin, thick, broken, blurred, low-resolution and noisy
digits): ``robustness`` in evaluation.json, a gate per variation.

Which data does what: int8 calibration uses training images only; int8 is kept over fp32 when
it loses at most 0.3 accuracy points on the validation split; every number the gate judges
(accuracy, per-class recall, parity, size) is measured on the file that ships, on the test
split. The champion (the newest Approved model package; its file checked against its
registered SHA-256) is scored on the same test images and compared with McNemar's exact test.
This step reads the registry, so the pipeline never caches it.
"""

from __future__ import annotations

import os

# Before torch loads OpenMP (variations.py imports it): idle threads sleep instead of spinning,
# as in train.py. On two shared cores a spinning pool made every small torch operation of the
# robustness variations wait for a descheduled thread.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import io
import json
import math
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from container import fail, opt_ml, parse_bool, sha256_bytes, sha256_file, write_json
from gates import judge
from idx import NUM_CLASSES
from registry_entry import model_file_uri
from report import outcome
from tracking import (
    EXPERIMENT,
    FAILED,
    RunEnd,
    TrackedRun,
    as_json,
    dataset_input,
    epoch_ms,
    log_run,
)
from variations import robustness

QUANTIZATION_TOLERANCE = 0.003  # 0.3 accuracy points, on the validation split
CALIBRATION_IMAGES = 256
LATENCY_RUNS = 200
CHAMPION_SIGNIFICANCE = 0.05
DECISION_RULE = (
    "Paired comparison on the same test images. b = images only the champion classifies "
    "correctly, c = images only the challenger classifies correctly. If both were equally "
    "accurate, b would follow Binomial(b + c, 1/2); p_value_worse = P(X >= b) is McNemar's "
    "exact test, one-sided. The challenger is refused when p_value_worse < {alpha} (it is "
    "significantly worse than the champion); with no champion, p_value_worse = 1. "
    "Source: McNemar, Q. (1947), Note on the sampling error of the difference between "
    "correlated proportions or percentages, Psychometrika 12(2), 153-157; exact binomial form "
    "as in Fagerland, Lydersen and Laake (2013), BMC Medical Research Methodology 13:91."
)


class EvaluationError(RuntimeError):
    """An input is missing or does not match what the earlier steps recorded."""


# ---------------------------------------------------------------- inputs


def extract_model(model_dir: Path, work_dir: Path) -> Path:
    """The folder holding model.onnx and model.pt (unpacking model.tar.gz when present)."""
    archive = model_dir / "model.tar.gz"
    if archive.is_file():
        target = work_dir / "model"
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")  # refuses absolute paths and links outside
        model_dir = target
    for name in ("model.onnx", "model.pt"):
        if not (model_dir / name).is_file():
            raise EvaluationError(f"{name} not found in {model_dir} (nor in a model.tar.gz)")
    return model_dir


def load_splits(
    data_dir: Path, manifest_path: Path, names: Sequence[str] = ("train", "validation", "test")
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], str]:
    """Images and labels of each split, checked against prepare's manifest; the dataset hash.

    ``data_dir`` holds one folder per split (``test/test.npz``...), as the job mounts them.
    """
    if not manifest_path.is_file():
        raise EvaluationError(f"manifest.json not found at {manifest_path}")
    manifest = json.loads(manifest_path.read_text())
    splits = {}
    for name in names:
        path = data_dir / name / f"{name}.npz"
        if not path.is_file():
            raise EvaluationError(f"{name}.npz not found in {path.parent}")
        expected = manifest.get("files", {}).get(f"{name}/{name}.npz")
        actual = sha256_file(path)
        if expected != actual:
            raise EvaluationError(
                f"{name}.npz has SHA-256 {actual[:12]}..., the manifest records "
                f"{str(expected)[:12]}...: the {name} split is not the one the prepare step wrote"
            )
        with np.load(path, allow_pickle=False) as data:
            splits[name] = (data["images"], data["labels"])
    return splits, str(manifest["dataset_hash"])


def feedback_of(
    data_dir: Path, labels: np.ndarray, predictions: np.ndarray
) -> dict[str, int | float | None]:
    """Accuracy on the test images that came from the feedback shard (contracts/feedback.md).

    prepare marks them in ``test/test.npz`` (``feedback``, bool [N], only with a shard; the
    file's SHA-256 was checked by `load_splits`). Returns ``test_count``, ``test_correct``
    and ``test_accuracy`` (0-1, None when there are none).
    """
    with np.load(data_dir / "test" / "test.npz", allow_pickle=False) as data:
        mask = data["feedback"] if "feedback" in data.files else np.zeros(len(labels), bool)
    count = int(mask.sum())
    correct = int((predictions[mask] == labels[mask]).sum())
    return {
        "test_count": count,
        "test_correct": correct,
        "test_accuracy": correct / count if count else None,
    }


# ---------------------------------------------------------------- scoring


def onnx_session(model: str | Path | bytes, threads: int = 0) -> Any:
    """An onnxruntime CPU session for a model file or its bytes."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3  # errors only
    # onnxruntime's pool threads spin for a while after every run by default; in a step that
    # alternates onnxruntime and torch on two shared cores the spinning threads took the CPU
    # torch needed (torch's parity forward pass took 2.9 s instead of 0.1 s).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def onnx_logits(session: Any, inputs: np.ndarray, batch: int = 500) -> np.ndarray:
    """Logits for float32 inputs [N, 1, 28, 28], computed in batches."""
    name = session.get_inputs()[0].name
    parts = [
        session.run(None, {name: inputs[i : i + batch]})[0] for i in range(0, len(inputs), batch)
    ]
    return np.concatenate(parts).astype(np.float32)


def torch_logits(state_path: Path, inputs: np.ndarray) -> np.ndarray:
    """Logits of the PyTorch model (the weights training saved) for the same inputs."""
    import torch
    from model import load_state

    model = load_state(state_path)
    with torch.no_grad():
        return torch.cat([model(chunk) for chunk in torch.from_numpy(inputs).split(500)]).numpy()


def classification_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-class precision and recall, and the confusion matrix (rows: true digit)."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    per_class = {}
    for digit in range(NUM_CLASSES):
        predicted, actual = matrix[:, digit].sum(), matrix[digit].sum()
        hits = matrix[digit, digit]
        per_class[str(digit)] = {
            "precision": float(hits / predicted) if predicted else 0.0,
            "recall": float(hits / actual) if actual else 0.0,
            "support": int(actual),
        }
    weakest = min(per_class, key=lambda digit: per_class[digit]["recall"])
    return {
        "accuracy": float(np.trace(matrix) / matrix.sum()),
        "min_class_recall": {"value": per_class[weakest]["recall"], "digit": int(weakest)},
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
    }


def latency_ms(model_path: Path, sample: np.ndarray) -> dict[str, float]:
    """Single-image CPU latency on one thread (how the browser runs it): median and p95."""
    session = onnx_session(model_path, threads=1)
    name = session.get_inputs()[0].name
    one = sample[:1]
    for _ in range(10):
        session.run(None, {name: one})
    timings = []
    deadline = time.perf_counter() + 3.0  # bounded, whatever the machine's load
    for _ in range(LATENCY_RUNS):
        start = time.perf_counter()
        session.run(None, {name: one})
        timings.append((time.perf_counter() - start) * 1000)
        if time.perf_counter() > deadline:
            break
    timings.sort()
    return {
        "batch1_median_ms": statistics.median(timings),
        "batch1_p95_ms": timings[min(len(timings) - 1, int(len(timings) * 0.95))],
        "runs": len(timings),
    }


def quantize(fp32_path: Path, int8_path: Path, calibration: np.ndarray) -> Path:
    """Static int8 quantization in QDQ format (per-channel 7-bit weights, uint8 activations)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Calibration(CalibrationDataReader):
        """Feeds the calibration images in a few batches (one pass is enough for MinMax)."""

        def __init__(self) -> None:
            self.batches = iter(np.array_split(calibration, 8))

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {"input": batch}

    prepared = int8_path.with_name("model.prep.onnx")
    quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared),
        str(int8_path),
        Calibration(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        # 7-bit weights: x86 CPUs without VNNI saturate 8-bit products (measured: 98.7%
        # argmax agreement with full-range weights, 99.8% with reduced range).
        reduce_range=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    prepared.unlink(missing_ok=True)
    return int8_path


# ---------------------------------------------------------------- champion


def find_champion(group: str, region: str | None) -> dict[str, Any] | None:
    """The newest Approved model package of the group, or None when there is none."""
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client("sagemaker", region_name=region)
    try:
        pages = client.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group, ModelApprovalStatus="Approved"
        )
        summaries = [s for page in pages for s in page["ModelPackageSummaryList"]]
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
            return None  # no such group yet: the first model has no champion
        raise
    if not summaries:
        return None
    newest = max(summaries, key=lambda s: (s.get("ModelPackageVersion", 0), s["CreationTime"]))
    return dict(client.describe_model_package(ModelPackageName=newest["ModelPackageArn"]))


def download_champion(package: dict[str, Any], region: str | None) -> bytes:
    """The champion's ONNX bytes, refused when missing or not matching the registered SHA-256."""
    import boto3
    from botocore.exceptions import ClientError

    url = model_file_uri(package["InferenceSpecification"]["Containers"][0]) or ""
    if not url.startswith("s3://"):
        raise EvaluationError(f"champion's model file {url!r} is not an s3:// URL")
    bucket, _, key = url[len("s3://") :].partition("/")
    try:
        body = boto3.client("s3", region_name=region).get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("NoSuchKey", "404", "NoSuchBucket"):
            raise
        # Without the champion's file there is nothing fair to compare against: stop, and say
        # what a person can do, rather than approve a model unchecked.
        raise EvaluationError(
            f"champion version {package.get('ModelPackageVersion')}: its model file {url} is "
            "missing; restore it (rerun the pipeline that registered it) or reject that version"
        ) from None
    data: bytes = body.read()
    expected = package.get("CustomerMetadataProperties", {}).get("sha256")
    if expected != sha256_bytes(data):
        raise EvaluationError(
            f"champion version {package.get('ModelPackageVersion')} ({url}) has SHA-256 "
            f"{sha256_bytes(data)[:12]}..., its registry entry says {str(expected)[:12]}...: "
            "refusing to run it"
        )
    return data


def mcnemar_exact(champion_correct: np.ndarray, challenger_correct: np.ndarray) -> dict[str, Any]:
    """McNemar's exact test on paired outcomes (bool [N] each): is the challenger worse?

    Returns b (only the champion right), c (only the challenger right) and the one-sided
    p-value P(X >= b) for X ~ Binomial(b + c, 1/2), computed exactly with integers.
    """
    b = int((champion_correct & ~challenger_correct).sum())
    c = int((~champion_correct & challenger_correct).sum())
    n = b + c
    p_worse = sum(math.comb(n, k) for k in range(b, n + 1)) / 2**n if n else 1.0
    return {"only_champion_correct": b, "only_challenger_correct": c, "p_value_worse": p_worse}


def compare_with_champion(
    group: str,
    region: str | None,
    inputs: np.ndarray,
    labels: np.ndarray,
    challenger_predictions: np.ndarray,
    significance: float,
) -> dict[str, Any]:
    """The champion block of the report (contracts/evaluation-report.md)."""
    accuracy = float((challenger_predictions == labels).mean())
    rule = DECISION_RULE.format(alpha=significance)
    no_champion = {
        "version": None,
        "arn": None,
        "sha256": None,
        "accuracy": None,
        "accuracy_delta": 0.0,
        "only_champion_correct": 0,
        "only_challenger_correct": 0,
        "p_value_worse": 1.0,
        "significance": significance,
        "decision": "no champion",
        "decision_rule": rule,
    }
    if not group:
        return {**no_champion, "note": "no model package group given"}
    package = find_champion(group, region)
    if package is None:
        return {**no_champion, "note": f"no Approved model in group {group}"}
    session = onnx_session(download_champion(package, region))
    champion_predictions = onnx_logits(session, inputs).argmax(1)
    champion_accuracy = float((champion_predictions == labels).mean())
    test = mcnemar_exact(champion_predictions == labels, challenger_predictions == labels)
    worse = test["p_value_worse"] < significance
    print(
        f"champion version {package['ModelPackageVersion']}: accuracy {champion_accuracy:.4f}; "
        f"only champion right {test['only_champion_correct']}, only challenger right "
        f"{test['only_challenger_correct']}, p {test['p_value_worse']:.4g}"
    )
    return {
        "version": package["ModelPackageVersion"],
        "arn": package["ModelPackageArn"],
        "sha256": package.get("CustomerMetadataProperties", {}).get("sha256"),
        "accuracy": champion_accuracy,
        "registered_test_accuracy": package.get("CustomerMetadataProperties", {}).get(
            "test_accuracy"
        ),
        "accuracy_delta": accuracy - champion_accuracy,
        **test,
        "significance": significance,
        "decision": "worse than the champion" if worse else "not worse than the champion",
        "decision_rule": rule,
    }


# ---------------------------------------------------------------- report


def confusion_png(matrix: list[list[int]], accuracy: float) -> bytes:
    """The confusion matrix as a picture, counts in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.array(matrix)
    figure, axes = plt.subplots(figsize=(6.5, 5.5), dpi=100)
    image = axes.imshow(values, cmap="Blues")
    for (row, col), count in np.ndenumerate(values):
        if count:
            colour = "white" if count > values.max() / 2 else "black"
            axes.text(col, row, str(count), ha="center", va="center", color=colour, fontsize=8)
    axes.set_xticks(range(NUM_CLASSES))
    axes.set_yticks(range(NUM_CLASSES))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    axes.set_title(f"Confusion matrix (test accuracy {accuracy:.2%})")
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def parity_of(logits: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """How closely ONNX logits [N, 10] follow the PyTorch logits for the same inputs."""
    return {
        "argmax_agreement": float((logits.argmax(1) == reference.argmax(1)).mean()),
        "max_abs_logit_diff": float(np.abs(logits - reference).max()),
    }


def evaluate(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    """Choose the file to ship, measure it and the champion; write it; return the report."""
    from model import to_input

    model_dir = extract_model(Path(args.model_dir), work_dir)
    splits, dataset_hash = load_splits(
        Path(args.data_dir), Path(args.manifest_dir) / "manifest.json"
    )
    test_images, labels = splits["test"]
    inputs = to_input(test_images)
    val_inputs, val_labels = to_input(splits["validation"][0]), splits["validation"][1]
    fp32_path = model_dir / "model.onnx"
    fp32_session = onnx_session(fp32_path)

    chosen_path, quantization = fp32_path, {"attempted": args.quantize}
    shipped_session = fp32_session
    if args.quantize:
        # Calibration sees training images only (never the labels, never the test split);
        # the train split is ordered by content hash, so its head is a fair sample.
        calibration = to_input(splits["train"][0][:CALIBRATION_IMAGES])
        int8_path = quantize(fp32_path, work_dir / "model.int8.onnx", calibration)
        int8_session = onnx_session(int8_path)
        fp32_val = float((onnx_logits(fp32_session, val_inputs).argmax(1) == val_labels).mean())
        int8_val = float((onnx_logits(int8_session, val_inputs).argmax(1) == val_labels).mean())
        drop = fp32_val - int8_val
        keep = drop <= args.quantization_tolerance + 1e-12
        quantization.update(
            {
                "kept": keep,
                "chosen_on": "validation",
                "calibrated_on": f"{len(calibration)} training images",
                "fp32_validation_accuracy": fp32_val,
                "int8_validation_accuracy": int8_val,
                "accuracy_drop": drop,
                "tolerance": args.quantization_tolerance,
                "fp32_size_bytes": fp32_path.stat().st_size,
                "int8_size_bytes": int8_path.stat().st_size,
            }
        )
        print(f"int8: validation accuracy {int8_val:.4f} (drop {drop:+.4f}), kept={keep}")
        if keep:
            chosen_path, shipped_session = int8_path, int8_session

    # Everything below judges the file that ships, on the test split.
    reference = torch_logits(model_dir / "model.pt", inputs)
    fp32_logits = onnx_logits(fp32_session, inputs)
    shipped_logits = (
        fp32_logits if chosen_path == fp32_path else onnx_logits(shipped_session, inputs)
    )
    export = parity_of(fp32_logits, reference)
    parity = {
        **parity_of(shipped_logits, reference),
        "fp32_argmax_agreement": export["argmax_agreement"],
        "fp32_max_abs_logit_diff": export["max_abs_logit_diff"],
        "images": len(inputs),
        "compared": (
            f"onnxruntime on the shipped file ({'int8' if chosen_path != fp32_path else 'fp32'})"
            " and on the fp32 export, against the PyTorch weights model.pt"
        ),
    }
    predictions = shipped_logits.argmax(1)
    chosen = classification_metrics(labels, predictions)
    print(
        f"shipped file: test accuracy {chosen['accuracy']:.4f}, "
        f"parity {parity['argmax_agreement']:.4f}"
    )
    varied = robustness(lambda batch: onnx_logits(shipped_session, batch).argmax(1), inputs, labels)
    print(
        "under variations: "
        + ", ".join(f"{name} {figures['accuracy']:.4f}" for name, figures in varied.items())
    )
    champion = compare_with_champion(
        args.model_package_group,
        args.region or None,
        inputs,
        labels,
        predictions,
        args.champion_significance,
    )
    output = Path(args.output_model_dir) / "model.onnx"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(chosen_path.read_bytes())
    return {
        "metrics": {
            "accuracy": {"value": chosen["accuracy"]},
            "min_class_recall": chosen["min_class_recall"],
            "per_class": chosen["per_class"],
            "confusion_matrix": chosen["confusion_matrix"],
            "test_images": len(labels),
        },
        "robustness": varied,
        "parity": parity,
        "model": {
            "size_bytes": output.stat().st_size,
            "sha256": sha256_file(output),
            "quantized": chosen_path != fp32_path,
            "latency": latency_ms(output, inputs),
        },
        "quantization": quantization,
        "champion": champion,
        "dataset_hash": dataset_hash,
        "feedback": feedback_of(Path(args.data_dir), labels, predictions),
    }


# ---------------------------------------------------------------- run report


def report_locations(args: argparse.Namespace, report: dict[str, Any]) -> dict[str, str | None]:
    """Where the run report is uploaded: ``run`` always, ``model`` when every gate passed.

    Both None without ``--model-bucket`` (nothing is uploaded); ``run`` is keyed by the
    execution id, ``model`` sits next to the model file (contracts/registry-entry.md).
    """
    if not args.model_bucket:
        return {"run": None, "model": None}
    execution = args.pipeline_execution_id or "unknown-execution"
    passed = all(g["passed"] is not False for g in report["gates"])
    group = args.model_package_group or "models"
    return {
        "run": f"s3://{args.model_bucket}/reports/{execution}/report.html",
        "model": (
            f"s3://{args.model_bucket}/models/{group}/{report['model']['sha256']}/report.html"
            if passed
            else None
        ),
    }


def _read_optional(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def run_report(
    args: argparse.Namespace, report: dict[str, Any], confusion: bytes, model_folder: Path
) -> str:
    """The run report's HTML, from evaluation.json's content and the earlier steps' outputs.

    Prepare's data report and class balance come from its report output (mounted with the
    manifest), train's metrics and curves from the model archive; either is marked reused
    when its S3 URI belongs to another execution (the step was a cache hit).
    """
    from report import RunFacts, producing_execution, render

    manifest_dir = Path(args.manifest_dir)
    data_report = _read_optional(manifest_dir / "data_report.json")
    training = _read_optional(model_folder / "training_metrics.json")
    lineage = {
        "pipeline execution": args.pipeline_execution_id or "unknown",
        "git commit": args.git_commit,
        "dataset hash (prepare's manifest)": report["dataset_hash"],
        "dataset version": "unknown",
        "approval status if the gate passes": args.approval_status or "not given",
    }
    if args.dataset_dir:
        from dataset import DatasetError, find_manifest, read_manifest

        try:
            manifest, manifest_sha = read_manifest(find_manifest(Path(args.dataset_dir)))
            lineage["dataset version"] = str(manifest["dataset_version"])
            lineage["dataset manifest SHA-256"] = manifest_sha
        except DatasetError as exc:
            lineage["dataset version"] = f"unreadable: {exc}"
    reused_from = {}
    for step, uri in (("PrepareData", args.prepare_uri), ("TrainModel", args.model_uri)):
        source = producing_execution(uri)
        lineage[f"{step} output"] = uri or "not given"
        if source and args.pipeline_execution_id and source != args.pipeline_execution_id:
            reused_from[step] = source
    return render(
        RunFacts(
            execution_id=args.pipeline_execution_id or "unknown",
            evaluation=report,
            gates=report["gates"],
            confusion_png=confusion,
            data_report=json.loads(data_report) if data_report else None,
            class_balance_png=_read_optional(manifest_dir / "class_balance.png"),
            training=json.loads(training) if training else None,
            curves_png=_read_optional(model_folder / "training_curves.png"),
            lineage=lineage,
            reused_from=reused_from,
            report_uri=report["report"]["run"] or "not uploaded (no --model-bucket)",
        )
    )


def track(
    args: argparse.Namespace,
    report: dict[str, Any],
    page: str,
    confusion: bytes,
    model_folder: Path,
) -> dict[str, Any]:
    """Log this execution as one MLflow run (tracking.py); the report's ``tracking`` section.

    It holds the run's id (None when not logged) and any warning (a deleted experiment
    restored).
    """
    from report import producing_execution

    training_path = model_folder / "training_metrics.json"
    training = json.loads(training_path.read_text()) if training_path.is_file() else {}
    metrics = {
        "test_accuracy": report["metrics"]["accuracy"]["value"],
        "min_class_recall": report["metrics"]["min_class_recall"]["value"],
        "argmax_agreement": report["parity"]["argmax_agreement"],
        "fp32_max_abs_logit_diff": report["parity"]["fp32_max_abs_logit_diff"],
        "size_bytes": report["model"]["size_bytes"],
        "champion_p_value_worse": report["champion"]["p_value_worse"],
        "gate_passed": float(all(g["passed"] is not False for g in report["gates"])),
    }
    for name, figures in report["robustness"].items():
        metrics[f"robustness_{name}_accuracy"] = figures["accuracy"]
        metrics[f"robustness_{name}_agreement"] = figures["agreement"]
    for digit, values in report["metrics"]["per_class"].items():
        metrics[f"recall_{digit}"] = values["recall"]
        metrics[f"precision_{digit}"] = values["precision"]
    for gate in report["gates"]:
        if gate["passed"] is not None:
            metrics[f"gate_{gate['parameter']}_passed"] = float(gate["passed"])
    params: dict[str, Any] = {
        f"train.{key}": value for key, value in training.get("hyperparameters", {}).items()
    }
    params.update({f"gate.{g['parameter']}": g["limit"] for g in report["gates"]})
    params.update(
        {
            "quantize": args.quantize,
            "dataset_hash": report["dataset_hash"],
            "git_commit": args.git_commit,
            "pipeline_execution_id": args.pipeline_execution_id or "unknown",
        }
    )
    tags = {
        "pipeline_execution_id": args.pipeline_execution_id or "unknown",
        "outcome": outcome(report["gates"])[:5000],
        "champion_decision": str(report["champion"]["decision"]),
        "model_sha256": report["model"]["sha256"],
        "quantized": str(report["model"]["quantized"]).lower(),
    }
    for step, uri in (("PrepareData", args.prepare_uri), ("TrainModel", args.model_uri)):
        source = producing_execution(uri)
        if source and args.pipeline_execution_id and source != args.pipeline_execution_id:
            tags[f"reused.{step}"] = f"from execution {source}"
    files = {
        "evaluation.json": as_json(report),
        "report.html": page.encode(),
        "pictures/confusion_matrix.png": confusion,
    }
    for name, path in (
        ("data/data_report.json", Path(args.manifest_dir) / "data_report.json"),
        ("pictures/class_balance.png", Path(args.manifest_dir) / "class_balance.png"),
        ("pictures/training_curves.png", model_folder / "training_curves.png"),
        ("training/metrics.json", training_path),
    ):
        if path.is_file():
            files[name] = path.read_bytes()
    run = TrackedRun(
        run_name=f"execution {args.pipeline_execution_id or 'unknown'}",
        params=params,
        metrics=metrics,
        history=list(training.get("history", [])),
        tags=tags,
        files=files,
        started_at_ms=epoch_ms(args.execution_started_at),
        dataset=_dataset_input(args),
        ending=_ending(args, report),
    )
    tracked: dict[str, Any] = {"mlflow_run_id": None, "experiment": EXPERIMENT}
    try:
        tracked["mlflow_run_id"] = log_run(args.mlflow_tracking_uri, run)
    except Exception as exc:  # tracking is for people; it never decides whether a model ships
        print(f"MLflow tracking at {args.mlflow_tracking_uri} failed, not logged: {exc}")
    if run.warnings:
        tracked["warnings"] = run.warnings
    return tracked


def _dataset_input(args: argparse.Namespace) -> Any:
    """The dataset version as the run's MLflow input, or None without a readable manifest."""
    if not args.dataset_dir:
        return None
    from dataset import DatasetError, find_manifest, read_manifest

    try:
        return dataset_input(*read_manifest(find_manifest(Path(args.dataset_dir))))
    except DatasetError:
        return None  # the run report's lineage says why


def _ending(args: argparse.Namespace, report: dict[str, Any]) -> RunEnd | None:
    """How this step ends the run; None leaves it to the execution's end.

    A failed gate ends the execution (its FailStep) and the run with it; run alone (no
    execution id) the step ends it.
    """
    if any(g["passed"] is False for g in report["gates"]):
        return RunEnd(FAILED, outcome(report["gates"]))
    return None if args.pipeline_execution_id else RunEnd()


def picture_locations(
    report: dict[str, Any], pictures: dict[str, bytes | None]
) -> dict[str, str | None]:
    """Where each picture goes next to the model: beside the model's report, or None.

    A picture is placed only when the report is (every gate passed and a bucket was given)
    and its bytes exist (train's curves may be missing from an old model archive).
    """
    folder = report["report"]["model"]
    return {
        name: (folder.rsplit("/", 1)[0] + f"/{name}.png" if folder and data else None)
        for name, data in pictures.items()
    }


def upload_report(
    args: argparse.Namespace,
    report: dict[str, Any],
    page: str,
    pictures: dict[str, bytes | None],
) -> None:
    """Put the report and the pictures where report["report"] and report["pictures"] say.

    Nothing is uploaded without a bucket (every location is None then).
    """
    import boto3

    targets: list[tuple[str, bytes, str]] = [
        (uri, page.encode(), "text/html; charset=utf-8") for uri in report["report"].values() if uri
    ]
    for name, uri in report["pictures"].items():
        body = pictures[name]
        if uri and body:
            targets.append((uri, body, "image/png"))
    if not targets:
        return
    s3 = boto3.client("s3", region_name=args.region or None)
    for uri, body, kind in targets:
        bucket, _, key = uri[len("s3://") :].partition("/")
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=kind)
        print(f"{'run report' if kind.startswith('text/html') else 'picture'}: {uri}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments (defaults are SageMaker's processing-job locations)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-package-group", default="")
    parser.add_argument("--quantize", type=parse_bool, default=True)
    parser.add_argument("--quantization-tolerance", type=float, default=QUANTIZATION_TOLERANCE)
    parser.add_argument(
        "--champion-significance",
        type=float,
        default=CHAMPION_SIGNIFICANCE,
        help="refuse a challenger that McNemar's exact test finds worse at this level",
    )
    parser.add_argument("--region", default="")
    parser.add_argument("--model-dir", default=str(opt_ml("processing/model")))
    parser.add_argument(
        "--data-dir",
        default=str(opt_ml("processing")),
        help="folder holding train/, validation/ and test/ with prepare's .npz files",
    )
    parser.add_argument("--manifest-dir", default=str(opt_ml("processing/manifest")))
    parser.add_argument("--evaluation-dir", default=str(opt_ml("processing/evaluation")))
    parser.add_argument("--output-model-dir", default=str(opt_ml("processing/output/model")))
    # What the run report needs besides the numbers (all optional: a report is written anyway).
    parser.add_argument(
        "--gate-limit",
        nargs=2,
        action="append",
        default=[],
        metavar=("PARAMETER", "VALUE"),
        help="a gate's limit in this run, e.g. --gate-limit AccuracyThreshold 0.985",
    )
    parser.add_argument("--model-bucket", default="", help="upload the report here")
    parser.add_argument("--pipeline-execution-id", default="")
    parser.add_argument("--git-commit", default="unknown")
    parser.add_argument("--approval-status", default="", help="status a passing model gets")
    parser.add_argument("--dataset-dir", default="", help="the dataset version's manifest")
    parser.add_argument("--prepare-uri", default="", help="S3 URI of prepare's report output")
    parser.add_argument("--model-uri", default="", help="S3 URI of the training job's model")
    parser.add_argument(
        "--execution-started-at",
        default="",
        help="the execution's start (ISO 8601, Execution.StartDateTime): the MLflow run's",
    )
    parser.add_argument(
        "--mlflow-tracking-uri",
        default="",
        help="log this execution as an MLflow run there (empty: not logged, tracking.py)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    try:
        limits = {name: float(value) for name, value in args.gate_limit}
        with tempfile.TemporaryDirectory(prefix="evaluate-") as work:
            report = evaluate(args, Path(work))
            model_folder = extract_model(Path(args.model_dir), Path(work) / "again")
            confusion = confusion_png(
                report["metrics"]["confusion_matrix"], report["metrics"]["accuracy"]["value"]
            )
            report["gates"] = judge(report, limits)
            report["report"] = report_locations(args, report)
            page = run_report(args, report, confusion, model_folder)
            report["tracking"] = track(args, report, page, confusion, model_folder)
            pictures = {
                "confusion_matrix": confusion,
                "training_curves": _read_optional(model_folder / "training_curves.png"),
            }
            report["pictures"] = picture_locations(report, pictures)
        evaluation_dir = Path(args.evaluation_dir)
        write_json(evaluation_dir / "evaluation.json", report)
        (evaluation_dir / "confusion_matrix.png").write_bytes(confusion)
        if pictures["training_curves"]:
            (evaluation_dir / "training_curves.png").write_bytes(pictures["training_curves"])
        (evaluation_dir / "report.html").write_text(page)
        upload_report(args, report, page, pictures)
    except EvaluationError as exc:
        fail(f"evaluate failed: {exc}")
        return 1
    except Exception as exc:
        fail(f"evaluate failed: {type(exc).__name__}: {exc}")
        raise
    summary = {
        "accuracy": report["metrics"]["accuracy"]["value"],
        "min_class_recall": report["metrics"]["min_class_recall"]["value"],
        "champion": report["champion"]["decision"],
        "p_value_worse": report["champion"]["p_value_worse"],
        "argmax_agreement": report["parity"]["argmax_agreement"],
        "size_bytes": report["model"]["size_bytes"],
        "quantized": report["model"]["quantized"],
        "gate": outcome(report["gates"]),
        "report": report["report"]["run"],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
