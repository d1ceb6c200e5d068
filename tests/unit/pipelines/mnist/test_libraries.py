"""The steps run with the training image's libraries, in AWS and locally alike.

The image brings torch (pipeline.FRAMEWORK_VERSION); code/requirements.txt, which SageMaker
pip-installs at every job start, pins everything else exactly, compiled for the image's Python
from uv.lock (`make step-requirements`); the workspace, where the local runner and the step
scripts' tests run, has those same versions. Any drift between the three fails here.
"""

from __future__ import annotations

import json
import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from localaws.local_runner import jobs
from pipelines.mnist import pipeline

ROOT = Path(__file__).resolve().parents[4]
REQUIREMENTS = pipeline.CODE_DIR / "requirements.txt"
STEP_NEEDS = ROOT / "packages/pipelines/step-requirements.in"


def pins() -> dict[str, str]:
    found = {}
    for line in REQUIREMENTS.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            name, separator, version = text.partition("==")
            assert separator, f"requirements.txt: {text!r} is not pinned exactly (name==version)"
            found[canonicalize_name(name)] = version.strip()
    return found


def locked() -> dict[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {canonicalize_name(p["name"]): p["version"] for p in lock["package"] if "version" in p}


def test_requirements_pin_exactly_the_locked_versions() -> None:
    versions = locked()
    pinned = pins()
    assert pinned
    drifted = {n: (v, versions.get(n)) for n, v in pinned.items() if versions.get(n) != v}
    assert not drifted, f"requirements.txt vs uv.lock (run `make step-requirements`): {drifted}"


def test_every_package_the_steps_need_is_pinned() -> None:
    needed = {
        canonicalize_name(line.strip())
        for line in STEP_NEEDS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert needed <= set(pins()), needed - set(pins())


def test_the_workspace_torch_is_the_images() -> None:
    assert locked()["torch"] == pipeline.FRAMEWORK_VERSION
    assert metadata.version("torch").split("+")[0] == pipeline.FRAMEWORK_VERSION


def test_the_image_exists_for_that_python_and_the_pins_were_compiled_for_it() -> None:
    import sagemaker.core

    config = Path(sagemaker.core.__file__).parent / "image_uri_config" / "pytorch.json"
    versions = json.loads(config.read_text())["training"]["versions"]
    assert pipeline.PY_VERSION in versions[pipeline.FRAMEWORK_VERSION]["py_versions"]
    makefile = (ROOT / "mk/pipeline.mk").read_text()
    [python] = re.findall(r"^STEP_PYTHON \?= (\d+)\.(\d+)$", makefile, re.MULTILINE)
    assert f"py{''.join(python)}" == pipeline.PY_VERSION


def test_the_local_runner_finds_the_pinned_versions_installed() -> None:
    # What the runner checks before every step: nothing missing, nothing at another version.
    jobs.check_requirements(REQUIREMENTS)
    for name, version in pins().items():
        assert metadata.version(name) == version, name
