"""Train step: fit the digit CNN and export it as one self-contained ONNX file.

Runs as a SageMaker training job in script mode. Data channels arrive in ``SM_CHANNEL_TRAIN``
and ``SM_CHANNEL_VALIDATION`` (the prepare step's ``.npz`` files), hyperparameters as command
line arguments (``--epochs 10 --lr 0.004 --augment true --drawn-share 0.1``). Writes
``model.onnx`` and ``model.pt`` (state dict, for the parity check) to ``SM_MODEL_DIR`` and
``metrics.json`` and ``training_curves.png`` to ``SM_OUTPUT_DATA_DIR``; the same two travel in
the model directory too (``training_metrics.json``, ``training_curves.png``), so the evaluate
step, which receives only ``model.tar.gz``, can put them in the run report. Logs one
``epoch=.. loss=..`` line per epoch, the format SageMaker metric definitions parse. Besides
MNIST, training sees synthetic drawn digits in styles MNIST lacks (``strokes.py``).
"""

from __future__ import annotations

import os

# Before torch loads OpenMP: idle threads sleep instead of spinning, which keeps a training
# job from slowing to a crawl when it shares its cores (a laptop, a CI runner).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import io
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention
from container import fail, opt_ml, parse_bool, sha256_file, write_json
from model import DigitCNN, export_onnx, parameter_count, to_input
from strokes import synthesise

# Augmentation ranges. A drawing put through the preprocessing spec (contracts/preprocessing.md,
# version 2) is centred, fitted into 20x20 and redrawn with MNIST's average stroke width, so
# what is left to cover is how people shape digits: slant and rotation, proportions, wobbly
# lines (elastic distortion), a little size and position, and MNIST's own range of stroke
# widths around the redrawn one (dilation and erosion).
MAX_ROTATION_DEGREES = 12.0
MAX_SHEAR = 0.25  # horizontal shear, x += shear * y: italic and back-slanted digits
MAX_SHIFT_PIXELS = 2.0
MAX_SCALE_CHANGE = 0.12
MAX_ASPECT_CHANGE = 0.12  # width against height: narrow and wide digits
ELASTIC_PIXELS = 1.6  # largest displacement of the smooth random field, in pixels
ELASTIC_GRID = 4  # control points per side of that field (smooth at the scale of a stroke)
STROKE_PROBABILITY = 0.5
MAX_THINNING = 0.5  # a full 3x3 erosion wipes out the thin strokes of many 1s and 7s
# The share of training digits shown as the preprocessing spec (version 2) draws them: thinned
# to the centre line and redrawn with a round pen (see redraw). Without them a model reads
# MNIST's own test digits well but loses about 3 points on the same digits redrawn, which is
# what a drawing in the browser looks like.
REDRAW_PROBABILITY = 0.5
# The spec thins on a 64 px grid; MNIST's strokes are already 2-3 px wide at 28x28, which
# thinning handles, and a finer grid would cost a minute per training run.
REDRAW_SCALE = 1
STROKE_RADIUS = 1.3  # contracts/preprocessing.md: half the redrawn pen's width, output pixels
INK_THRESHOLD = 0.1  # contracts/preprocessing.md
# Synthetic drawn digits (strokes.py): styles MNIST hardly has (a 1 with a flag and a base, a
# closed 4, a 7 with a bar, a 2 with a loop), drawn as spec v2 draws a drawing. SYNTH_PER_DIGIT
# of each digit are made once per training run; in a batch, each image is swapped for a
# random one of them with the probability given by --drawn-share, then augmented like the rest.
SYNTH_PER_DIGIT = 400


def load_split(channel_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels from the one ``.npz`` file in a data channel."""
    files = sorted(channel_dir.glob("*.npz"))
    if len(files) != 1:
        raise FileNotFoundError(f"expected one .npz file in {channel_dir}, found {len(files)}")
    with np.load(files[0], allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"{files[0].name}: {len(images)} images but {len(labels)} labels")
    return images, labels


def _thinning_tables() -> torch.Tensor:
    """Zhang-Suen's decision for each of the 256 neighbourhoods, per sub-iteration: [2, 256].

    Bit k of a neighbourhood's code is neighbour P(k+2): N, NE, E, SE, S, SW, W, NW.
    """
    tables = torch.zeros(2, 256, dtype=torch.bool)
    for code in range(256):
        p = [(code >> k) & 1 for k in range(8)]
        count = sum(p)
        transitions = sum(1 for k in range(8) if p[k] == 0 and p[(k + 1) % 8] == 1)
        p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
        if 2 <= count <= 6 and transitions == 1:
            tables[0, code] = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
            tables[1, code] = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return tables


_TABLES = _thinning_tables()


def thin(mask: torch.Tensor) -> torch.Tensor:
    """Zhang-Suen thinning of a batch of binary images [N, H, W] (the spec's step 4).

    Each sub-iteration reads every pixel's neighbourhood as an 8-bit code and looks its fate
    up in a table, so a batch of thousands of digits takes about a second.
    """
    img = F.pad(mask.to(torch.uint8), (1, 1, 1, 1))
    h, w = mask.shape[-2:]
    # (row, column) offsets of N, NE, E, SE, S, SW, W, NW in the padded image.
    offsets = ((0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0), (0, 0))
    active = torch.arange(len(img))  # images still changing: most are done after a few passes
    while len(active):
        changed = torch.zeros(len(active), dtype=torch.bool)
        part = img[active]
        for table in _TABLES:
            code = torch.zeros_like(part[:, 1:-1, 1:-1])
            for bit, (r, c) in enumerate(offsets):
                code |= part[:, r : r + h, c : c + w] << bit
            delete = table[code.to(torch.int32)] & (part[:, 1:-1, 1:-1] > 0)
            part[:, 1:-1, 1:-1] = part[:, 1:-1, 1:-1].masked_fill(delete, 0)
            changed |= delete.flatten(1).any(1)
        img[active] = part
        active = active[changed]
    return img[:, 1:-1, 1:-1] > 0


def redraw(images: torch.Tensor) -> torch.Tensor:
    """MNIST digits [N, 1, 28, 28] as the preprocessing spec v2 draws a drawing.

    The digit is thinned to its centre line on its own grid, and every pixel gets
    ``clamp(STROKE_RADIUS + 0.5 - d, 0, 1)`` with ``d`` its distance to the nearest centre-line
    pixel: the spec's round pen (contracts/preprocessing.md, steps 4 and 7). On the pixel grid
    itself ``d`` is 0, 1, sqrt(2) or more, so the pen is a weighted 3x3 maximum. MNIST is
    already fitted into 20x20 and centred, so the spec's fitting steps are left out. A digit
    with no centre line left (none in MNIST) is kept as it was.
    """
    skeleton = thin(images[:, 0] > INK_THRESHOLD).to(images.dtype)[:, None]
    padded = F.pad(skeleton, (1, 1, 1, 1))
    side = images.shape[-1]
    out = torch.zeros_like(images)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            weight = min(max(STROKE_RADIUS + 0.5 - math.hypot(dr, dc), 0.0), 1.0)
            shifted = padded[:, :, 1 + dr : 1 + dr + side, 1 + dc : 1 + dc + side]
            out = torch.maximum(out, weight * shifted)
    has_line = skeleton.flatten(1).any(1)[:, None, None, None]
    return torch.where(has_line, out, images)


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random affine change, elastic distortion and stroke width for a batch [N, 1, 28, 28].

    Affine: rotation, horizontal shear, scale, aspect and shift (ranges above). Elastic: a
    random displacement field on a coarse grid, smoothed by bicubic upsampling, added to the
    sampling grid (Simard et al. 2003, in its cheap form). Stroke: a blend towards a 3x3
    dilation (thicker) or erosion (thinner) by a random amount, for some of the digits. All
    of it is batched tensor work, a few milliseconds per batch of 128 on one core.
    """
    n = batch.shape[0]

    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator) * 2 - 1  # in [-1, 1)

    angle = uniform(n) * math.radians(MAX_ROTATION_DEGREES)
    shear = uniform(n) * MAX_SHEAR
    scale = 1 + uniform(n) * MAX_SCALE_CHANGE
    aspect = 1 + uniform(n) * MAX_ASPECT_CHANGE
    # affine_grid works in [-1, 1] coordinates: 14 pixels per unit on a 28-pixel side. theta
    # maps output coordinates to input ones, so it is the inverse of the change shown.
    shift = uniform(n, 2) * (MAX_SHIFT_PIXELS / 14)
    cos, sin = torch.cos(angle), torch.sin(angle)
    sx, sy = 1 / (scale * aspect), aspect / scale
    theta = torch.stack(
        [
            torch.stack([cos * sx, (-sin + shear * cos) * sx, shift[:, 0]], 1),
            torch.stack([sin * sy, (cos + shear * sin) * sy, shift[:, 1]], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    coarse = uniform(n, 2, ELASTIC_GRID, ELASTIC_GRID) * (ELASTIC_PIXELS / 14)
    field = F.interpolate(coarse, size=batch.shape[-2:], mode="bicubic", align_corners=True)
    grid = grid + field.permute(0, 2, 3, 1)
    moved = F.grid_sample(batch, grid, align_corners=False, padding_mode="zeros")

    amount = uniform(n, 1, 1, 1).clamp(min=-MAX_THINNING)
    active = (torch.rand(n, 1, 1, 1, generator=generator) < STROKE_PROBABILITY).to(batch.dtype)
    thicker = F.max_pool2d(moved, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-moved, 3, stride=1, padding=1)
    change = amount.clamp(min=0) * (thicker - moved) + (-amount).clamp(min=0) * (thinner - moved)
    return (moved + active * change).clamp(0, 1)


def evaluate(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> tuple[float, float]:
    """Mean loss and accuracy on a whole split."""
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(chunk) for chunk in images.split(1000)])
        loss = F.cross_entropy(logits, labels).item()
        accuracy = (logits.argmax(1) == labels).float().mean().item()
    return loss, accuracy


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Fit the model; returns the metrics document."""
    torch.set_num_threads(args.num_cpus)
    random.seed(args.seed)
    np.random.seed(args.seed)  # for any library code that draws from the global RNG
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    train_images, train_labels = load_split(Path(args.train_dir))
    val_images, val_labels = load_split(Path(args.validation_dir))
    channels_last = torch.channels_last  # faster CPU convolutions for this model
    x_train = torch.from_numpy(to_input(train_images)).contiguous(memory_format=channels_last)
    y_train = torch.from_numpy(train_labels.astype(np.int64))
    x_val = torch.from_numpy(to_input(val_images)).contiguous(memory_format=channels_last)
    y_val = torch.from_numpy(val_labels.astype(np.int64))

    x_redrawn = x_train
    if args.augment:
        started_redraw = time.perf_counter()
        x_redrawn = redraw(x_train).contiguous(memory_format=channels_last)
        print(
            f"redrew {len(x_train)} digits as the preprocessing spec draws a drawing "
            f"in {time.perf_counter() - started_redraw:.1f} s",
            flush=True,
        )

    x_drawn, y_drawn = x_train[:0], y_train[:0]
    if args.augment and args.drawn_share > 0:
        started_synth = time.perf_counter()
        x_drawn, y_drawn = synthesise(SYNTH_PER_DIGIT, args.seed)
        x_drawn = x_drawn.contiguous(memory_format=channels_last)
        seconds = time.perf_counter() - started_synth
        print(f"synthesised {len(x_drawn)} drawn digits in {seconds:.1f} s", flush=True)

    model = DigitCNN().to(memory_format=channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.25
    )
    print(
        f"training {parameter_count(model)} parameters on {len(x_train)} images "
        f"(validation {len(x_val)}), {args.epochs} epochs, batch {args.batch_size}, "
        f"augment={args.augment}, {args.num_cpus} threads",
        flush=True,
    )

    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            images, labels = x_train[batch], y_train[batch]
            if args.augment:
                chosen = torch.rand(len(batch), generator=generator) < REDRAW_PROBABILITY
                images = torch.where(chosen[:, None, None, None], x_redrawn[batch], images)
                if len(x_drawn):
                    swap = torch.rand(len(batch), generator=generator) < args.drawn_share
                    pick = torch.randint(len(x_drawn), (len(batch),), generator=generator)
                    images = torch.where(swap[:, None, None, None], x_drawn[pick], images)
                    labels = torch.where(swap, y_drawn[pick], labels)
                images = augment(images, generator)
            logits = model(images)
            loss = F.cross_entropy(logits, labels, label_smoothing=args.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item() * len(batch)
            correct += int((logits.argmax(1) == labels).sum())
        val_loss, val_accuracy = evaluate(model, x_val, y_val)
        record = {
            "epoch": epoch,
            "loss": total_loss / len(x_train),
            "train_accuracy": correct / len(x_train),
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "seconds": time.perf_counter() - started,
        }
        history.append(record)
        print(
            f"epoch={epoch} loss={record['loss']:.4f} "
            f"train_accuracy={record['train_accuracy']:.4f} "
            f"val_loss={val_loss:.4f} val_accuracy={val_accuracy:.4f} "
            f"seconds={record['seconds']:.1f}",
            flush=True,
        )

    model = model.to(memory_format=torch.contiguous_format).eval()
    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), model_dir / "model.pt")
    onnx_path = export_onnx(model, model_dir / "model.onnx")
    print(f"wrote {onnx_path.name} ({onnx_path.stat().st_size} bytes)", flush=True)
    return {
        "val_accuracy": history[-1]["val_accuracy"],
        "val_loss": history[-1]["val_loss"],
        "train_seconds": history[-1]["seconds"],
        "parameters": parameter_count(model),
        "onnx_size_bytes": onnx_path.stat().st_size,
        "onnx_sha256": sha256_file(onnx_path),
        "train_images": len(x_train),
        "validation_images": len(x_val),
        "hyperparameters": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "label_smoothing": args.label_smoothing,
            "seed": args.seed,
            "augment": args.augment,
            "drawn_share": args.drawn_share,
        },
        "history": history,
    }


def curves_png(history: list[dict[str, float]]) -> bytes:
    """Loss and accuracy per epoch, training against validation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [int(h["epoch"]) for h in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    left.plot(epochs, [h["loss"] for h in history], marker="o", label="train (augmented)")
    left.plot(epochs, [h["val_loss"] for h in history], marker="o", label="validation")
    left.set_xlabel("epoch")
    left.set_ylabel("cross-entropy")
    left.set_title("Loss")
    left.legend()
    right.plot(epochs, [h["train_accuracy"] for h in history], marker="o", label="train")
    right.plot(epochs, [h["val_accuracy"] for h in history], marker="o", label="validation")
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy")
    right.set_title("Accuracy")
    right.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Hyperparameters and SageMaker's locations (from the ``SM_*`` variables)."""
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.004)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--label-smoothing", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--augment", type=parse_bool, default=True)
    parser.add_argument(
        "--drawn-share",
        type=float,
        default=0.1,
        help="share of each batch swapped for synthetic drawn digits (strokes.py); 0: none",
    )
    parser.add_argument(
        "--train-dir", default=env.get("SM_CHANNEL_TRAIN", str(opt_ml("input/data/train")))
    )
    parser.add_argument(
        "--validation-dir",
        default=env.get("SM_CHANNEL_VALIDATION", str(opt_ml("input/data/validation"))),
    )
    parser.add_argument("--model-dir", default=env.get("SM_MODEL_DIR", str(opt_ml("model"))))
    parser.add_argument(
        "--output-data-dir", default=env.get("SM_OUTPUT_DATA_DIR", str(opt_ml("output/data")))
    )
    parser.add_argument(
        "--num-cpus", type=int, default=int(env.get("SM_NUM_CPUS") or os.cpu_count() or 1)
    )
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0 or args.num_cpus < 1:
        parser.error("--epochs, --batch-size, --num-cpus must be >= 1 and --lr > 0")
    if not 0 <= args.drawn_share <= 1:
        parser.error("--drawn-share must be between 0 and 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    try:
        metrics = train(args)
        output_dir, model_dir = Path(args.output_data_dir), Path(args.model_dir)
        curves = curves_png(metrics["history"])
        write_json(output_dir / "metrics.json", metrics)
        (output_dir / "training_curves.png").write_bytes(curves)
        write_json(model_dir / "training_metrics.json", metrics)
        (model_dir / "training_curves.png").write_bytes(curves)
        print(json.dumps({k: v for k, v in metrics.items() if k != "history"}), flush=True)
    except Exception as exc:
        fail(f"train failed: {type(exc).__name__}: {exc}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
