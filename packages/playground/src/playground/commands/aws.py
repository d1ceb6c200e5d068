"""`playground aws`: before deploying, what the account lacks and what the deployment costs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from localaws.local_runner import SUCCEEDED, RunRecord
from localaws.local_runner.cache import duration_seconds
from localaws.local_runner.records import RUNS_FOLDER
from mlops_settings import Settings
from pipelines.mnist import pipeline as mnist
from pipelines.mnist.pipeline import parameter_defaults
from playground import aws_cost, aws_preflight, cloudfront
from playground.console import console, fail

app = typer.Typer(
    help="Real AWS: check an account before the first apply, project the monthly bill.",
    no_args_is_help=True,
)

STATUS_STYLE = {
    aws_preflight.OK: "green",
    aws_preflight.PROBLEM: "bold red",
    aws_preflight.UNCHECKED: "yellow",
}
SITE = Path("web/dist")
# The pipeline's steps (pipelines.mnist.pipeline: types and step cache; a unit test holds them
# equal to the generated definition) with step times assumed when no local run has measured
# them (seconds inside each step's script).
_CACHED = duration_seconds(mnist.CACHE_EXPIRY)
ASSUMED_STEPS = (
    aws_cost.StepTime(mnist.RESOLVE, "Processing", 5, "ml.m5.xlarge"),
    aws_cost.StepTime(mnist.PREPARE, "Processing", 30, "ml.m5.xlarge", _CACHED),
    aws_cost.StepTime(mnist.TRAIN, "Training", 300, "ml.m5.xlarge", _CACHED),
    aws_cost.StepTime(mnist.EVALUATE, "Processing", 30, "ml.m5.xlarge"),
    aws_cost.StepTime(mnist.GATE, "Condition", 0),
    aws_cost.StepTime(mnist.REGISTER, "Processing", 10, "ml.m5.xlarge"),
)
JOB_TYPES = frozenset(aws_cost.BILLED_KINDS)


def _parameter_defaults() -> dict[str, str]:
    """The pipeline's parameter defaults (instance types, the model's size budget)."""
    try:
        return {p.name: str(p.default) for p in parameter_defaults(Settings())}
    except ValueError as exc:
        raise fail(f"the settings are invalid: {exc}", code=2) from None


def _reserved(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise fail(f"{name}={raw!r} is not a whole number", code=2) from None


@app.command()
def preflight(
    name_prefix: str = typer.Option(
        None, help="The deployment's prefix (default: $TF_VAR_name_prefix, docs/aws.md step 1)."
    ),
    state_bucket: str = typer.Option(
        None, help="The Terraform state bucket (default: $TF_STATE_BUCKET)."
    ),
    region: str = typer.Option(None, help="AWS region (default: $AWS_REGION)."),
) -> None:
    """Read-only checks of the account for docs/aws.md: each problem with what to do.

    Uses the deployer's credentials and the runbook's shell (AWS_REGION, TF_VAR_name_prefix,
    TF_STATE_BUCKET, TF_VAR_github_repository, API_RESERVED_CONCURRENCY,
    FEEDBACK_RESERVED_CONCURRENCY). Exits 1 when a problem would stop the runbook.
    """
    prefix = name_prefix or os.environ.get("TF_VAR_name_prefix", "")  # noqa: SIM112 (Terraform's)
    region = region or aws_preflight.region_from_environment() or ""
    if not region:
        raise fail("set AWS_REGION (docs/aws.md, step 1) or pass --region", code=2)
    if not prefix:
        raise fail("set TF_VAR_name_prefix (docs/aws.md, step 1) or pass --name-prefix", code=2)
    defaults = _parameter_defaults()
    plan = aws_preflight.Plan(
        name_prefix=prefix,
        state_bucket=state_bucket
        or os.environ.get("TF_STATE_BUCKET")
        or f"{prefix}-terraform-state",
        region=region,
        processing_instance_type=defaults["ProcessingInstanceType"],
        training_instance_type=defaults["TrainingInstanceType"],
        api_reserved_concurrency=_reserved("API_RESERVED_CONCURRENCY", 5),
        feedback_reserved_concurrency=_reserved("FEEDBACK_RESERVED_CONCURRENCY", 2),
        github=bool(os.environ.get("TF_VAR_github_repository")),  # noqa: SIM112
    )
    findings = aws_preflight.preflight(plan)
    table = Table(title=f"preflight of {prefix} in {region}")
    for column in ("check", "result", "seen", "what to do"):
        table.add_column(column, overflow="fold")
    for finding in findings:
        style = STATUS_STYLE[finding.status]
        table.add_row(finding.check, f"[{style}]{finding.status}[/]", finding.detail, finding.todo)
    console.print(table)
    problems = [f for f in findings if f.status == aws_preflight.PROBLEM]
    unchecked = [f for f in findings if f.status == aws_preflight.UNCHECKED]
    console.print(
        f"{len(problems)} problem(s), {len(unchecked)} unchecked"
        + ("" if problems else ": nothing found that stops the first apply")
    )
    if problems:
        raise typer.Exit(1)


def newest_measured_run(state_dir: Path) -> RunRecord | None:
    """The newest succeeded local execution under the state folder that ran every job step.

    A run with cache hits did not measure the steps it took from the cache, so it cannot
    time a run of every step (what a new dataset version starts).
    """
    records = []
    for path in Path(state_dir).rglob(f"{RUNS_FOLDER}/*/run.json"):
        try:
            record = RunRecord.from_json(path.read_text())
        except (OSError, ValueError):
            continue
        jobs = [s for s in record.steps.values() if s.type in JOB_TYPES]
        if record.status == SUCCEEDED and jobs and not any(s.cached for s in jobs):
            records.append(record)
    return max(records, key=lambda r: r.started_at + r.execution_id, default=None)


@app.command()
def cost(
    dataset_versions: int = typer.Option(1, min=0, help="New dataset versions a month."),
    reviews: int = typer.Option(1, min=0, help="Feedback reviews a month (each a version)."),
    visitors: int = typer.Option(1000, min=0, help="First visits to the site a month."),
    return_visits: int = typer.Option(
        0, min=0, help="Return visits a month (the browser keeps the site and the model)."
    ),
    schedule: str = typer.Option(
        None, help="Training schedule (default: PLAYGROUND_TRAINING_SCHEDULE's)."
    ),
    mlflow: str = typer.Option(
        "none", help="Managed MLflow tracking server: none, Small, Medium or Large (any case)."
    ),
    site: Annotated[
        Path, typer.Option(help="The built site, deployed as web/deploy.sh uploads it.")
    ] = SITE,
) -> None:
    """The deployment's projected monthly AWS bill, line by line, with its assumptions."""
    try:
        size = aws_cost.mlflow_size(mlflow)
    except aws_cost.CostError as exc:
        raise fail(str(exc), code=2) from None
    settings = Settings()
    try:
        transfer = cloudfront.site_transfer(site)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(f"{exc}: run `make web-build` (or pass --site)", code=2) from None
    record = newest_measured_run(settings.state_dir)
    # Every served model is at most the gate's size budget: the bill's upper bound.
    model_bytes = int(_parameter_defaults()["MaxModelSizeBytes"])
    try:
        steps = aws_cost.steps_from_run(record) if record else ASSUMED_STEPS
        prices = aws_cost.load_prices()
        month = aws_cost.monthly_cost(
            aws_cost.Workload(
                schedule=schedule or settings.training_schedule,
                dataset_versions=dataset_versions,
                reviews=reviews,
                visitors=visitors,
                return_visits=return_visits,
                steps=steps,
                site=transfer,
                model_bytes=model_bytes,
                mlflow_size=size,
            ),
            prices,
        )
    except aws_cost.CostError as exc:
        raise fail(str(exc), code=2) from None
    table = Table(
        title=f"projected monthly AWS bill ({prices.region} list prices of {prices.date})"
    )
    for column in ("item", "quantity", "USD", "assumption"):
        table.add_column(column, overflow="fold")
    for line in month.lines:
        usd = f"{line.usd:,.2f}" + (" (unverified price)" if line.unverified else "")
        table.add_row(line.item, line.quantity, usd, line.assumption)
    table.add_row("[bold]total[/]", "", f"[bold]{month.usd:,.2f}[/]", "")
    console.print(table)
    measured = (
        f"step times measured by local run {record.execution_id}"
        if record
        else "step times assumed (no local run of every step yet: `playground pipeline run` "
        "measures them)"
    )
    console.print(
        f"one execution of every step in AWS: about {month.run.wall_seconds / 60:.0f} min, "
        f"${month.run.usd:.3f}; a scheduled one without new data (cache hits): about "
        f"{month.cached_run.wall_seconds / 60:.0f} min, ${month.cached_run.usd:.3f}; "
        f"{measured}; each job adds {prices.startup_seconds:.0f} s of start-up "
        f"({prices.billed_overhead_seconds:.0f} s billed): {prices.overhead_source}"
    )
    console.print(f"prices: {prices.note}")
