"""evaluate.py: the gate's numbers, parity, int8, and the champion from the registry."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from mlops_settings import Settings

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
    per_class_recall = [float((logits.argmax(1)[labels == d] == d).mean()) for d in range(10)]
    assert report["metrics"]["min_class_recall"] == {
        "value": pytest.approx(min(per_class_recall)),
        "digit": int(np.argmin(per_class_recall)),
    }
    assert report["champion"]["accuracy_delta"] == 0.0
    assert report["champion"]["version"] is None
    assert report["champion"]["p_value_worse"] == 1.0
    assert report["champion"]["decision"] == "no champion"
    assert "McNemar" in report["champion"]["decision_rule"]
    # Parity judges the file that ships (int8 here) against the PyTorch weights.
    assert report["model"]["quantized"] is True
    assert "shipped file (int8)" in report["parity"]["compared"]
    assert report["parity"]["argmax_agreement"] >= 0.98
    assert report["parity"]["fp32_argmax_agreement"] == 1.0
    assert report["parity"]["fp32_max_abs_logit_diff"] < 1e-4
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


def test_reports_the_shipped_files_accuracy_under_every_variation(
    evaluated: Path, prepared: Path, code_modules: Callable[[], Any]
) -> None:
    report = report_of(evaluated)
    with np.load(prepared / "test/test.npz") as data:
        inputs, labels = (data["images"].astype(np.float32) / 255)[:, None], data["labels"]
    session = ort.InferenceSession(str(evaluated / "processing/output/model/model.onnx"))
    clean = session.run(None, {"input": inputs})[0].argmax(1)
    with code_modules() as load:
        variations = load("variations")
        names = [v.name for v in variations.VARIATIONS]
        varied = {name: variations.vary(name, inputs) for name in names}

    assert list(report["robustness"]) == names
    for name in names:
        read = session.run(None, {"input": varied[name]})[0].argmax(1)
        figures = report["robustness"][name]
        assert figures["accuracy"] == pytest.approx(float((read == labels).mean())), name
        assert figures["agreement"] == pytest.approx(float((read == clean).mean())), name
        assert figures["images"] == len(labels)
    # Not judged without a limit, but every variation has its row in the gate decisions.
    judged = [g for g in report["gates"] if g["parameter"] == "MinVariationAccuracy"]
    assert [g["measured"] for g in judged] == [f"robustness.{n}.accuracy" for n in names]
    page = (evaluated / "processing/evaluation/report.html").read_text()
    assert '<section id="robustness">' in page


def test_int8_is_calibrated_on_training_images_and_chosen_on_validation(evaluated: Path) -> None:
    report = report_of(evaluated)
    quantization = report["quantization"]
    chosen = evaluated / "processing/output/model/model.onnx"
    ops = {node.op_type for node in onnx.load(str(chosen)).graph.node}

    assert quantization["attempted"] is True
    assert quantization["chosen_on"] == "validation"
    assert quantization["calibrated_on"].endswith("training images")
    assert quantization["int8_size_bytes"] < quantization["fp32_size_bytes"] / 2
    # The fixture passes a tolerance that always keeps int8 (see support.step_scripts); the
    # rule is the same with the default 0.003.
    assert quantization["tolerance"] == 1.0
    assert quantization["kept"] == (quantization["accuracy_drop"] <= quantization["tolerance"])
    assert report["model"]["quantized"] == quantization["kept"]
    assert ("QuantizeLinear" in ops) == quantization["kept"]


def test_int8_never_sees_the_test_split(
    evaluated: Path, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    """Swap the test images for noise: the int8 file (calibrated elsewhere) stays the same."""
    opt_ml = tmp_path / "opt_ml"
    shutil.copytree(evaluated / "processing", opt_ml / "processing")
    shutil.rmtree(opt_ml / "processing/output")
    test_file = opt_ml / "processing/test/test.npz"
    with np.load(test_file) as data:
        labels = data["labels"]
        noise = np.random.default_rng(0).integers(0, 256, data["images"].shape, dtype=np.uint8)
    np.savez(test_file, images=noise, labels=labels)
    manifest_file = opt_ml / "processing/manifest/manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["files"]["test/test.npz"] = hashlib.sha256(test_file.read_bytes()).hexdigest()
    manifest_file.write_text(json.dumps(manifest))

    run = run_step("evaluate.py", opt_ml, "--quantization-tolerance", "1")  # as `evaluated`

    assert run.returncode == 0, run.stderr
    shipped = opt_ml / "processing/output/model/model.onnx"
    original = evaluated / "processing/output/model/model.onnx"
    assert shipped.read_bytes() == original.read_bytes()
    assert report_of(opt_ml)["quantization"] == report_of(evaluated)["quantization"]


def test_mcnemar_exact_matches_the_binomial_tail(code_modules: Callable[[], Any]) -> None:
    with code_modules() as load:
        evaluate = load("evaluate")
    champion = np.array([True] * 10 + [False] * 2 + [True] * 88)
    challenger = np.array([False] * 10 + [True] * 2 + [True] * 88)

    result = evaluate.mcnemar_exact(champion, challenger)

    # b = 10, c = 2: P(X >= 10 | n = 12, p = 1/2) = (66 + 12 + 1) / 4096.
    assert result == {
        "only_champion_correct": 10,
        "only_challenger_correct": 2,
        "p_value_worse": pytest.approx(79 / 4096),
    }
    assert evaluate.mcnemar_exact(challenger, champion)["p_value_worse"] > 0.99
    assert evaluate.mcnemar_exact(champion, champion)["p_value_worse"] == 1.0


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
    assert "shipped file (fp32)" in report["parity"]["compared"]
    assert report["parity"]["max_abs_logit_diff"] < 1e-4


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


def register_champion(
    run_step: Callable[..., Any], evaluated: Path, tmp_path: Path, settings: Settings, status: str
) -> str:
    """Register the evaluated model with register.py, as the pipeline would."""
    opt_ml = tmp_path / f"register-{status}"
    for folder, source in (
        ("processing/model", evaluated / "processing/output/model/model.onnx"),
        ("processing/evaluation", evaluated / "processing/evaluation/evaluation.json"),
        ("processing/manifest", evaluated / "processing/manifest/manifest.json"),
    ):
        (opt_ml / folder).mkdir(parents=True)
        shutil.copy(source, opt_ml / folder)
    run = run_step(
        "register.py",
        opt_ml,
        *("--model-package-group", settings.model_package_group),
        *("--model-bucket", settings.model_bucket),
        *("--approval-status", status),
        *("--pipeline-execution-id", "test-run"),
    )
    assert run.returncode == 0, run.stderr
    return str(run.stdout.strip().splitlines()[-1])


def worse_model_tar(trained: Any, target: Path, code_modules: Callable[[], Any]) -> Path:
    """The trained model with its classifier weights scrambled: clearly worse, same shape."""
    folder = target / "worse"
    folder.mkdir()
    with code_modules() as load:
        model_module = load("model")
        model = model_module.load_state(trained.model_dir / "model.pt")
        with torch.no_grad():
            weights = model.classifier[-1].weight
            generator = torch.Generator().manual_seed(0)
            weights.add_(torch.randn(weights.shape, generator=generator) * weights.std() * 3)
        torch.save(model.state_dict(), folder / "model.pt")
        model_module.export_onnx(model, folder / "model.onnx")
    archive = target / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("model.onnx", "model.pt"):
            tar.add(folder / name, arcname=name)
    return archive


def challenger_layout(evaluated: Path, target: Path, model_tar: Path) -> Path:
    opt_ml = target / "challenger"
    for folder in ("train", "validation", "test", "manifest"):
        folder = f"processing/{folder}"
        shutil.copytree(evaluated / folder, opt_ml / folder)
    (opt_ml / "processing/model").mkdir(parents=True)
    shutil.copy(model_tar, opt_ml / "processing/model/model.tar.gz")
    return opt_ml


def test_a_worse_model_than_the_champion_is_judged_worse_by_the_paired_test(
    emulator: Settings,
    evaluated: Path,
    trained: Any,
    tmp_path: Path,
    run_step: Callable[..., Any],
    code_modules: Callable[[], Any],
) -> None:
    champion_arn = register_champion(run_step, evaluated, tmp_path, emulator, "Approved")
    opt_ml = challenger_layout(
        evaluated, tmp_path, worse_model_tar(trained, tmp_path, code_modules)
    )

    run = run_step("evaluate.py", opt_ml, "--model-package-group", emulator.model_package_group)

    assert run.returncode == 0, run.stderr
    report = report_of(opt_ml)
    champion = report["champion"]
    assert champion["arn"] == champion_arn
    assert champion["version"] == 1
    assert champion["accuracy"] == pytest.approx(
        report_of(evaluated)["metrics"]["accuracy"]["value"]
    )
    assert champion["sha256"] == report_of(evaluated)["model"]["sha256"]
    assert champion["accuracy_delta"] < -0.03
    assert champion["accuracy_delta"] == pytest.approx(
        report["metrics"]["accuracy"]["value"] - champion["accuracy"]
    )
    # The delta is the difference of the discordant pairs over the test images.
    b, c = champion["only_champion_correct"], champion["only_challenger_correct"]
    assert (c - b) / report["metrics"]["test_images"] == pytest.approx(champion["accuracy_delta"])
    assert champion["p_value_worse"] < 0.05
    assert champion["decision"] == "worse than the champion"


def test_only_approved_models_are_champions(
    emulator: Settings, evaluated: Path, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    register_champion(run_step, evaluated, tmp_path, emulator, "PendingManualApproval")
    opt_ml = tmp_path / "opt_ml"
    shutil.copytree(evaluated / "processing", opt_ml / "processing")
    shutil.rmtree(opt_ml / "processing/output")

    run = run_step(
        "evaluate.py",
        opt_ml,
        *("--model-package-group", emulator.model_package_group, "--quantize", "false"),
    )

    assert run.returncode == 0, run.stderr
    champion = report_of(opt_ml)["champion"]
    assert champion["version"] is None
    assert champion["accuracy_delta"] == 0.0
    assert champion["p_value_worse"] == 1.0


def test_a_champion_whose_file_changed_is_never_run(
    emulator: Settings, evaluated: Path, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    arn = register_champion(run_step, evaluated, tmp_path, emulator, "Approved")
    package = boto3.client("sagemaker").describe_model_package(ModelPackageName=arn)
    url = package["InferenceSpecification"]["Containers"][0]["ModelDataSource"]["S3DataSource"][
        "S3Uri"
    ]
    bucket, _, key = url.removeprefix("s3://").partition("/")
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=io.BytesIO(b"not the model"))
    opt_ml = tmp_path / "opt_ml"
    shutil.copytree(evaluated / "processing", opt_ml / "processing")
    shutil.rmtree(opt_ml / "processing/output")
    shutil.rmtree(opt_ml / "processing/evaluation")

    run = run_step(
        "evaluate.py",
        opt_ml,
        *("--model-package-group", emulator.model_package_group, "--quantize", "false"),
    )

    assert run.returncode == 1
    assert "refusing to run it" in run.failure
    assert not (opt_ml / "processing/evaluation/evaluation.json").exists()


# ---------------------------------------------------------------- run report


def sections_of(page: str) -> list[str]:
    return re.findall(r'<section id="([a-z-]+)">', page)


def pictures_of(page: str) -> dict[str, bytes]:
    """Each section's inline PNG (the first picture of the section)."""
    found = {}
    for section, body in re.findall(r'<section id="([a-z-]+)">(.*?)</section>', page):
        match = re.search(r'src="data:image/png;base64,([^"]+)"', body)
        if match:
            found[section] = base64.b64decode(match.group(1))
    return found


def test_the_run_report_shows_every_section_from_the_steps_outputs(
    evaluated: Path, code_modules: Callable[[], Any]
) -> None:
    page = (evaluated / "processing/evaluation/report.html").read_text()

    with code_modules() as load:
        assert sections_of(page) == [anchor for anchor, _ in load("report").SECTIONS]
    # prepare's class balance, train's curves (from model.tar.gz), evaluate's matrix.
    assert set(pictures_of(page)) == {"balance", "training", "confusion"}
    for png in pictures_of(page).values():
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "Not available" not in page
    assert "counts_match" in page  # a named data check from prepare's report
    assert "McNemar" in page
    assert report_of(evaluated)["report"] == {"run": None, "model": None}  # no bucket given


def test_a_failed_gates_report_is_uploaded_under_the_execution_naming_the_condition(
    emulator: Settings, evaluated: Path, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    opt_ml = challenger_layout(evaluated, tmp_path, evaluated / "processing/model/model.tar.gz")

    run = run_step(
        "evaluate.py",
        opt_ml,
        *("--quantize", "false", "--model-bucket", emulator.model_bucket),
        *("--pipeline-execution-id", "k3j4h5exec"),
        *("--gate-limit", "AccuracyThreshold", "0.9999"),
        *("--gate-limit", "MaxModelSizeBytes", "10000000"),
        *("--gate-limit", "MinVariationAccuracy", "0.1"),
    )

    assert run.returncode == 0, run.stderr  # the gate, not this step, stops the run
    report = report_of(opt_ml)
    accuracy = report["metrics"]["accuracy"]["value"]
    key = "reports/k3j4h5exec/report.html"
    assert report["report"] == {"run": f"s3://{emulator.model_bucket}/{key}", "model": None}
    s3 = boto3.client("s3")
    page = s3.get_object(Bucket=emulator.model_bucket, Key=key)["Body"].read().decode()
    assert f"failed: test accuracy {accuracy:.6g} (needs &gt;= 0.9999)" in page
    [failed] = [g for g in report["gates"] if g["passed"] is False]
    assert (failed["parameter"], failed["value"]) == ("AccuracyThreshold", accuracy)
    # A model that failed its gate gets no report and no pictures next to a model file.
    assert report["pictures"] == {"confusion_matrix": None, "training_curves": None}
    listed = s3.list_objects_v2(Bucket=emulator.model_bucket, Prefix="models/")
    assert listed.get("KeyCount", 0) == 0


def test_a_passing_gates_report_also_sits_next_to_the_model(
    emulator: Settings, evaluated: Path, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    opt_ml = challenger_layout(evaluated, tmp_path, evaluated / "processing/model/model.tar.gz")

    run = run_step(
        "evaluate.py",
        opt_ml,
        *("--quantize", "false", "--model-bucket", emulator.model_bucket),
        *("--model-package-group", emulator.model_package_group),
        *("--pipeline-execution-id", "passing1"),
        *("--gate-limit", "AccuracyThreshold", "0.1"),
    )

    assert run.returncode == 0, run.stderr
    report = report_of(opt_ml)
    sha = report["model"]["sha256"]
    s3 = boto3.client("s3")
    for key in (
        "reports/passing1/report.html",
        f"models/{emulator.model_package_group}/{sha}/report.html",
    ):
        page = s3.get_object(Bucket=emulator.model_bucket, Key=key)["Body"].read().decode()
        assert "Model gate <strong>passed</strong>" in page
    # Its pictures sit beside it as PNG files, the same bytes as in the evaluation output.
    folder = f"models/{emulator.model_package_group}/{sha}"
    assert report["pictures"] == {
        "confusion_matrix": f"s3://{emulator.model_bucket}/{folder}/confusion_matrix.png",
        "training_curves": f"s3://{emulator.model_bucket}/{folder}/training_curves.png",
    }
    for name in ("confusion_matrix.png", "training_curves.png"):
        stored = s3.get_object(Bucket=emulator.model_bucket, Key=f"{folder}/{name}")
        assert stored["ContentType"] == "image/png"
        body = stored["Body"].read()
        assert body.startswith(b"\x89PNG\r\n\x1a\n")
        assert body == (opt_ml / "processing/evaluation" / name).read_bytes()


def test_the_execution_is_logged_as_one_mlflow_run_with_its_epochs_and_pictures(
    evaluated: Path, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # Artifacts under tmp_path (a sqlite store's default is ./mlruns in the step's folder).
    MlflowClient(tracking_uri=uri).create_experiment(
        "mnist-pipeline", artifact_location=(tmp_path / "artifacts").as_uri()
    )
    opt_ml = challenger_layout(evaluated, tmp_path, evaluated / "processing/model/model.tar.gz")

    run = run_step(
        "evaluate.py",
        opt_ml,
        *("--quantize", "false", "--pipeline-execution-id", "tracked1"),
        *("--gate-limit", "AccuracyThreshold", "0.5", "--mlflow-tracking-uri", uri),
    )

    assert run.returncode == 0, run.stderr
    report = report_of(opt_ml)
    run_id = report["tracking"]["mlflow_run_id"]
    client = MlflowClient(tracking_uri=uri)
    logged = client.get_run(run_id)
    assert logged.data.metrics["test_accuracy"] == report["metrics"]["accuracy"]["value"]
    assert logged.data.metrics["gate_passed"] == 1.0
    for name, figures in report["robustness"].items():
        assert logged.data.metrics[f"robustness_{name}_accuracy"] == figures["accuracy"]
        assert logged.data.metrics[f"robustness_{name}_agreement"] == figures["agreement"]
    assert logged.data.params["gate.AccuracyThreshold"] == "0.5"
    assert logged.data.tags["pipeline_execution_id"] == "tracked1"
    epochs = client.get_metric_history(run_id, "val_accuracy")
    assert len(epochs) >= 1
    assert [m.step for m in epochs] == sorted(m.step for m in epochs)
    pictures = {a.path for a in client.list_artifacts(run_id, "pictures")}
    assert pictures == {
        "pictures/class_balance.png",
        "pictures/confusion_matrix.png",
        "pictures/training_curves.png",
    }


def test_without_a_tracking_uri_the_report_says_not_tracked(evaluated: Path) -> None:
    assert report_of(evaluated)["tracking"]["mlflow_run_id"] is None


def test_accuracy_on_the_feedback_test_images_is_reported_apart(
    trained: Any, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    from support.pending_feedback import real_digits
    from support.step_scripts import FIXTURES, evaluation_inputs, load_idx_module

    idx = load_idx_module()
    prepare_opt_ml = tmp_path / "prepare/opt_ml"
    raw = prepare_opt_ml / "processing/input/raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        shutil.copy(FIXTURES / name, raw / name)
    shard_images, shard_labels = real_digits(60)
    idx.write_idx_gz(shard_images, raw / "feedback-images-idx3-ubyte.gz")
    idx.write_idx_gz(shard_labels, raw / "feedback-labels-idx1-ubyte.gz")
    assert run_step("prepare.py", prepare_opt_ml).returncode == 0
    prepared = prepare_opt_ml / "processing/output"
    opt_ml = evaluation_inputs(tmp_path / "evaluate/opt_ml", prepared, trained.model_tar)

    run = run_step("evaluate.py", opt_ml, "--quantize", "false")

    assert run.returncode == 0, run.stderr
    report = report_of(opt_ml)
    with np.load(prepared / "test/test.npz") as data:
        images, labels, marked = data["images"], data["labels"], data["feedback"]
    assert marked.sum() > 0
    session = ort.InferenceSession(str(opt_ml / "processing/output/model/model.onnx"))
    (logits,) = session.run(None, {"input": (images[marked].astype(np.float32) / 255)[:, None]})
    correct = int((logits.argmax(1) == labels[marked]).sum())
    assert report["feedback"] == {
        "test_count": int(marked.sum()),
        "test_correct": correct,
        "test_accuracy": pytest.approx(correct / int(marked.sum())),
    }
    assert report["metrics"]["test_images"] == len(labels)  # the gate still judges them all
    page = (opt_ml / "processing/evaluation/report.html").read_text()
    section = page.split('<section id="feedback">', 1)[1].split("</section>", 1)[0]
    assert f"<td>feedback test images</td><td>{int(marked.sum())}</td>" in section


def test_without_a_feedback_shard_the_count_is_zero(evaluated: Path) -> None:
    assert report_of(evaluated)["feedback"] == {
        "test_count": 0,
        "test_correct": 0,
        "test_accuracy": None,
    }
