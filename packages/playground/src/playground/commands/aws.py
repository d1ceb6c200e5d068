"""`playground aws`: before deploying, what the account lacks and what the deployment costs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from localaws.local_runner import SUCCEEDED, RunRecord
from localaws.local_runner.records import RUNS_FOLDER
from mlops_settings import Settings
from pipelines.mnist.pipeline import parameter_defaults
from playground import aws_cost, aws_preflight
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
# Step times assumed when no local run has measured them (seconds inside each step's script).
ASSUMED_STEPS = (
    aws_cost.StepTime("PrepareData", "Processing", 30, "ml.m5.xlarge"),
    aws_cost.StepTime("Train", "Training", 300, "ml.m5.xlarge"),
    aws_cost.StepTime("Evaluate", "Processing", 30, "ml.m5.xlarge"),
    aws_cost.StepTime("CheckGates", "Condition", 0),
    aws_cost.StepTime("Register", "RegisterModel", 1),
)


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
    """The newest succeeded local execution under the state folder with a step it ran."""
    records = []
    for path in Path(state_dir).rglob(f"{RUNS_FOLDER}/*/run.json"):
        try:
            record = RunRecord.from_json(path.read_text())
        except (OSError, ValueError):
            continue
        if record.status == SUCCEEDED and any(not s.cached for s in record.steps.values()):
            records.append(record)
    return max(records, key=lambda r: r.started_at + r.execution_id, default=None)


@app.command()
def cost(
    dataset_versions: int = typer.Option(1, min=0, help="New dataset versions a month."),
    reviews: int = typer.Option(1, min=0, help="Feedback reviews a month (each a version)."),
    visitors: int = typer.Option(1000, min=0, help="First visits to the site a month."),
    schedule: str = typer.Option(
        None, help="Training schedule (default: PLAYGROUND_TRAINING_SCHEDULE's)."
    ),
    mlflow: str = typer.Option(
        "none", help="Managed MLflow tracking server: none, Small, Medium or Large."
    ),
    site: Annotated[
        Path, typer.Option(help="The built site whose bytes each visitor downloads.")
    ] = SITE,
) -> None:
    """The deployment's projected monthly AWS bill, line by line, with its assumptions."""
    if mlflow not in {"none", "Small", "Medium", "Large"}:
        raise fail(f"--mlflow must be none, Small, Medium or Large, not {mlflow!r}", code=2)
    settings = Settings()
    if not site.is_dir():
        raise fail(f"no built site at {site}: run `make web-build` (or pass --site)", code=2)
    files = [p for p in site.rglob("*") if p.is_file()]
    record = newest_measured_run(settings.state_dir)
    steps = aws_cost.steps_from_run(record) if record else ASSUMED_STEPS
    # Every served model is at most the gate's size budget: the bill's upper bound.
    model_bytes = int(_parameter_defaults()["MaxModelSizeBytes"])
    try:
        prices = aws_cost.load_prices()
        month = aws_cost.monthly_cost(
            aws_cost.Workload(
                schedule=schedule or settings.training_schedule,
                dataset_versions=dataset_versions,
                reviews=reviews,
                visitors=visitors,
                steps=steps,
                site_bytes=sum(p.stat().st_size for p in files),
                site_files=len(files),
                model_bytes=model_bytes,
                mlflow_size=None if mlflow == "none" else mlflow,
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
        else "step times assumed (no local run yet: `playground pipeline run` measures them)"
    )
    console.print(
        f"one execution in AWS: about {month.run.wall_seconds / 60:.0f} min, "
        f"${month.run.usd:.3f}; {measured}; each job adds {prices.startup_seconds:.0f} s of "
        f"start-up ({prices.billed_overhead_seconds:.0f} s billed): {prices.overhead_source}"
    )
    console.print(f"prices: {prices.note}")
