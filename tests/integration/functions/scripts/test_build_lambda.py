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
TERRAFORM = ROOT / "terraform"
# The interpreter running the tests, for zips built to be imported here (no python3.13 here).
HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


def build_for_this_python(function: str, out: Path) -> Path:
    """`function`'s zip with wheels for this interpreter, unpacked beside it."""
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--function",
            function,
            "--out",
            str(out),
            "--python-version",
            HERE,
        ],
        check=True,
        cwd=ROOT,
    )
    unpacked = out.with_suffix("")
    with zipfile.ZipFile(out) as archive:
        archive.extractall(unpacked)
    return unpacked


def import_alone(folder: Path, module: str) -> subprocess.CompletedProcess[str]:
    """Import `module` with only `folder` and the standard library (-S: no site-packages, as
    in Lambda); fails if boto3, botocore or pydantic would come from anywhere else."""
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]];"
        f"import boto3, botocore, pydantic, {module} as h;"
        "assert all(m.__file__.startswith(sys.argv[1]) for m in (boto3, botocore, pydantic));"
        "print(h.handler.__module__)"
    )
    return subprocess.run(
        [sys.executable, "-S", "-c", probe, str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )


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
    # Wheels for the runtime Terraform deploys (python3.13), boto3 carried in the zip.
    assert any(
        n.startswith("pydantic_core/") and n.endswith("cpython-313-x86_64-linux-gnu.so")
        for n in names
    )
    assert "boto3/__init__.py" in names
    assert any(n.startswith("botocore/data/s3/") for n in names)
    assert "functions/get_models/fixtures.py" not in names
    assert not any(n.startswith(("bin/", ".lock")) for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    # Lambda's limit for a zip uploaded directly.
    assert builds[0].stat().st_size < 50 * 1024 * 1024


def test_terraform_deploys_the_runtime_the_zip_is_built_for() -> None:
    for name in ("lambda.tf", "feedback.tf"):
        assert 'runtime          = "python3.13"' in (TERRAFORM / name).read_text(), name


def test_handler_imports_from_the_zip_alone(tmp_path: Path) -> None:
    unpacked = build_for_this_python("get_models", tmp_path / "get_models.zip")
    done = import_alone(unpacked, "functions.get_models.handler")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "functions.get_models.handler"


def test_the_feedback_zip_holds_its_handler_and_not_the_model_listing(tmp_path: Path) -> None:
    unpacked = build_for_this_python("feedback", tmp_path / "feedback.zip")
    names = {p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*")}
    assert "functions/feedback/handler.py" in names
    assert "functions/get_models/registry.py" in names  # how it reads the registry
    assert "functions/get_models/handler.py" not in names
    assert "functions/get_models/download.py" not in names
    assert "functions/get_models/fixtures.py" not in names
    done = import_alone(unpacked, "functions.feedback.handler")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "functions.feedback.handler"
