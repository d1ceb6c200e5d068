"""The definition cache: built once per code and settings, rebuilt when either changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest

from mlops_settings import Settings
from pipelines.mnist import pipeline
from playground import definition_cache, stack


def test_a_definition_is_built_once_and_reused_without_the_sdk(
    emulator: Settings, monkeypatch: pytest.MonkeyPatch
):
    document, built = definition_cache.load_definition(emulator)
    assert built
    assert [s["Name"] for s in document["Steps"]] == [
        "ResolveDataset",
        "PrepareData",
        "TrainModel",
        "EvaluateModel",
        "ModelGate",
    ]

    def sdk_build(*_: object, **__: object) -> None:
        raise AssertionError("the SageMaker SDK was asked to build the definition again")

    monkeypatch.setattr(pipeline, "definition", sdk_build)
    again, built = definition_cache.load_definition(emulator)
    assert not built
    assert again == document


def test_changed_step_code_or_missing_uploaded_code_builds_again(
    emulator: Settings, tmp_path: Path
):
    code = tmp_path / "code"
    shutil.copytree(pipeline.CODE_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    document, _ = definition_cache.load_definition(emulator, code)

    (code / "prepare.py").write_text((code / "prepare.py").read_text() + "\n# changed\n")
    _, built = definition_cache.load_definition(emulator, code)
    assert built

    # The emulator lost the uploaded code (a reset): the stored definition is not trusted.
    s3 = boto3.client("s3")
    for uri in definition_cache.code_uris(document):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
    _, built = definition_cache.load_definition(emulator, code)
    assert built


def test_execution_role_is_created_once(emulator: Settings):
    first = stack.ensure_execution_role(emulator)
    second = stack.ensure_execution_role(emulator)
    assert first == second == (f"arn:aws:iam::123456789012:role/{emulator.sagemaker_role_name}")
