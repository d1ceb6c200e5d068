"""Robustness benchmark: the shipped model's held-out accuracy under every variation.

The variations are those of the pipeline's own check (packages/pipelines/src/pipelines/mnist/
code/variations.py, each with its source): small shifts, scale, rotation and slant; thin,
thick and broken strokes; blur and low resolution (a digit scanned small and scaled up);
noise. The held-out digits are the offline sample's test split, chosen by content hash as the
prepare step chooses it (never trained on); the model is the int8 file the pipeline ships
(tests/fixtures/web/model.onnx, rebuilt by `make web-model`) unless ``--model`` names another.

Prints, per variation, the accuracy, its change from the unchanged digits, the agreement with
the unchanged digits' predictions and which digits are lost most, then whether each holds the
gate's floor (MinVariationAccuracy, 0.97: contracts/evaluation-report.md). Writes
build/bench/robustness.json and build/bench/robustness.png (ten digits under each variation,
what the model read). Asserts nothing; about 10 seconds.

    uv run python bench/robustness.py [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
CODE = ROOT / "packages/pipelines/src/pipelines/mnist/code"
SAMPLE = CODE.parent / "data"
OUT = Path("build/bench")
FLOOR = 0.97  # the pipeline's MinVariationAccuracy default (pipelines/mnist/pipeline.py)

sys.path.insert(0, str(CODE))
from idx import read_idx  # noqa: E402 - the step scripts' own modules
from model import to_input  # noqa: E402
from prepare import content_split  # noqa: E402
from variations import VARIATIONS, robustness, vary  # noqa: E402


def held_out() -> tuple[np.ndarray, np.ndarray]:
    """The offline sample's test split: model inputs [N, 1, 28, 28] and labels [N]."""
    images = read_idx(SAMPLE / "train-images-idx3-ubyte.gz")
    labels = read_idx(SAMPLE / "train-labels-idx1-ubyte.gz")
    test = content_split(images)["test"]
    return to_input(images[test]), labels[test]


def predictor(model: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Predicted digits [N] for inputs [N, 1, 28, 28], with onnxruntime on the file."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def predict(inputs: np.ndarray) -> np.ndarray:
        parts = [
            session.run(None, {"input": inputs[i : i + 500]})[0] for i in range(0, len(inputs), 500)
        ]
        return np.concatenate(parts).argmax(1)

    return predict


def picture(inputs: np.ndarray, predict: Callable[[np.ndarray], np.ndarray], path: Path) -> None:
    """Ten held-out digits, unchanged and under each variation, with what the model read."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = inputs[:10]
    rows = [("unchanged", shown)] + [(v.name, vary(v.name, shown)) for v in VARIATIONS]
    figure, axes = plt.subplots(len(rows), 10, figsize=(10, len(rows) * 1.1), squeeze=False)
    for r, (name, images) in enumerate(rows):
        read = predict(images)
        for c in range(10):
            axes[r, c].imshow(images[c, 0], cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_title(str(read[c]), fontsize=7)
            axes[r, c].axis("off")
        axes[r, 0].text(-4, 14, name, ha="right", va="center", fontsize=8)
    figure.suptitle("Held-out digits under each variation (title: what the model read)")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", type=Path, default=ROOT / "tests/fixtures/web/model.onnx")
    args = parser.parse_args()
    inputs, labels = held_out()
    predict = predictor(args.model)
    clean = predict(inputs)
    clean_accuracy = float((clean == labels).mean())
    figures = robustness(predict, inputs, labels)

    print(
        f"model {args.model.name} ({args.model.stat().st_size} bytes), "
        f"{len(labels)} held-out digits"
    )
    print(f"unchanged: accuracy {clean_accuracy:.2%}\n")
    print(
        f"{'variation':<16}{'accuracy':>9}{'change':>9}{'agreement':>11}"
        f"  most lost  floor {FLOOR:.0%}"
    )
    for variation in VARIATIONS:
        row = figures[variation.name]
        read = predict(vary(variation.name, inputs))
        lost = [
            (int(((clean == labels) & (read != labels) & (labels == d)).sum()), d)
            for d in range(10)
        ]
        worst = ", ".join(f"{d}: {n}" for n, d in sorted(lost, reverse=True)[:2] if n)
        verdict = "holds" if row["accuracy"] >= FLOOR else "BELOW"
        print(
            f"{variation.name:<16}{row['accuracy']:>9.2%}{row['accuracy'] - clean_accuracy:>+9.2%}"
            f"{row['agreement']:>11.2%}  {worst or '-':<9}  {verdict}"
        )
    lowest = min(figures, key=lambda name: figures[name]["accuracy"])
    print(
        f"\nlowest: {lowest} {figures[lowest]['accuracy']:.2%}; "
        f"{sum(f['accuracy'] >= FLOOR for f in figures.values())}/{len(figures)} variations "
        f"hold the floor of {FLOOR:.0%}"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "robustness.json").write_text(
        json.dumps(
            {
                "model": str(args.model),
                "held_out": len(labels),
                "accuracy": clean_accuracy,
                "floor": FLOOR,
                "robustness": figures,
            },
            indent=2,
        )
    )
    picture(inputs, predict, OUT / "robustness.png")
    print(f"wrote {OUT / 'robustness.json'} and {OUT / 'robustness.png'}")


if __name__ == "__main__":
    main()
