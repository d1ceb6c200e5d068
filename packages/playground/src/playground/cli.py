"""The `playground` command: the local AWS stack, data, pipeline, models and serving."""

from __future__ import annotations

import typer
from botocore.exceptions import ClientError

# The codes AWS answers a request that IAM refused: S3, IAM and STS (AccessDenied), the JSON
# services such as SageMaker and Lambda (AccessDeniedException).
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})

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


def main() -> None:
    """The `playground` console script: the commands, with a refusal by IAM as one line.

    Any command whose request AWS (or the local emulator, which decides as IAM does) refuses
    ends with AWS's message, which names the principal, the action and the resource, and a hint
    on who signs; exit code 1. Other errors keep their traceback.
    """
    try:
        app()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") not in ACCESS_DENIED:
            raise
        typer.echo(
            f"error: AWS refused {exc.operation_name}: {error.get('Code')}: "
            f"{error.get('Message')}\nthe command stopped at that request. Locally each command "
            "signs as the person who runs it in docs/aws.md (README, 'The people of docs/aws.md "
            "sign as themselves'); PLAYGROUND_PERSON picks another.",
            err=True,
        )
        raise SystemExit(1) from None
