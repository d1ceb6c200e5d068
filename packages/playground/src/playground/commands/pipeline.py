"""`playground pipeline`: the training pipeline's definition, in SageMaker or run locally."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from botocore.exceptions import ClientError
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from localaws.credentials import job_credentials
from localaws.local_runner import (
    FAILED,
    SUCCEEDED,
    LocalRunner,
    PipelineError,
    RunRecord,
    StepRecord,
    load_run,
)
from mlops_settings import Settings
from pipelines.mnist import pipeline as mnist
from playground import aws_cost, roles, run_end, triggers
from playground import executions as executions_
from playground.cli_steps import aws_errors
from playground.console import console, errors, fail, settings_or_exit
from playground.definition_cache import load_definition
from playground.provenance import git_commit
from playground.services import tracking_uri
from playground.stack import ensure_execution_role

app = typer.Typer(
    help="The training pipeline: its SageMaker definition, and running it locally.",
    no_args_is_help=True,
)

PARAM_HELP = "Pipeline parameter as Name=Value (repeatable), e.g. --param Epochs=3"


def parse_params(values: list[str]) -> dict[str, str]:
    """`["A=1", "B=x"]` -> `{"A": "1", "B": "x"}`, refusing anything else."""
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
            raise fail(f"--param {item!r}: expected Name=Value, e.g. AccuracyThreshold=0.98", 2)
        params[name] = value
    return params


# What register.py accepts as --git-commit (and SageMaker as a metadata value).
GIT_COMMIT = re.compile(r"[0-9a-f]{40}(-dirty)?|unknown")
GIT_COMMIT_HELP = "Commit the definition names as GitCommit's default (default: this checkout's)."


def checked_commit(value: str | None) -> str:
    """`value` if register.py would accept it, this checkout's commit when None; exits if bad."""
    if value is None:
        return git_commit()
    if not GIT_COMMIT.fullmatch(value):
        raise fail(
            f"--git-commit must be 40 hex digits (with -dirty) or 'unknown', got {value!r}", 2
        )
    return value


def _definition(
    settings: Settings, rebuild: bool = False, commit: str | None = None
) -> dict[str, Any]:
    """The definition; with `commit`, as GitCommit's default (what runs without it get)."""
    try:
        with errors.status("building the pipeline definition (SageMaker SDK, uploads code)…"):
            document, _ = load_definition(settings, rebuild=rebuild)
    except (FileNotFoundError, RuntimeError) as exc:
        raise fail(str(exc)) from None
    return document if commit is None else mnist.with_defaults(document, {"GitCommit": commit})


@app.command()
def params() -> None:
    """List the pipeline's parameters, their defaults and what they mean."""
    settings = settings_or_exit()
    table = Table(title=f"parameters of {settings.pipeline_name} (set with --param Name=Value)")
    table.add_column("name", no_wrap=True)
    for column in ("type", "default", "meaning"):
        table.add_column(column)
    for spec in mnist.parameter_defaults(settings):
        meaning = spec.description + (f" ({' | '.join(spec.enum)})" if spec.enum else "")
        table.add_row(spec.name, spec.type, str(spec.default), meaning)
    console.print(table)


@app.command()
def definition(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON here.")
    ] = None,
    rebuild: bool = typer.Option(False, "--rebuild", help="Ignore the cached definition."),
    commit: str | None = typer.Option(None, "--git-commit", help=GIT_COMMIT_HELP),
) -> None:
    """Print the pipeline definition JSON (SageMaker Pipelines format)."""
    settings = settings_or_exit()
    chosen = checked_commit(commit)
    with aws_errors(settings):
        text = json.dumps(_definition(settings, rebuild, chosen), indent=2)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text + "\n")
        errors.print(f"wrote {output}")
    else:
        typer.echo(text)


def _pipeline_exists(client: Any, name: str) -> bool:
    try:
        client.describe_pipeline(PipelineName=name)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        # AWS says ResourceNotFound; the emulator says ValidationException.
        if code in ("ResourceNotFound", "ValidationException"):
            return False
        raise
    return True


@app.command()
def upsert(
    commit: str | None = typer.Option(None, "--git-commit", help=GIT_COMMIT_HELP),
    trigger_params: Annotated[
        list[str] | None,
        typer.Option(
            "--trigger-param",
            help="Locally: a parameter every triggered execution gets, as Name=Value "
            "(repeatable), e.g. Epochs=1 for a quick rehearsal",
        ),
    ] = None,
) -> None:
    """Create or update the pipeline and its EventBridge triggers on the local target.

    In AWS the pipeline and its triggers belong to Terraform alone (terraform/sagemaker.tf,
    events.tf): `make pipeline-definition && make tf-apply` writes them, so a later apply never
    drops what an upsert wrote (the MLflow tracking URI among it); this command refuses there.
    The definition names the commit as GitCommit's default, so every run records its code.
    """
    settings = settings_or_exit()
    if settings.target != "local":
        raise fail(
            "in AWS only Terraform writes the pipeline: `make pipeline-definition && "
            "make tf-apply` (docs/aws.md, steps 4 and 5)",
            code=2,
        )
    chosen = checked_commit(commit)
    fixed = parse_params(trigger_params or [])
    with aws_errors(settings):
        arn = _upsert(settings, chosen)
        if settings.target == "local":
            # Triggered runs record the code they ran, as `pipeline run` does.
            fixed.setdefault("GitCommit", chosen)
            uri = tracking_uri(settings)
            if uri:  # triggered runs are tracked too, in the MLflow `make up` started
                fixed.setdefault("MlflowTrackingUri", uri)
            # EventBridge starts the pipeline as the trigger role, as in terraform/events.tf.
            role = roles.role_arn(settings, "training_trigger")
            for change in triggers.install(settings, arn, role, fixed):
                console.print(f"trigger   {change}")


def _upsert(settings: Settings, commit: str) -> str:
    document = _definition(settings, commit=commit)
    role = ensure_execution_role(settings)
    client = boto3.client("sagemaker", region_name=settings.region)
    name, body = settings.pipeline_name, json.dumps(document)
    try:
        if _pipeline_exists(client, name):
            arn = client.update_pipeline(PipelineName=name, PipelineDefinition=body, RoleArn=role)[
                "PipelineArn"
            ]
            action = "updated"
        else:
            arn = client.create_pipeline(
                PipelineName=name,
                PipelineDefinition=body,
                RoleArn=role,
                # Idempotent per definition: a retried create of the same JSON is one pipeline.
                ClientRequestToken=hashlib.sha256(body.encode()).hexdigest(),
            )["PipelineArn"]
            action = "created"
    except ClientError as exc:
        raise fail(f"SageMaker refused the pipeline: {exc}") from None
    console.print(f"{action} {arn}")
    return str(arn)


@app.command()
def start(
    params: Annotated[list[str] | None, typer.Option("--param", help=PARAM_HELP)] = None,
) -> None:
    """Start an execution in SageMaker; locally the emulator runs it in the background.

    Follow it with `playground pipeline executions`.
    """
    settings = settings_or_exit()
    values = parse_params(params or [])
    with aws_errors(settings):
        _start(settings, values)


def _start(settings: Settings, values: dict[str, str]) -> None:
    client = boto3.client("sagemaker", region_name=settings.region)
    if not _pipeline_exists(client, settings.pipeline_name):
        raise fail(
            f"pipeline {settings.pipeline_name!r} does not exist; run `playground pipeline upsert`"
        )
    try:
        arn = client.start_pipeline_execution(
            PipelineName=settings.pipeline_name,
            ClientRequestToken=secrets.token_hex(16),
            PipelineParameters=[{"Name": k, "Value": v} for k, v in values.items()],
        )["PipelineExecutionArn"]
    except ClientError as exc:
        raise fail(f"SageMaker refused the execution: {exc}") from None
    console.print(f"started {arn}")


def _executions(settings: Settings, limit: int) -> list[executions_.Execution]:
    """Newest first: the API's executions (when the pipeline exists) and local runs."""
    client = boto3.client("sagemaker", region_name=settings.region)
    summaries: list[Any] = []
    if _pipeline_exists(client, settings.pipeline_name):
        summaries = client.list_pipeline_executions(
            PipelineName=settings.pipeline_name,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=limit,
        ).get("PipelineExecutionSummaries", [])
    found = executions_.merge(
        summaries[:limit],
        executions_.local_runs(settings.state_dir),
        executions_.emulator_links(settings),
    )
    return found[:limit]


def _version(execution: executions_.Execution, s3: Any) -> str:
    """The list's "registered" cell: the version this execution created, or what it reused."""
    found = registration_of(execution.run, s3) if execution.run else None
    if found is None:
        return ""
    return (
        f"{found.version} {found.status}".strip() if found.created else f"none (is {found.version})"
    )


@dataclass(frozen=True)
class Registration:
    """What an execution's register step did with its model."""

    version: str  # the model package's version (its ARN when the ARN has none)
    status: str  # its approval status
    created: bool  # False: the model was already a version, or the step came from the cache

    def sentence(self) -> str:
        """How `pipeline run` and `pipeline show` say it."""
        if self.created:
            return f"registered version {self.version} {self.status}".strip()
        return (
            f"registered nothing new: the model is version {self.version} already "
            f"({self.status or 'approval unknown'})"
        )


def registration_of(record: RunRecord, s3: Any) -> Registration | None:
    """The register step's record as a `Registration`; None when the step did not succeed.

    A version counts as created by this execution only when its register step ran (not a
    cache hit, which repeats an earlier execution's answer) and the model was not a version
    already (register.py's ``already_registered``, contracts/registry-entry.md).
    """
    registration = _registration(record, s3)
    if not registration:
        return None
    arn = str(registration.get("model_package_arn", ""))
    # A versioned package's ARN ends in its version: ...:model-package/<group>/<version>.
    version = arn.rsplit("/", 1)[-1] if arn.rsplit("/", 1)[-1].isdigit() else arn
    step = record.steps.get(mnist.REGISTER)
    created = not registration.get("already_registered", False) and not (step and step.cached)
    return Registration(version, str(registration.get("approval_status", "")), created)


def _duration(execution: executions_.Execution) -> str:
    return f"{execution.seconds:.0f} s" if execution.seconds else ""


@app.command("list")
def list_(
    limit: int = typer.Option(10, "--limit", min=1, max=100, help="How many, newest first."),
    steps: bool = typer.Option(False, "--steps", help="Also list each execution's steps."),
) -> None:
    """Recent executions, local runs and SageMaker's: status, duration, outcome, version."""
    settings = settings_or_exit()
    with aws_errors(settings):
        found = _executions(settings, limit)
        s3 = boto3.client("s3", region_name=settings.region)
        table = Table(title=f"executions of {settings.pipeline_name}, newest first")
        table.add_column("execution", no_wrap=True)
        for column in ("status", "started", "duration", "started by", "outcome"):
            table.add_column(column)
        table.add_column("registered")
        for item in found:
            table.add_row(
                item.id,
                item.status,
                item.started.isoformat(timespec="seconds") if item.started else "",
                _duration(item),
                item.trigger or item.source,
                item.outcome(),
                _version(item, s3),
            )
        console.print(table)
        if not found:
            console.print("no executions yet (`playground pipeline run`, or a new dataset)")
        for item in found if steps else []:
            console.print(_steps_table(settings, item))


@app.command("executions", hidden=True)
def executions(
    limit: int = typer.Option(10, "--limit", min=1, max=100, help="How many, newest first."),
    steps: bool = typer.Option(False, "--steps", help="Also list each execution's steps."),
) -> None:
    """The former name of `playground pipeline list`."""
    list_(limit, steps)


def _steps_table(settings: Settings, execution: executions_.Execution) -> Table:
    """Each step: status, seconds, whether it came from the cache, its failure."""
    table = Table(title=f"steps of {execution.id}")
    for column in ("step", "status", "seconds", "cached", "failure"):
        table.add_column(column)
    if execution.run:
        for step in execution.run.steps.values():
            note = "yes" if step.cached else ""
            if step.type == "Condition" and step.properties:
                note = f"outcome {step.properties.get('Outcome')}"
            failure = executions_.first_line(step.failure)
            table.add_row(step.name, step.status, f"{step.seconds:.1f}", note, failure)
        return table
    client = boto3.client("sagemaker", region_name=settings.region)
    listed = client.list_pipeline_execution_steps(
        PipelineExecutionArn=execution.arn, SortOrder="Ascending"
    ).get("PipelineExecutionSteps", [])
    for item in listed:
        start, end = item.get("StartTime"), item.get("EndTime")
        seconds = f"{(end - start).total_seconds():.1f}" if start and end else ""
        table.add_row(
            item["StepName"],
            item.get("StepStatus", ""),
            seconds,
            "yes" if item.get("CacheHitResult") else "",
            executions_.first_line(item.get("FailureReason")),
        )
    return table


def _report_uri(settings: Settings, execution: executions_.Execution) -> str:
    """Where the execution's run report is (evaluate's upload; the run-scoped key)."""
    located = execution.evaluation.get("report") or {}
    return str(
        located.get("run")
        or f"s3://{settings.model_bucket}/reports/{_local_id(execution)}/report.html"
    )


def _local_id(execution: executions_.Execution) -> str:
    # The report is keyed by the id the steps saw: the local run's, when it ran here.
    return execution.run.execution_id if execution.run else execution.id


@app.command()
def show(
    execution_id: str | None = typer.Argument(None, help="Execution id (default: the newest)."),
    open_report: bool = typer.Option(False, "--open", help="Open the run report in a browser."),
) -> None:
    """One execution: steps, cache hits, gate values, and where its report and pictures are."""
    settings = settings_or_exit()
    with aws_errors(settings):
        execution = executions_.find(_executions(settings, 100), execution_id)
        if execution is None:
            raise fail(
                f"no execution {execution_id!r} (see `playground pipeline list`)"
                if execution_id
                else "no executions yet (`playground pipeline run`, or a new dataset)"
            )
        s3 = boto3.client("s3", region_name=settings.region)
        started = execution.started.isoformat(timespec="seconds") if execution.started else "?"
        console.print(
            f"execution {execution.id} ({execution.source}"
            + (f", local run {_local_id(execution)}" if execution.aliases else "")
            + f"): {execution.status}, started {started}"
            + (f", {_duration(execution)}" if execution.seconds else "")
        )
        console.print(f"outcome: {execution.outcome()}")
        registered = registration_of(execution.run, s3) if execution.run else None
        if registered:
            console.print(registered.sentence())
        console.print(_steps_table(settings, execution))
        if execution.run:
            console.print(aws_cost.estimate_run(execution.run).text)
        gates = execution.evaluation.get("gates") or []
        if gates:
            table = Table(title="gate")
            for column in ("condition", "measured", "needs", "decision"):
                table.add_column(column)
            for gate in gates:
                decision = {True: "passed", False: "FAILED"}.get(gate.get("passed"), "not judged")
                table.add_row(
                    str(gate["label"]),
                    f"{gate['value']:.6g}",
                    f"{gate['comparison']} {gate['limit']:.6g} ({gate['parameter']})",
                    decision,
                )
            console.print(table)
        report = _report_uri(settings, execution)
        console.print(f"report: {report}")
        model_report = (execution.evaluation.get("report") or {}).get("model")
        if model_report:
            console.print(f"report next to the model: {model_report}")
        tracked = execution.evaluation.get("tracking") or {}
        if tracked.get("mlflow_run_id"):
            server = tracking_uri(settings) or "the tracking server"
            experiment = tracked.get("experiment", "?")
            console.print(
                f"MLflow run: {tracked['mlflow_run_id']} (experiment {experiment}, at {server})"
            )
        for warning in tracked.get("warnings") or []:
            console.print(f"[yellow]MLflow: {warning}[/]")
        pictures = [
            ("confusion matrix", execution.output_uri(mnist.EVALUATE, mnist.EVALUATION_OUTPUT)),
            ("class balance", execution.output_uri(mnist.PREPARE, mnist.REPORT_OUTPUT)),
        ]
        console.print("pictures (also inline in the report):")
        names = {"confusion matrix": "confusion_matrix.png", "class balance": "class_balance.png"}
        for label, folder in pictures:
            if folder:
                console.print(f"  {label}: {folder.rstrip('/')}/{names[label]}")
        curves = execution.model_artifacts()
        if curves:
            console.print(f"  training curves: training_curves.png in {curves}")
        if execution.run:
            console.print(f"logs: {Path(execution.run.folder) / 'logs'}")
        if open_report:
            _open_report(settings, s3, report, _local_id(execution))


def _open_report(settings: Settings, s3: Any, uri: str, execution_id: str) -> None:
    """Download the report into the state folder and open it in the default browser."""
    import webbrowser

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        raise fail(f"cannot read the report {uri}: {exc.response['Error']['Code']}") from None
    target = Path(settings.state_dir).resolve() / "reports" / f"{execution_id}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    webbrowser.open(target.as_uri())
    console.print(f"opened {target}")


class StepProgress:
    """Draws one line per step: a spinner while it runs, its last output line, its time."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def step_started(self, name: str, kind: str) -> None:
        """Add the step's line."""
        self.tasks[name] = self.progress.add_task(f"[bold]{name}[/] ({kind.lower()})", total=1)

    def step_output(self, name: str, line: str) -> None:
        """Show the script's latest line next to the step."""
        text = line if len(line) <= 70 else line[:67] + "…"
        self.progress.update(self.tasks[name], description=f"[bold]{name}[/] [dim]{text}[/]")

    def step_finished(self, record: StepRecord) -> None:
        """Mark the step done, cached or failed."""
        marks: dict[str, str] = {SUCCEEDED: "[green]✓[/]", FAILED: "[red]✗[/]"}
        mark = marks.get(record.status, "·")
        note = " (cached)" if record.cached else ""
        self.progress.update(
            self.tasks[record.name],
            description=f"{mark} [bold]{record.name}[/]{note}",
            completed=1,
        )


def _registration(record: RunRecord, s3: Any) -> dict[str, Any] | None:
    step = record.steps.get(mnist.REGISTER)
    if step is None or step.status != SUCCEEDED:
        return None
    outputs = step.properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for output in outputs:
        if output.get("OutputName") == mnist.REGISTRATION_OUTPUT:
            bucket, _, key = str(output["S3Output"]["S3Uri"]).removeprefix("s3://").partition("/")
            try:
                body = s3.get_object(Bucket=bucket, Key=f"{key.rstrip('/')}/registration.json")
            except Exception:  # the summary shows what it can
                return None
            return dict(json.loads(body["Body"].read()))
    return None


def summary(record: RunRecord, s3: Any) -> Table:
    """Per-step status and time, then accuracy and the registered version."""
    table = Table(title=f"execution {record.execution_id}: {record.status}")
    for column in ("step", "status", "seconds", "note"):
        table.add_column(column)
    for step in record.steps.values():
        note = "cached" if step.cached else ""
        if step.type == "Condition" and step.properties:
            note = f"outcome {step.properties.get('Outcome')}"
        table.add_row(step.name, step.status, f"{step.seconds:.1f}", note)
    evaluation = record.steps.get(mnist.EVALUATE)
    if evaluation and evaluation.property_files.get("Evaluation"):
        metrics = evaluation.property_files["Evaluation"].get("metrics", {})
        accuracy = metrics.get("accuracy", {}).get("value")
        if isinstance(accuracy, int | float):
            table.caption = f"test accuracy {accuracy:.2%}"
    registered = registration_of(record, s3)
    if registered:
        extra = registered.sentence()
        table.caption = f"{table.caption}; {extra}" if table.caption else extra
    return table


@app.command()
def run(
    execution_id: str | None = typer.Argument(
        None, help="With --resume: the execution to resume (default: the newest failed one)."
    ),
    params: Annotated[list[str] | None, typer.Option("--param", help=PARAM_HELP)] = None,
    approval: str | None = typer.Option(
        None,
        "--approval",
        help="auto: a model that passes the gate is Approved; manual: PendingManualApproval.",
    ),
    resume: bool = typer.Option(False, "--resume", help="Resume a failed local execution."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild the definition first."),
) -> None:
    """Run the pipeline on this machine: same definition, steps as local processes."""
    settings = settings_or_exit()
    values = parse_params(params or [])
    if approval is not None:
        if approval not in mnist.APPROVAL_STATUS_BY_MODE:
            raise fail(f"--approval must be auto or manual, not {approval!r}", 2)
        values["ModelApprovalStatus"] = mnist.APPROVAL_STATUS_BY_MODE[approval]
    if execution_id and not resume:
        raise fail("an execution id is only accepted with --resume", 2)
    if resume and values:
        raise fail("--resume reuses the execution's parameters; drop --param/--approval", 2)
    if "GitCommit" in values:
        checked_commit(values["GitCommit"])
    values.setdefault("GitCommit", git_commit())
    values.setdefault("MlflowTrackingUri", tracking_uri(settings))
    with aws_errors(settings):
        _run(settings, values, execution_id if resume else None, resume, rebuild)


def _run(
    settings: Settings,
    values: dict[str, str],
    execution_id: str | None,
    resume: bool,
    rebuild: bool,
) -> None:
    s3 = boto3.client("s3", region_name=settings.region)
    try:
        previous = load_run(settings.state_dir, execution_id) if resume else None
    except PipelineError as exc:
        raise fail(str(exc)) from None
    if previous is not None:
        document = json.loads((Path(previous.folder) / "definition.json").read_text())
    else:
        document = _definition(settings, rebuild)
    account = boto3.client("sts", region_name=settings.region).get_caller_identity()["Account"]
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        try:
            runner = LocalRunner(
                document,
                settings.pipeline_name,
                settings.state_dir,
                s3,
                settings.region,
                account,
                StepProgress(progress),
                job_credentials=(
                    job_credentials(settings.endpoint_url or settings.emulator_url, settings.region)
                    if settings.target == "local"
                    else None
                ),
            )
            record = runner.resume(previous) if previous else runner.run(values)
        except PipelineError as exc:
            raise fail(str(exc), 2) from None
    run_end.ended(record, s3)  # MLflow's run ends as the execution did; the report's projection
    console.print(summary(record, s3))
    console.print(aws_cost.estimate_run(record).text)
    console.print(f"logs: {Path(record.folder) / 'logs'}")
    console.print(f"details: playground pipeline show {record.execution_id}")
    if record.status != SUCCEEDED:
        again = f"playground pipeline run --resume {record.execution_id}"
        prepare = record.steps.get(mnist.PREPARE)
        if prepare is not None and prepare.status == FAILED:
            # The execution is bound to the dataset version its first step resolved (as in
            # SageMaker, a retry keeps that step's result): resuming checks the same data
            # again. The way on is a new version, which starts its own execution.
            hint = (
                "the dataset failed the data checks: seed corrected data (a new dataset "
                "version; `playground pipeline run` trains on it), or train on an earlier "
                "version again: `playground data ls`, `playground data use VERSION`"
            )
        else:
            hint = f"resume with: {again}"
        execution = executions_.from_run(record)
        failed_gates = [
            gate for gate in execution.evaluation.get("gates") or [] if gate.get("passed") is False
        ]
        if failed_gates:
            # Resuming would judge the same model by the same gate: say what failed and the way on.
            reasons = "; ".join(
                f"{gate['label']} {gate['value']:.6g} (needs {gate['comparison']} "
                f"{gate['limit']:.6g}, {gate['parameter']})"
                for gate in failed_gates
            )
            raise fail(
                f"pipeline failed: the model did not pass the gate: {reasons}; report: "
                f"{_report_uri(settings, execution)}\n"
                "nothing was registered; resuming would judge the same model again. Train on "
                "other data (`playground data seed`) or with other parameters (`playground "
                f"pipeline run --param NAME=VALUE`); every value: playground pipeline show "
                f"{record.execution_id}"
            )
        raise fail(f"pipeline failed: {record.failure_reason}\n{hint}")
