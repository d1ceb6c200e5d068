"""The image side and class count: written once in Python (idx), as the contracts say."""

from __future__ import annotations

import json
import re
from pathlib import Path

from functions.feedback import correction
from pipelines.mnist import preprocessing
from pipelines.mnist.code import idx, registry_entry

CONTRACTS = Path(__file__).resolve().parents[5] / "contracts"


def test_the_image_side_is_the_preprocessing_spec_size() -> None:
    spec = (CONTRACTS / "preprocessing.md").read_text()
    side = re.search(r"\| `SIZE` \| (\d+) \|", spec)
    assert side is not None, "contracts/preprocessing.md no longer has its SIZE row"
    assert idx.IMAGE_SIDE == int(side[1]) == preprocessing.SIZE
    assert idx.PIXELS == idx.IMAGE_SIDE**2


def test_the_registry_entry_shapes_are_the_contract_fixture() -> None:
    fixture = json.dumps(json.loads((CONTRACTS / "fixtures/registry-entry.json").read_text()))
    side, classes = idx.IMAGE_SIDE, idx.NUM_CLASSES
    assert ("N", 1, side, side) == registry_entry.INPUT_SHAPE
    assert ("N", classes) == registry_entry.OUTPUT_SHAPE
    shapes = registry_entry.INPUT_SHAPE, registry_entry.OUTPUT_SHAPE
    shown = [registry_entry.encode_shape(shape) for shape in shapes]
    assert f'"input_shape": "{shown[0]}"' in fixture
    assert f'"output_shape": "{shown[1]}"' in fixture


def test_the_feedback_lambda_copy_agrees() -> None:
    # The feedback Lambda's zip holds functions and mlops_settings only, so it keeps its own
    # copy of the two numbers; this is what keeps it the same.
    assert correction.IMAGE_SIDE == idx.IMAGE_SIDE
    assert correction.PIXEL_BYTES == idx.PIXELS
    assert range(idx.NUM_CLASSES) == correction.DIGITS
