"""register.py without a registry: the serving image it names for each region."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


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
