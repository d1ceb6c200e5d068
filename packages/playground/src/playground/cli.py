"""The `playground` command: the local AWS stack, data, pipeline, models and serving."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="playground",
    help="Run the MNIST MLOps system on a local AWS emulator (or real AWS).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Each command group lives in playground/commands/<name>.py and exposes `app`.
