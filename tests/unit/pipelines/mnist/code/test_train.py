"""train.py: learns the digits, logs per epoch, writes one self-contained ONNX file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

pytestmark = pytest.mark.slow  # these train a model (on the tiny slice)

CODE = Path(__file__).resolve().parents[5] / "packages/pipelines/src/pipelines/mnist/code"


def validation_inputs(prepared: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(prepared / "validation/validation.npz") as data:
        images, labels = data["images"], data["labels"]
    return (images.astype(np.float32) / 255)[:, None], labels


def test_training_on_the_tiny_slice_beats_chance_clearly(trained: Any, prepared: Path) -> None:
    metrics = json.loads((trained.output_dir / "metrics.json").read_text())
    inputs, labels = validation_inputs(prepared)
    session = ort.InferenceSession(str(trained.model_dir / "model.onnx"))
    accuracy = float((session.run(None, {"input": inputs})[0].argmax(1) == labels).mean())

    assert accuracy >= 0.85  # chance is 0.10; about 0.97 in practice
    assert metrics["val_accuracy"] == pytest.approx(accuracy, abs=0.011)
    assert metrics["parameters"] <= 150_000
    assert len(metrics["history"]) == 5


def test_logs_one_metric_line_per_epoch(trained: Any) -> None:
    pattern = re.compile(r"^epoch=(\d+) loss=([0-9.]+) .*val_accuracy=([0-9.]+)", re.MULTILINE)
    epochs = [int(m.group(1)) for m in pattern.finditer(trained.run.stdout)]

    assert epochs == [1, 2, 3, 4, 5]
    losses = [float(m.group(2)) for m in pattern.finditer(trained.run.stdout)]
    assert losses[-1] < losses[0]


def test_writes_curves_and_metrics(trained: Any) -> None:
    assert (trained.output_dir / "training_curves.png").read_bytes()[:4] == b"\x89PNG"
    metrics = json.loads((trained.output_dir / "metrics.json").read_text())
    assert metrics["hyperparameters"]["epochs"] == 5
    assert metrics["hyperparameters"]["augment"] is True
    assert metrics["hyperparameters"]["drawn_share"] == 0.1  # synthetic drawn digits (strokes.py)


def test_onnx_is_one_self_contained_file_with_the_contract_interface(trained: Any) -> None:
    # The model directory (model.tar.gz) also carries the curves for the run report.
    assert sorted(p.name for p in trained.model_dir.iterdir()) == [
        "model.onnx",
        "model.pt",
        "training_curves.png",
        "training_metrics.json",
    ]
    proto = onnx.load(str(trained.model_dir / "model.onnx"), load_external_data=False)
    onnx.checker.check_model(proto)

    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) == 17
    (graph_input,) = proto.graph.input
    (graph_output,) = proto.graph.output
    assert graph_input.name == "input"
    assert graph_output.name == "logits"
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    in_dims = graph_input.type.tensor_type.shape.dim
    out_dims = graph_output.type.tensor_type.shape.dim
    assert in_dims[0].dim_param  # dynamic batch
    assert [d.dim_value for d in in_dims[1:]] == [1, 28, 28]
    assert [d.dim_value for d in out_dims[1:]] == [10]
    session = ort.InferenceSession(str(trained.model_dir / "model.onnx"))
    for batch in (1, 7):
        (logits,) = session.run(None, {"input": np.zeros((batch, 1, 28, 28), np.float32)})
        assert logits.shape == (batch, 10)


def test_onnx_matches_the_pytorch_weights(
    trained: Any, prepared: Path, code_modules: Callable[[], Any]
) -> None:
    inputs, _ = validation_inputs(prepared)
    with code_modules() as load:
        model = load("model").load_state(trained.model_dir / "model.pt")
        with torch.no_grad():
            expected = model(torch.from_numpy(inputs)).numpy()
    session = ort.InferenceSession(str(trained.model_dir / "model.onnx"))
    (actual,) = session.run(None, {"input": inputs})

    assert (actual.argmax(1) == expected.argmax(1)).all()
    assert np.abs(actual - expected).max() < 1e-4


def test_augmentation_is_seeded_bounded_and_keeps_the_digit(
    prepared: Path, code_modules: Callable[[], Any]
) -> None:
    inputs, _ = validation_inputs(prepared)
    batch = torch.from_numpy(inputs[:64])
    with code_modules() as load:
        augment = load("train").augment
        first = augment(batch, torch.Generator().manual_seed(1))
        again = augment(batch, torch.Generator().manual_seed(1))
        other = augment(batch, torch.Generator().manual_seed(2))

    assert first.shape == batch.shape
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert float(first.min()) >= 0.0
    assert float(first.max()) <= 1.0
    changed = (first - batch).abs().flatten(1).mean(1)
    assert bool((changed > 0).all())  # every digit moved, turned or changed its stroke
    ink_ratio = first.flatten(1).sum(1) / batch.flatten(1).sum(1)
    assert float(ink_ratio.min()) > 0.3  # the digit stays in the frame, strokes survive
    assert float(ink_ratio.max()) < 2.5
    assert float(ink_ratio.min()) < 0.95 < 1.05 < float(ink_ratio.max())  # thinner and thicker


def test_same_seed_gives_the_same_weights(
    prepared: Path, tmp_path: Path, code_modules: Callable[[], Any]
) -> None:
    states = []
    with code_modules() as load:
        train = load("train")
        for attempt in ("a", "b"):
            args = train.parse_args(
                [
                    *("--epochs", "1", "--seed", "3", "--num-cpus", "1"),
                    *("--train-dir", str(prepared / "train")),
                    *("--validation-dir", str(prepared / "validation")),
                    *("--model-dir", str(tmp_path / attempt)),
                ]
            )
            train.train(args)
            states.append(torch.load(tmp_path / attempt / "model.pt", weights_only=True))

    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--augment", "maybe"), "expected true or false, got 'maybe'"),
        (("--epochs", "0"), "--epochs, --batch-size, --num-cpus must be >= 1"),
        (("--drawn-share", "1.5"), "--drawn-share must be between 0 and 1"),
    ],
)
def test_bad_hyperparameters_are_refused(
    args: tuple[str, ...],
    message: str,
    code_modules: Callable[[], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with code_modules() as load, pytest.raises(SystemExit) as exit_info:
        load("train").parse_args(list(args))

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_missing_channel_fails_with_a_reason(
    tmp_path: Path,
    prepared: Path,
    code_modules: Callable[[], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("OPT_ML", str(tmp_path / "opt_ml"))
    args = [
        *("--train-dir", str(empty), "--validation-dir", str(prepared / "validation")),
        *("--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "out")),
    ]

    with code_modules() as load, pytest.raises(FileNotFoundError):
        load("train").main(args)

    failure = (tmp_path / "opt_ml/output/failure").read_text()
    assert f"expected one .npz file in {empty}, found 0" in failure


def test_redrawn_digits_come_in_the_specs_pen_and_others(
    prepared: Path, code_modules: Callable[[], Any]
) -> None:
    """Half the redrawn digits keep the spec's pen (the browser's), half a fineliner to a marker."""
    inputs, _ = validation_inputs(prepared)
    with code_modules() as load:
        train, centreline = load("train"), load("centreline")
        lines = centreline.centre_line(torch.from_numpy(inputs[:200]))
        drawn = train.redraw_with_pens(lines, torch.Generator().manual_seed(1))
        spec = centreline.pen(lines)

    ink = drawn.flatten(1).sum(1) / lines.flatten(1).sum(1)  # about the stroke's width
    same = torch.isclose(drawn, spec).flatten(1).all(1)
    assert 0.3 < float(same.float().mean()) < 0.7
    assert float(ink[~same].min()) < 1.6 < 2.6 < float(ink[~same].max())  # thin and thick pens


def test_degrading_wipes_gaps_blurs_and_adds_noise_to_a_share(
    prepared: Path, code_modules: Callable[[], Any]
) -> None:
    inputs, _ = validation_inputs(prepared)
    batch = torch.from_numpy(inputs[:100])
    with code_modules() as load:
        degrade = load("train").degrade
        first = degrade(batch, torch.Generator().manual_seed(4))
        again = degrade(batch, torch.Generator().manual_seed(4))

    assert torch.equal(first, again)
    assert float(first.min()) >= 0.0
    assert float(first.max()) <= 1.0
    background = (batch == 0).flatten(1)
    noisy = ((first != 0).flatten(1) & background).sum(1) > 0.3 * background.sum(1)
    changed = (first != batch).flatten(1).any(1)
    assert 0.1 < float(noisy.float().mean()) < 0.45  # noise: a quarter of the digits
    assert 0.3 < float(changed.float().mean()) < 0.8  # gaps, blur or noise: about half
    kept = ~changed
    assert torch.equal(first[kept], batch[kept])


def test_prefetched_batches_come_in_order_and_a_failure_reaches_the_trainer(
    code_modules: Callable[[], Any],
) -> None:
    def numbers_then_a_fault() -> Any:
        yield from range(5)
        raise ValueError("augmentation broke on batch 5")

    with code_modules() as load:
        train = load("train")
        stream = train.prefetched(numbers_then_a_fault(), depth=2)
        assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
        with pytest.raises(ValueError, match="augmentation broke on batch 5"):
            next(stream)
        assert list(train.prefetched(iter(range(3)), depth=1)) == [0, 1, 2]
