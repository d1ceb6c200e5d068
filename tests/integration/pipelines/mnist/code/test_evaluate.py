"""evaluate.py against the registry in the emulator: the champion comparison."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import torch

from mlops_settings import Settings

pytestmark = pytest.mark.slow  # these train a model (on the tiny slice)


def report_of(opt_ml: Path) -> dict[str, Any]:
    return json.loads((opt_ml / "processing/evaluation/evaluation.json").read_text())


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
    for folder in ("processing/test", "processing/manifest"):
        shutil.copytree(evaluated / folder, opt_ml / folder)
    (opt_ml / "processing/model").mkdir(parents=True)
    shutil.copy(model_tar, opt_ml / "processing/model/model.tar.gz")
    return opt_ml


def test_a_worse_model_than_the_champion_gets_a_negative_delta(
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
    assert champion["accuracy_delta"] < -0.03
    assert champion["accuracy_delta"] == pytest.approx(
        report["metrics"]["accuracy"]["value"] - champion["accuracy"]
    )


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


def test_a_champion_whose_file_changed_is_never_run(
    emulator: Settings, evaluated: Path, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    arn = register_champion(run_step, evaluated, tmp_path, emulator, "Approved")
    package = boto3.client("sagemaker").describe_model_package(ModelPackageName=arn)
    url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
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
