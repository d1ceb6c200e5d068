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
from playground.commands import data, local  # noqa: E402

app.add_typer(local.app, name="local")
app.add_typer(data.app, name="data")

from playground.commands import site  # noqa: E402

app.add_typer(site.app, name="site")

from playground.commands import pipeline  # noqa: E402

app.add_typer(pipeline.app, name="pipeline")

from playground.commands import models, serve  # noqa: E402

app.add_typer(models.app, name="models")
app.add_typer(serve.app, name="serve")

from playground.commands import feedback  # noqa: E402

app.add_typer(feedback.app, name="feedback")

from playground.commands import up  # noqa: E402

app.command("up")(up.up)
app.command("down")(up.down)

from playground.commands import aws  # noqa: E402

app.add_typer(aws.app, name="aws")
