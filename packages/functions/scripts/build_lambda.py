"""Build a Lambda deployment zip (get_models or feedback), the uv way, byte for byte reproducible.

1. `uv export` the locked runtime requirements of the `functions` package (no dev, no
   workspace members: their source is added directly).
2. `uv pip install --target` them for the Lambda platform (x86_64 manylinux, Python 3.13, the
   runtime `python3.13` of terraform/lambda.tf and feedback.tf), wheels only, so nothing is
   compiled on this machine.
3. Add the function's code (its package, the shared `functions` modules it imports, and
   `mlops_settings`); the other function's code stays out, so each zip holds what its role
   is meant to run and nothing more.
4. Zip with sorted entries, a fixed timestamp and fixed permissions: the same lock and source
   give the same bytes.

boto3 and botocore are bundled at the locked versions: the runtime's own copy changes under
the function without notice, and AWS recommends packaging the SDK a function depends on
("Building Lambda functions with Python", Lambda Developer Guide, "Runtime-included SDK
versions"). They are most of the zip (about 25 MB unpacked); Lambda's limits are 50 MB zipped
for a direct upload and 250 MB unpacked.

Usage: uv run python packages/functions/scripts/build_lambda.py [--function get_models|feedback]
    [--out build/lambda/<function>.zip]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SOURCES = {
    "functions": ROOT / "packages" / "functions" / "src" / "functions",
    "mlops_settings": ROOT / "packages" / "settings" / "src" / "mlops_settings",
}
# The handler of each function, and what of `functions` it does not ship: test-only code
# and the other function's. feedback reads the registry through get_models.registry.
FUNCTIONS = {
    "get_models": (
        "functions.get_models.handler.handler",
        {"functions/get_models/fixtures.py", "functions/feedback"},
    ),
    "feedback": (
        "functions.feedback.handler.handler",
        {
            "functions/get_models/fixtures.py",
            "functions/get_models/handler.py",
            "functions/get_models/download.py",
            "functions/get_models/paging.py",
            "functions/get_models/cors.py",
        },
    ),
}
# Installer leftovers: uv's lock file, and console scripts whose shebang names this machine's
# Python, and the RECORD files that hash those scripts (they would make the zip differ between
# machines; Lambda needs none of them).
EXCLUDED_TOP_LEVEL = {".lock", "bin"}
PLATFORM = "x86_64-manylinux2014"
PYTHON_VERSION = "3.13"  # the Lambda runtime (python3.11 is deprecated on Lambda in June 2027)
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _run(command: list[str], step: str) -> str:
    print(f"[lambda] {step}", flush=True)
    command = [*_uv(), *command[1:]] if command[0] == "uv" else command
    # The zip holds no bytecode (it would make the bytes differ by interpreter), so a
    # UV_COMPILE_BYTECODE set for the workspace must not reach this install.
    env = {k: v for k, v in os.environ.items() if k != "UV_COMPILE_BYTECODE"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"[lambda] {step} failed (exit {done.returncode})")
    return done.stdout


def export_requirements(path: Path) -> None:
    """Write the locked runtime requirements of `functions`, boto3 and its own included."""
    command = [
        "uv", "export", "--frozen", "--no-dev", "--package", "functions",
        "--no-emit-workspace", "--no-hashes", "--no-header", "--no-annotate",
        "--output-file", str(path),
    ]  # fmt: skip
    _run(command, "exporting locked requirements")


def install_for_lambda(
    requirements: Path, target: Path, python_version: str = PYTHON_VERSION
) -> None:
    """Install the requirements for the Lambda platform into `target` (wheels only)."""
    _run(
        [
            "uv", "pip", "install", "--target", str(target), "--no-deps",
            "--python-platform", PLATFORM, "--python-version", python_version,
            "--only-binary", ":all:", "--no-compile", "--requirement", str(requirements),
        ],
        f"installing requirements for {PLATFORM}, Python {python_version}",
    )  # fmt: skip


def add_sources(target: Path, function: str) -> None:
    """Copy `function`'s code and the settings package, without caches and what it leaves out."""
    print(f"[lambda] adding the code of {function}", flush=True)
    for name, source in SOURCES.items():
        shutil.copytree(
            source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for relative in FUNCTIONS[function][1]:
        path = target / relative
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def deterministic_zip(folder: Path, out: Path) -> None:
    """Zip `folder` with sorted entries, fixed timestamps and permissions."""
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.relative_to(folder).parts[0] not in EXCLUDED_TOP_LEVEL
        and not (p.name == "RECORD" and p.parent.name.endswith(".dist-info"))
    )
    files.sort(key=lambda p: p.relative_to(folder).as_posix())
    print(f"[lambda] zipping {len(files)} files", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=FIXED_TIME)
            info.external_attr = (0o100644 & 0xFFFF) << 16
            info.create_system = 3  # unix, so the permissions above are read
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    os.replace(partial, out)


def build(out: Path, function: str = "get_models", python_version: str = PYTHON_VERSION) -> str:
    """Build `function`'s zip at `out` and return its SHA-256.

    `python_version` other than the runtime's is for tests on a machine without that Python.
    """
    with tempfile.TemporaryDirectory(prefix="lambda-build-") as work:
        requirements = Path(work) / "requirements.txt"
        target = Path(work) / "package"
        export_requirements(requirements)
        install_for_lambda(requirements, target, python_version)
        add_sources(target, function)
        deterministic_zip(target, out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    size = out.stat().st_size
    print(f"[lambda] {out} ({size / 1e6:.1f} MB) sha256 {digest}; handler {FUNCTIONS[function][0]}")
    return digest


def main() -> None:
    """Command-line entry: build the zip."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--function", choices=sorted(FUNCTIONS), default="get_models")
    parser.add_argument("--out", type=Path, help="default: build/lambda/<function>.zip")
    parser.add_argument(
        "--python-version",
        default=PYTHON_VERSION,
        help=f"the wheels' Python (default {PYTHON_VERSION}, the Lambda runtime; tests only)",
    )
    arguments = parser.parse_args()
    out = arguments.out or ROOT / "build" / "lambda" / f"{arguments.function}.zip"
    build(out.resolve(), arguments.function, arguments.python_version)


if __name__ == "__main__":
    main()
