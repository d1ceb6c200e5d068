"""The trained model, as it ships: behavioural tests in Made-With-ML's manner.

The model is tests/fixtures/web/model.onnx (the int8 file the pipeline ships, made by the
pipeline's own steps with their defaults: `make web-model`), the digits its 500 held-out
test digits (tests/fixtures/web/heldout.npz, never trained on). Invariance: under each
variation other writers and scanners produce (variations.py, each with its source) the
model still reads them, at the pipeline gate's floor. Directional: a digit moved out of the
frame or wiped is no longer read as the digit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

FIXTURES = Path(__file__).resolve().parents[5] / "tests/fixtures/web"
FLOOR = 0.97  # MinVariationAccuracy's default (contracts/evaluation-report.md)


@pytest.fixture(scope="module")
def held_out() -> tuple[np.ndarray, np.ndarray]:
    with np.load(FIXTURES / "heldout.npz") as data:
        return (data["images"].astype(np.float32) / 255)[:, None], data["labels"]


@pytest.fixture(scope="module")
def read() -> Callable[[np.ndarray], np.ndarray]:
    session = ort.InferenceSession(str(FIXTURES / "model.onnx"))

    def predict(inputs: np.ndarray) -> np.ndarray:
        return session.run(None, {"input": inputs})[0].argmax(1)

    return predict


@pytest.fixture(scope="module")
def variations(code_modules: Callable[[], Any]) -> Any:
    with code_modules() as load:
        yield load("variations")


def test_reads_the_held_out_digits(read: Any, held_out: tuple[np.ndarray, np.ndarray]) -> None:
    inputs, labels = held_out
    assert float((read(inputs) == labels).mean()) >= 0.987


@pytest.mark.parametrize(
    "name",
    [
        "shift",
        "scale",
        "rotation",
        "shear",
        "thin",
        "thick",
        "broken",
        "blur",
        "low_resolution",
        "noise",
    ],
)
def test_reads_digits_as_other_writers_and_scanners_make_them(
    name: str, read: Any, variations: Any, held_out: tuple[np.ndarray, np.ndarray]
) -> None:
    inputs, labels = held_out
    varied = variations.vary(name, inputs)

    accuracy = float((read(varied) == labels).mean())
    agreement = float((read(varied) == read(inputs)).mean())
    assert accuracy >= FLOOR, f"{name}: {accuracy:.2%} of the held-out digits read right"
    assert agreement >= FLOOR, f"{name}: {agreement:.2%} read as the unchanged digit"


def test_a_digit_moved_out_of_the_frame_is_not_read_as_itself(
    read: Any, held_out: tuple[np.ndarray, np.ndarray]
) -> None:
    inputs, labels = held_out
    gone = np.roll(inputs, 20, axis=3)  # 20 px to the right: most of the ink wraps or leaves
    gone[:, :, :, :20] = 0

    assert float((read(gone) == labels).mean()) < 0.5
