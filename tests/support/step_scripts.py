"""Fixtures for the step scripts: run them the way a SageMaker container does.

Each script runs in a subprocess with the code folder as its working directory (so it imports
its siblings as top-level modules, as in the container) and ``OPT_ML`` pointing at a temporary
folder that stands in for /opt/ml.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = ROOT / "packages/pipelines/src/pipelines/mnist/code"
FIXTURES = ROOT / "tests" / "fixtures" / "mnist"
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"


@dataclass(frozen=True)
class Run:
    """A finished script run."""

    returncode: int
    stdout: str
    stderr: str
    opt_ml: Path

    @property
    def failure(self) -> str:
        """What the script left in SageMaker's failure-reason file ('' if nothing)."""
        path = self.opt_ml / "output/failure"
        return path.read_text() if path.is_file() else ""


def _run_step(
    script: str, opt_ml: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 300
) -> Run:
    """Run one step script as its container would, with /opt/ml at ``opt_ml``."""
    environment = {**os.environ, "OPT_ML": str(opt_ml), **(env or {})}
    environment.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, script, *args],
        cwd=CODE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr, opt_ml)


def load_idx_module() -> ModuleType:
    """The step scripts' IDX reader/writer, loaded under a private name."""
    spec = importlib.util.spec_from_file_location("_mnist_code_idx", CODE / "idx.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def run_step() -> Callable[..., Run]:
    """``run_step(script, opt_ml, *args, env=None)``: run a step script, return its Run."""
    return _run_step


@pytest.fixture(scope="session")
def idx() -> ModuleType:
    return load_idx_module()


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    """A copy of the tiny slice (1,000 real MNIST digits) as raw IDX gzip files."""
    target = tmp_path / "opt_ml/processing/input/raw"
    target.mkdir(parents=True)
    for name in (TRAIN_IMAGES, TRAIN_LABELS):
        shutil.copy(FIXTURES / name, target / name)
    return target


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepare step's outputs for the tiny slice (its /opt/ml/processing/output)."""
    opt_ml = tmp_path_factory.mktemp("prepare") / "opt_ml"
    raw = opt_ml / "processing/input/raw"
    raw.mkdir(parents=True)
    for name in (TRAIN_IMAGES, TRAIN_LABELS):
        shutil.copy(FIXTURES / name, raw / name)
    run = _run_step("prepare.py", opt_ml)
    assert run.returncode == 0, run.stderr
    return opt_ml / "processing/output"


@dataclass(frozen=True)
class Trained:
    """A training job's results on the tiny slice."""

    run: Run
    model_dir: Path
    output_dir: Path
    model_tar: Path


@pytest.fixture(scope="session")
def trained(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """train.py on the tiny slice (a few quick epochs), as a SageMaker training job runs it."""
    opt_ml = tmp_path_factory.mktemp("train") / "opt_ml"
    model_dir, output_dir = opt_ml / "model", opt_ml / "output/data"
    env = {
        "SM_CHANNEL_TRAIN": str(prepared / "train"),
        "SM_CHANNEL_VALIDATION": str(prepared / "validation"),
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DATA_DIR": str(output_dir),
        "SM_NUM_CPUS": "1",
    }
    run = _run_step(
        "train.py", opt_ml, "--epochs", "5", "--batch-size", "64", "--lr", "0.005", env=env
    )
    assert run.returncode == 0, run.stderr
    # SageMaker tars the model directory into model.tar.gz for later steps.
    model_tar = opt_ml.parent / "model.tar.gz"
    with tarfile.open(model_tar, "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return Trained(run, model_dir, output_dir, model_tar)


@contextlib.contextmanager
def _code_modules() -> Iterator[Callable[[str], ModuleType]]:
    """Import step scripts in-process, as the container does (code folder on sys.path).

    Yields ``load(name)``; afterwards the scripts' top-level modules (``model``, ``train``...)
    are removed again so they cannot clash with other tests' modules.
    """
    before = set(sys.modules)
    sys.path.insert(0, str(CODE))
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(str(CODE))
        for name in set(sys.modules) - before:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if Path(module_file).parent == CODE:
                del sys.modules[name]


@pytest.fixture(scope="session")
def code_modules() -> Callable[[], contextlib.AbstractContextManager[Callable[[str], ModuleType]]]:
    """``with code_modules() as load: load("model")``: the step scripts' own modules."""
    return _code_modules


def evaluation_inputs(opt_ml: Path, prepared: Path, model_tar: Path) -> Path:
    """Lay out the evaluate job's inputs under ``opt_ml`` as the pipeline mounts them."""
    for folder, source in (
        ("processing/model", model_tar),
        ("processing/train", prepared / "train/train.npz"),
        ("processing/validation", prepared / "validation/validation.npz"),
        ("processing/test", prepared / "test/test.npz"),
        # prepare's whole report output, as the pipeline mounts it: the manifest, the data
        # report and the class balance picture.
        ("processing/manifest", prepared / "report/manifest.json"),
        ("processing/manifest", prepared / "report/data_report.json"),
        ("processing/manifest", prepared / "report/class_balance.png"),
    ):
        (opt_ml / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(source, opt_ml / folder / source.name)
    return opt_ml


@pytest.fixture(scope="session")
def evaluated(prepared: Path, trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """evaluate.py on the trained model, no registry group (so no champion); its /opt/ml."""
    opt_ml = evaluation_inputs(
        tmp_path_factory.mktemp("evaluate") / "opt_ml", prepared, trained.model_tar
    )
    # One validation image of the tiny slice moves accuracy by more than the 0.3-point int8
    # tolerance, so whether int8 is kept would depend on the training's luck; these tests judge
    # the shipped int8 file, so it is always kept here (the choice rule has its own test).
    run = _run_step("evaluate.py", opt_ml, "--quantization-tolerance", "1")
    assert run.returncode == 0, run.stderr
    return opt_ml
