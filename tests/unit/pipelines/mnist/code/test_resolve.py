"""resolve.py: the manifest a run was given becomes the dataset version's own manifest key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from support.step_scripts import Run


def manifest(opt_ml: Path, version: str, name: str = "latest.json") -> bytes:
    folder = opt_ml / "processing/input/dataset"
    folder.mkdir(parents=True)
    body = json.dumps({"dataset_version": version, "bucket": "data", "objects": []}).encode()
    (folder / name).write_bytes(body)
    return body


def test_latest_json_resolves_to_the_versions_own_manifest(
    tmp_path: Path, run_step: Callable[..., Run]
) -> None:
    opt_ml = tmp_path / "opt_ml"
    body = manifest(opt_ml, "0123456789abcdef")

    run = run_step("resolve.py", opt_ml, "--raw-prefix", "raw/mnist")

    assert run.returncode == 0, run.stderr
    written = json.loads((opt_ml / "processing/output/dataset/dataset.json").read_text())
    assert written == {
        "dataset_version": "0123456789abcdef",
        "manifest_key": "raw/mnist/0123456789abcdef/manifest.json",
        "manifest_sha256": hashlib.sha256(body).hexdigest(),
    }
    assert "raw/mnist/0123456789abcdef/manifest.json" in run.stdout


def test_a_version_that_cannot_be_a_key_fails_the_run(
    tmp_path: Path, run_step: Callable[..., Run]
) -> None:
    opt_ml = tmp_path / "opt_ml"
    manifest(opt_ml, "../other/x")

    run = run_step("resolve.py", opt_ml, "--raw-prefix", "raw/mnist")

    assert run.returncode == 1
    assert "cannot name an S3 prefix" in run.failure
    assert not (opt_ml / "processing/output/dataset/dataset.json").exists()


def test_no_manifest_fails_with_what_was_found(
    tmp_path: Path, run_step: Callable[..., Run]
) -> None:
    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "processing/input/dataset").mkdir(parents=True)

    run = run_step("resolve.py", opt_ml, "--raw-prefix", "raw/mnist")

    assert run.returncode == 1
    assert "expected one dataset manifest" in run.failure
