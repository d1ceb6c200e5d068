"""Train step: fit the digit CNN and export it as one self-contained ONNX file.

Runs as a SageMaker training job in script mode. Data channels arrive in ``SM_CHANNEL_TRAIN``
and ``SM_CHANNEL_VALIDATION`` (the prepare step's ``.npz`` files), hyperparameters as command
line arguments (``--epochs 10 --lr 0.004 --augment true --drawn-share 0.1``). Writes
``model.onnx`` and ``model.pt`` (state dict, for the parity check) to ``SM_MODEL_DIR`` and
``metrics.json`` and ``training_curves.png`` to ``SM_OUTPUT_DATA_DIR``; the same two travel in
the model directory too (``training_metrics.json``, ``training_curves.png``), so the evaluate
step, which receives only ``model.tar.gz``, can put them in the run report. Logs one
``epoch=.. loss=..`` line per epoch, the format SageMaker metric definitions parse.

What a batch shows, so that one model reads both a drawing in the browser and other people's
scanned digits (issue 21: trading one for the other lost about 3 points on either): MNIST's
digits as they are, or redrawn along their centre line as the browser's preprocessing draws
(half of those with the spec's pen, half with a fineliner or a marker); some swapped for
synthetic drawn digits in styles MNIST lacks (``strokes.py``); then each moved, slanted,
turned, distorted and thickened or thinned (``augment``); then some given gaps, blur or noise,
as pens and scanners do (``degrade``). The evaluate step measures the result under the
variations of ``variations.py``, which training never calls.
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
import queue
import random
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention
from centreline import STROKE_RADIUS, centre_line, pen
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
# Up to one and a half 3x3 dilations: a marker's 4-5 px strokes, as well as MNIST's own 2-3 px.
MAX_THICKENING = 1.5
# The share of training digits shown as the preprocessing spec (version 2) draws them: thinned
# to the centre line and redrawn with a round pen (see redraw). Without them a model reads
# MNIST's own test digits well but loses about 3 points on the same digits redrawn, which is
# what a drawing in the browser looks like.
REDRAW_PROBABILITY = 0.5
# Of the redrawn digits, the share drawn with another pen than the spec's, its radius uniform
# in OTHER_PEN_RADII: a fineliner (1.2 px wide) to a marker (4.6 px). The browser only ever
# shows the spec's pen, but other people's scanned digits come in every width (variations.py),
# and without them a model that sees half its digits in one pen width reads thin and thick
# strokes worse than one that never saw a redrawn digit.
OTHER_PEN_PROBABILITY = 0.5
OTHER_PEN_RADII = ((0.6, 1.0), (1.6, 2.3))
# What scanners and pens do to the ink after the writer is done (variations.py names the
# sources: Baird 1992, Kanungo et al. 2000), each to a share of the digits, with a random
# size up to the one given: gaps wiped in the strokes (a pen that skips), a Gaussian blur
# (the optics) and noise on every pixel (sensor and paper grain).
GAP_PROBABILITY = 0.25
MAX_GAPS = 3
GAP_RADII = (0.5, 1.5)  # pixels: the wiped disc, with a one-pixel soft edge
BLUR_PROBABILITY = 0.15
MAX_BLUR_SIGMA = 1.2  # pixels
NOISE_PROBABILITY = 0.25
MAX_NOISE_SIGMA = 0.15  # in units of full ink
# Synthetic drawn digits (strokes.py): styles MNIST hardly has (a 1 with a flag and a base, a
# closed 4, a 7 with a bar, a 2 with a loop), drawn as spec v2 draws a drawing. SYNTH_PER_DIGIT
# of each digit are made once per training run; in a batch, each image is swapped for a
# random one of them with the probability given by --drawn-share, then augmented like the rest.
SYNTH_PER_DIGIT = 400
# Batches made ahead of training (prefetched): enough to keep both cores busy, few enough
# that memory stays small (a batch is 128 x 784 floats, 400 KB).
PREFETCH_BATCHES = 2

T = TypeVar("T")


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


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random affine change, elastic distortion and stroke width for a batch [N, 1, 28, 28].

    Affine: rotation, horizontal shear, scale, aspect and shift (ranges above). Elastic: a
    random displacement field on a coarse grid, smoothed by bicubic upsampling, added to the
    sampling grid (Simard et al. 2003, in its cheap form). Stroke: a blend towards a 3x3
    erosion (thinner, up to MAX_THINNING of one) or dilation (thicker, up to MAX_THICKENING
    dilations) by a random amount, for some of the digits. All
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
    amount = torch.where(amount > 0, amount * MAX_THICKENING, amount)
    active = (torch.rand(n, 1, 1, 1, generator=generator) < STROKE_PROBABILITY).to(batch.dtype)
    thicker = F.max_pool2d(moved, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-moved, 3, stride=1, padding=1)
    # Beyond one dilation (amount 1), towards a second one.
    thickest = F.max_pool2d(thicker, 3, stride=1, padding=1)
    more = amount.clamp(min=0)
    thick = moved + more.clamp(max=1) * (thicker - moved)
    thick = thick + (more - 1).clamp(min=0) * (thickest - thicker)
    change = (thick - moved) + (-amount).clamp(min=0) * (thinner - moved)
    return (moved + active * change).clamp(0, 1)


def redraw_with_pens(line: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Centre lines [N, 1, 28, 28] drawn with the spec's pen, or another one for a share.

    OTHER_PEN_PROBABILITY of them get a radius uniform in OTHER_PEN_RADII, the rest the
    spec's STROKE_RADIUS (centreline.pen).
    """
    n = line.shape[0]
    other = torch.rand(n, generator=generator) < OTHER_PEN_PROBABILITY
    ranges = torch.tensor(OTHER_PEN_RADII)  # [2, 2]: (low, high) of each kind of pen
    kind = ranges[torch.randint(len(ranges), (n,), generator=generator)]
    drawn = kind[:, 0] + (kind[:, 1] - kind[:, 0]) * torch.rand(n, generator=generator)
    radii = torch.where(other, drawn, torch.full_like(drawn, STROKE_RADIUS))
    return pen(line, radii)


def degrade(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gaps, blur and noise, each on its share of a batch [N, 1, 28, 28] (ranges above).

    Gaps: up to MAX_GAPS discs wiped around random inked pixels (above 0.5). Blur: a
    separable Gaussian per image. Noise: Gaussian per pixel. Values stay in [0, 1].
    """
    n, side = batch.shape[0], batch.shape[-1]

    def share(probability: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) < probability

    gapped = share(GAP_PROBABILITY)
    if gapped.any():
        count = int(torch.randint(1, MAX_GAPS + 1, (1,), generator=generator))
        ink = (batch[gapped, 0] > 0.5).flatten(1).float() + 1e-6
        centres = torch.multinomial(ink, count, replacement=False, generator=generator)
        low, high = GAP_RADII
        radius = low + (high - low) * torch.rand(len(centres), 1, 1, 1, generator=generator)
        grid = torch.arange(side, dtype=batch.dtype)
        dr = grid[None, None, :, None] - (centres // side)[:, :, None, None]
        dc = grid[None, None, None, :] - (centres % side)[:, :, None, None]
        distance = torch.sqrt(dr**2 + dc**2).amin(1, keepdim=True)  # [G, 1, 28, 28]
        batch = batch.clone()
        batch[gapped] = batch[gapped] * (distance - radius).clamp(0, 1)

    blurred = share(BLUR_PROBABILITY)
    if blurred.any():
        sigma = 0.3 + (MAX_BLUR_SIGMA - 0.3) * torch.rand(int(blurred.sum()), generator=generator)
        x = torch.arange(-3, 4, dtype=batch.dtype)
        kernel = torch.exp(-(x[None] ** 2) / (2 * sigma[:, None] ** 2))
        kernel = kernel / kernel.sum(1, keepdim=True)  # [B, 7]
        part = batch[blurred].reshape(1, -1, side, side)  # one channel per image
        groups = part.shape[1]
        part = F.conv2d(F.pad(part, (3, 3, 0, 0)), kernel[:, None, None, :], groups=groups)
        part = F.conv2d(F.pad(part, (0, 0, 3, 3)), kernel[:, None, :, None], groups=groups)
        batch = batch.clone()
        batch[blurred] = part.reshape(-1, 1, side, side)

    noisy = share(NOISE_PROBABILITY).to(batch.dtype)[:, None, None, None]
    sigma = MAX_NOISE_SIGMA * torch.rand(n, 1, 1, 1, generator=generator) * noisy
    return (batch + sigma * torch.randn(batch.shape, generator=generator)).clamp(0, 1)


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """``items`` made in a background thread, up to ``depth`` ahead of the reader.

    The items come in their order; an exception in the thread is raised to the reader.
    """
    slots: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)

    def produce() -> None:
        try:
            for item in items:
                slots.put((True, item))
        except BaseException as exc:  # handed to the reader, which raises it
            slots.put((False, exc))
            return
        slots.put((False, None))

    threading.Thread(target=produce, name="batches", daemon=True).start()
    while True:
        ok, value = slots.get()
        if not ok:
            if value is not None:
                raise value
            return
        yield value


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

    # Each digit's centre line, found once; every batch draws some of them with a pen.
    lines = x_train[:0]
    if args.augment:
        started_redraw = time.perf_counter()
        lines = centre_line(x_train).contiguous(memory_format=channels_last)
        print(
            f"thinned {len(x_train)} digits to their centre lines, as the preprocessing spec "
            f"does to a drawing, in {time.perf_counter() - started_redraw:.1f} s",
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

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every epoch's batches in order, shown as the module docstring says.

        Every random draw comes from ``generator``, in the same order whichever thread runs
        this, so the model is the one a loop without prefetching trains.
        """
        for _ in range(args.epochs):
            order = torch.randperm(len(x_train), generator=generator)
            for start in range(0, len(order), args.batch_size):
                batch = order[start : start + args.batch_size]
                images, labels = x_train[batch], y_train[batch]
                if args.augment:
                    chosen = torch.rand(len(batch), generator=generator) < REDRAW_PROBABILITY
                    has_line = lines[batch].flatten(1).any(1)
                    chosen = (chosen & has_line)[:, None, None, None]
                    redrawn = redraw_with_pens(lines[batch], generator)
                    images = torch.where(chosen, redrawn, images)
                    if len(x_drawn):
                        swap = torch.rand(len(batch), generator=generator) < args.drawn_share
                        pick = torch.randint(len(x_drawn), (len(batch),), generator=generator)
                        images = torch.where(swap[:, None, None, None], x_drawn[pick], images)
                        labels = torch.where(swap, y_drawn[pick], labels)
                    images = degrade(augment(images, generator), generator)
                yield images, labels

    history: list[dict[str, float]] = []
    started = time.perf_counter()
    # The next batches are drawn in a thread while the model learns from this one: the
    # augmentation's small operations leave a core idle that this fills.
    stream = prefetched(batches(), PREFETCH_BATCHES)
    for epoch in range(1, args.epochs + 1):
        model.train()
        total_loss, correct = 0.0, 0
        for _ in range(steps_per_epoch):
            images, labels = next(stream)
            logits = model(images)
            loss = F.cross_entropy(logits, labels, label_smoothing=args.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item() * len(labels)
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
    parser.add_argument("--epochs", type=int, default=12)
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
