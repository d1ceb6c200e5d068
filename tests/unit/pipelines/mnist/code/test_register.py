"""register.py without a registry: the serving image it names for each region."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[5]


def sdk_pytorch_images() -> dict[str, Any]:
    """The SageMaker SDK's PyTorch image table (image_uri_config/pytorch.json), as locked."""
    import sagemaker.core

    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    [locked] = [p["version"] for p in lock["package"] if p["name"] == "sagemaker-core"]
    assert metadata.version("sagemaker-core") == locked, "the SDK installed is not the locked one"
    config = Path(sagemaker.core.__file__).parent / "image_uri_config" / "pytorch.json"
    return dict(json.loads(config.read_text()))


@pytest.mark.parametrize(
    ("region", "image"),
    [
        ("eu-west-1", "763104351884.dkr.ecr.eu-west-1.amazonaws.com/"),
        ("af-south-1", "626614931356.dkr.ecr.af-south-1.amazonaws.com/"),
        ("cn-north-1", "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/"),
    ],
)
def test_the_serving_image_follows_the_region(
    region: str, image: str, code_modules: Callable[[], Any]
) -> None:
    with code_modules() as load:
        uri = load("register").serving_image(region)

    assert uri.startswith(image)
    assert uri.endswith("/pytorch-inference:2.6.0-cpu-py312")


def test_the_serving_image_is_the_newest_cpu_inference_image_the_locked_sdk_lists(
    code_modules: Callable[[], Any],
) -> None:
    # The SDK lists no inference image for the training image's 2.10 (py313); the newest it
    # lists is what AWS still patches. A `uv lock` that brings a newer one fails here.
    inference = sdk_pytorch_images()["inference"]
    newest = max(inference["versions"], key=Version)
    entry = inference["versions"][newest]
    with code_modules() as load:
        register = load("register")

    assert "cpu" in inference["processors"]
    python = max(entry["py_versions"], key=lambda py: int(py[2:]))
    assert f"{entry['repository']}:{newest}-cpu-{python}" == register.SERVING_IMAGE


def test_every_region_gets_the_account_the_locked_sdk_names(
    code_modules: Callable[[], Any],
) -> None:
    inference = sdk_pytorch_images()["inference"]
    with code_modules() as load:
        register = load("register")
    version = register.SERVING_IMAGE.split(":")[1].split("-")[0]
    registries = inference["versions"][version]["registries"]

    named = {region: register.serving_image(region).split(".")[0] for region in registries}
    assert named == registries
    assert set(register.IMAGE_ACCOUNTS) <= set(registries)
