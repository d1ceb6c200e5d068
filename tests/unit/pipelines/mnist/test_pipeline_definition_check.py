"""The MNIST definition passes SageMaker's CreatePipeline checks (the emulator's strict layer).

Built against an in-process S3 (moto's mock, no network), then checked as CreatePipeline would
check it; without `.to_string()` the same definition has exactly the errors SageMaker reports
for an Integer or Float parameter in a string field: the eight of the issue that found them, and
the robustness floor added since.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from localaws.sagemaker.pipeline_definition import check_definition


def check(document: dict) -> list[str]:
    return check_definition(json.dumps(document))


@pytest.fixture
def generated(mnist_definition: dict) -> dict:
    """The MNIST pipeline's definition (tests/unit/conftest.py builds it once a session)."""
    return mnist_definition


def test_the_generated_definition_passes(generated: dict) -> None:
    assert check(generated) == []


def test_without_to_string_every_number_in_a_string_field_is_refused(
    generated: dict,
) -> None:
    """The numbers the pipeline passes as text, placed raw (as before the fix): all refused."""

    def raw(value: Any) -> Any:
        if isinstance(value, dict):
            join = value.get("Std:Join")
            if join and join.get("On") == "" and len(join.get("Values", [])) == 1:
                [only] = join["Values"]
                if isinstance(only, dict) and str(only.get("Get", "")).startswith("Parameters."):
                    return only
            return {k: raw(v) for k, v in value.items()}
        if isinstance(value, list):
            return [raw(v) for v in value]
        return value

    problems = check(raw(generated))

    assert sorted(problems) == sorted(
        f"Cannot assign property reference [Parameters.{name}] to argument of type [String]"
        for name in (
            "Epochs",
            "ChampionSignificance",
            "AccuracyThreshold",
            "MinClassRecall",
            "ChampionSignificance",
            "MinParityAgreement",
            "MaxParityLogitDiff",
            "MaxModelSizeBytes",
            "MinVariationAccuracy",
        )
    )
