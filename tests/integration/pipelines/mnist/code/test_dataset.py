"""The pipeline's input is a dataset version: prepare fetches exactly what its manifest names."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from mlops_settings import Settings
from playground import data
from support.step_scripts import FIXTURES, TRAIN_IMAGES


def manifest_into(opt_ml: Path, settings: Settings, body: bytes) -> Path:
    folder = opt_ml / "processing/input/dataset"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_bytes(body)
    return folder


def seeded_manifest(settings: Settings) -> bytes:
    result = data.seed(settings, str(FIXTURES))
    key = f"{settings.raw_prefix}/{result.version}/manifest.json"
    return bytes(boto3.client("s3").get_object(Bucket=settings.data_bucket, Key=key)["Body"].read())


def test_prepare_fetches_the_version_its_manifest_names(
    emulator: Settings, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    opt_ml = tmp_path / "opt_ml"
    folder = manifest_into(opt_ml, emulator, seeded_manifest(emulator))
    run = run_step("prepare.py", opt_ml, "--dataset-dir", str(folder))
    assert run.returncode == 0, run.stderr
    fetched = opt_ml / "processing/input/raw" / TRAIN_IMAGES
    assert fetched.read_bytes() == (FIXTURES / TRAIN_IMAGES).read_bytes()
    assert (opt_ml / "processing/output/report/manifest.json").is_file()


def test_prepare_refuses_an_object_that_is_not_the_one_named(
    emulator: Settings, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    manifest = json.loads(seeded_manifest(emulator))
    manifest["objects"][0]["sha256"] = "0" * 64  # as if the object had been replaced
    opt_ml = tmp_path / "opt_ml"
    folder = manifest_into(opt_ml, emulator, json.dumps(manifest).encode())
    run = run_step("prepare.py", opt_ml, "--dataset-dir", str(folder))
    assert run.returncode == 1
    assert "files_present" in run.failure
    assert "but the manifest of dataset version" in run.failure
    assert not (opt_ml / "processing/output/train").exists()


def test_prepare_refuses_a_file_that_is_not_a_manifest(
    emulator: Settings, tmp_path: Path, run_step: Callable[..., Any]
) -> None:
    opt_ml = tmp_path / "opt_ml"
    folder = manifest_into(opt_ml, emulator, b'["not", "a", "manifest"]')
    run = run_step("prepare.py", opt_ml, "--dataset-dir", str(folder))
    assert run.returncode == 1
    assert "manifest.json: not a dataset manifest" in run.failure
    assert not (opt_ml / "processing/output/train").exists()
