"""`make lambda`: the deployment zip is reproducible, complete and importable on its own."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
SCRIPT = ROOT / "packages" / "functions" / "scripts" / "build_lambda.py"


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("lambda")
    zips = (out / "first.zip", out / "second.zip")
    for path in zips:
        subprocess.run([sys.executable, str(SCRIPT), "--out", str(path)], check=True, cwd=ROOT)
    return zips


def test_two_builds_give_the_same_bytes(builds: tuple[Path, Path]) -> None:
    first, second = (hashlib.sha256(p.read_bytes()).hexdigest() for p in builds)
    assert first == second


def test_zip_holds_the_handler_and_its_locked_dependencies_only(builds: tuple[Path, Path]) -> None:
    with zipfile.ZipFile(builds[0]) as archive:
        names = archive.namelist()
        infos = archive.infolist()
    assert names == sorted(names)
    assert "functions/get_models/handler.py" in names
    assert "mlops_settings/settings.py" in names
    assert any(n.startswith("pydantic_core/") and n.endswith("x86_64-linux-gnu.so") for n in names)
    assert "functions/get_models/fixtures.py" not in names
    assert not any(n.startswith(("boto3/", "botocore/", "bin/", ".lock")) for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_handler_imports_from_the_zip_alone(builds: tuple[Path, Path], tmp_path: Path) -> None:
    with zipfile.ZipFile(builds[0]) as archive:
        archive.extractall(tmp_path)
    # -S: no site-packages, as in Lambda; boto3 comes from the runtime, here from botocore's
    # own folder appended after the zip's.
    import boto3

    runtime = Path(boto3.__file__).resolve().parents[1]
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]]; sys.path.append(sys.argv[2]);"
        "import pydantic, functions.get_models.handler as h;"
        "assert pydantic.__file__.startswith(sys.argv[1]), pydantic.__file__;"
        "print(h.handler.__module__)"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(tmp_path), str(runtime)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "functions.get_models.handler"


def test_the_feedback_zip_holds_its_handler_and_not_the_model_listing(tmp_path: Path) -> None:
    out = tmp_path / "feedback.zip"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--function", "feedback", "--out", str(out)],
        check=True,
        cwd=ROOT,
    )
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "unpacked")
    assert "functions/feedback/handler.py" in names
    assert "functions/get_models/registry.py" in names  # how it reads the registry
    assert "functions/get_models/handler.py" not in names
    assert "functions/get_models/download.py" not in names
    assert "functions/get_models/fixtures.py" not in names
    import boto3

    runtime = Path(boto3.__file__).resolve().parents[1]
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]]; sys.path.append(sys.argv[2]);"
        "import functions.feedback.handler as h; print(h.handler.__module__)"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(tmp_path / "unpacked"), str(runtime)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "functions.feedback.handler"
