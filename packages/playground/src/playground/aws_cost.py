"""What the AWS deployment costs a month, and what one pipeline run costs and takes in AWS.

No public tool prices a SageMaker pipeline (aws/sagemaker-python-sdk#4643 is open; infracost
does not price SageMaker), so this module multiplies the deployment's own quantities by the
price table kept beside it (`aws_prices.json`: us-east-1 list prices, with their date and the
page each comes from). Every figure carries the assumption it rests on, so a reader can
redo it by hand; `docs/aws.md` quotes the defaults.

Units: seconds, bytes, US dollars; a month is 730 hours (AWS's pricing pages use 730).
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).with_name("aws_prices.json")
HOURS_PER_MONTH = 730
GB = 1e9  # bytes; see `gigabytes`

# Step kinds that run on a billed instance; the others (Condition, RegisterModel, Fail) are
# SageMaker Pipelines' own work, which AWS does not bill.
BILLED_KINDS = {"Processing": "processing", "Training": "training"}
# Wall time of a step without an instance (a condition, a registration): a few API calls.
UNBILLED_STEP_SECONDS = 5.0


class CostError(ValueError):
    """Input the cost model cannot price (unknown instance type, unsupported schedule)."""


@dataclass(frozen=True)
class Price:
    """One price: US dollars per unit, and where it was read."""

    usd: float
    per: str
    source: str
    unverified: bool = False


@dataclass(frozen=True)
class PriceTable:
    """The price table: region, date, prices by key, and the job overheads it assumes."""

    region: str
    date: str
    note: str
    prices: Mapping[str, Price]
    startup_seconds: float
    billed_overhead_seconds: float
    overhead_source: str

    def price(self, key: str) -> Price:
        """The price under `key`; CostError names what the table holds instead."""
        try:
            return self.prices[key]
        except KeyError:
            raise CostError(f"no price for {key} in the price table ({PRICES_FILE.name})") from None

    def instance_hour(self, kind: str, instance_type: str) -> Price:
        """Dollars per instance-hour of a processing or training job on `instance_type`."""
        key = f"sagemaker_{kind}_{instance_type}_hour"
        if key not in self.prices:
            known = sorted(
                k.removeprefix(f"sagemaker_{kind}_").removesuffix("_hour")
                for k in self.prices
                if k.startswith(f"sagemaker_{kind}_")
            )
            raise CostError(
                f"no {kind} price for {instance_type} in the price table; it has {', '.join(known)}"
            )
        return self.prices[key]


def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    """Read the price table JSON (shape: see aws_prices.json). Raises CostError if malformed."""
    try:
        raw = json.loads(path.read_text())
        overheads = raw["job_overheads"]
        return PriceTable(
            region=raw["region"],
            date=raw["date"],
            note=raw["note"],
            prices={key: Price(**value) for key, value in raw["prices"].items()},
            startup_seconds=float(overheads["startup_seconds"]),
            billed_overhead_seconds=float(overheads["billed_seconds"]),
            overhead_source=overheads["source"],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CostError(f"the price table {path} cannot be read: {exc}") from exc


@dataclass(frozen=True)
class StepTime:
    """One pipeline step as measured locally: its kind, instance type and compute seconds."""

    name: str
    kind: str  # the definition's step type: Processing, Training, Condition, RegisterModel, ...
    seconds: float
    instance_type: str | None = None


@dataclass(frozen=True)
class StepProjection:
    """One step in AWS: wall seconds (start-up + compute), billed seconds, dollars."""

    name: str
    kind: str
    instance_type: str | None
    wall_seconds: float
    billed_seconds: float
    usd: float


@dataclass(frozen=True)
class RunProjection:
    """One pipeline execution in AWS: its steps, run one after another."""

    steps: tuple[StepProjection, ...]

    @property
    def wall_seconds(self) -> float:
        """The execution's duration: the steps run in sequence in this pipeline."""
        return sum(step.wall_seconds for step in self.steps)

    @property
    def usd(self) -> float:
        """The execution's price (SageMaker Pipelines itself is free; its jobs are not)."""
        return sum(step.usd for step in self.steps)


def project_run(steps: Iterable[StepTime], prices: PriceTable) -> RunProjection:
    """Time and price of one execution in AWS from locally measured step times.

    A processing or training step takes the table's start-up (instance provisioning, image and
    input download: `startup_seconds`, of which `billed_overhead_seconds` are billed) plus the
    locally measured compute, assumed to run as fast on the step's instance type; it is billed
    per second of instance time. Steps without an instance take `UNBILLED_STEP_SECONDS` and
    cost nothing. Cached steps should be left out by the caller: SageMaker reuses their output.
    Raises CostError for an instance type the table does not price.
    """
    projected = []
    for step in steps:
        kind = BILLED_KINDS.get(step.kind)
        if kind is None:
            projected.append(
                StepProjection(step.name, step.kind, None, UNBILLED_STEP_SECONDS, 0.0, 0.0)
            )
            continue
        if not step.instance_type:
            raise CostError(f"step {step.name} ({step.kind}) names no instance type")
        hourly = prices.instance_hour(kind, step.instance_type).usd
        billed = step.seconds + prices.billed_overhead_seconds
        projected.append(
            StepProjection(
                step.name,
                step.kind,
                step.instance_type,
                prices.startup_seconds + step.seconds,
                billed,
                billed / 3600 * hourly,
            )
        )
    return RunProjection(tuple(projected))


# --- schedules --------------------------------------------------------------------------------

DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
MONTH_NAMES = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}


def _field(text: str, low: int, high: int, names: Mapping[str, int] | None = None) -> set[int]:
    """Values of one cron field: `*`, `?`, numbers, names, lists, ranges and `/` steps."""
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in {"*", "?"}:
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(part, names)
            end = high if "/" in text else start
        values.update(range(start, end + 1, step))
    if not values or min(values) < low or max(values) > high:
        raise CostError(f"cron field {text!r} is outside {low}-{high}")
    return values


def _value(text: str, names: Mapping[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise CostError(f"cron value {text!r} is not supported here (L, W and # are not)")
    return int(text)


def runs_per_month(schedule: str, year: int = 2027) -> float:
    """Average number of runs a month of an EventBridge `rate(...)` or `cron(...)` schedule.

    cron fields follow EventBridge ("Schedule expressions for rules", EventBridge User Guide):
    minutes hours day-of-month month day-of-week year, day-of-week 1-7 = SUN-SAT, `?` in one of
    the two day fields. Counted over the whole of `year` (a common year) and divided by 12.
    Raises CostError for anything else.
    """
    rate = re.fullmatch(r"rate\((\d+) (minutes?|hours?|days?)\)", schedule.strip())
    if rate:
        every = int(rate.group(1)) * {"m": 60, "h": 3600, "d": 86400}[rate.group(2)[0]]
        if every <= 0:
            raise CostError(f"schedule {schedule!r} has a zero interval")
        return HOURS_PER_MONTH * 3600 / every
    cron = re.fullmatch(r"cron\((.+)\)", schedule.strip())
    if not cron or len(cron.group(1).split()) != 6:
        raise CostError(f"schedule {schedule!r} is neither rate(...) nor a six-field cron(...)")
    minutes, hours, dom, month, dow, years = cron.group(1).split()
    if years not in {"*", "?"}:
        raise CostError(f"schedule {schedule!r}: a year field other than * is not priced")
    per_day = len(_field(minutes, 0, 59)) * len(_field(hours, 0, 23))
    months = _field(month, 1, 12, MONTH_NAMES)
    days_of_month = None if dom in {"*", "?"} else _field(dom, 1, 31)
    weekdays = None if dow in {"*", "?"} else _field(dow, 1, 7, DAY_NAMES)
    fires = 0
    for m in months:
        for day in range(1, calendar.monthrange(year, m)[1] + 1):
            weekday = (calendar.weekday(year, m, day) + 1) % 7 + 1  # Monday=0 -> MON=2
            if days_of_month is not None and day not in days_of_month:
                continue
            if weekdays is not None and weekday not in weekdays:
                continue
            fires += per_day
    return fires / 12


# --- the month --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """What happens in a month, as `playground aws cost` asks for it.

    Defaults are this project's: the API function's 256 MB and the feedback function's 128 MB
    (terraform/lambda.tf, feedback.tf), about 650 log bytes per request (docs/aws.md, "Abuse
    limits"), full MNIST as 11.6 MB of gzip IDX per dataset version.
    """

    schedule: str
    dataset_versions: int  # new uploads a month; each starts one execution
    reviews: int  # feedback reviews a month; each writes a dataset version, so one execution
    visitors: int  # first visits a month: each downloads the site and one model
    steps: tuple[StepTime, ...]
    site_bytes: int
    site_files: int
    model_bytes: int
    mlflow_size: str | None = None
    corrections_per_visitor: float = 0.05
    api_calls_per_visitor: float = 2.0  # the list, then one version
    lambda_seconds: float = 0.2  # billed duration of one invocation
    api_memory_gb: float = 0.25
    feedback_memory_gb: float = 0.125
    log_bytes_per_request: int = 650
    dataset_version_bytes: int = 11_600_000
    run_artifact_bytes: int = 60_000_000  # prepared arrays, model, reports of one execution
    s3_puts_per_run: int = 40
    s3_gets_per_run: int = 40


@dataclass(frozen=True)
class Line:
    """One line of the bill: what, how much, the dollars, and the assumption behind it."""

    item: str
    quantity: str
    usd: float
    assumption: str
    unverified: bool = False


@dataclass(frozen=True)
class MonthlyCost:
    """The month's bill by line, the run it assumes, and the table it was priced from."""

    lines: tuple[Line, ...]
    executions: float
    run: RunProjection
    prices: PriceTable
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def usd(self) -> float:
        """The month's total in US dollars."""
        return sum(line.usd for line in self.lines)


def gigabytes(n_bytes: float) -> float:
    """Bytes in GB of 10^9 bytes, as docs/aws.md counts them.

    If AWS meters in GiB, the data lines are about 7% lower.
    """
    return n_bytes / GB


def monthly_cost(workload: Workload, prices: PriceTable) -> MonthlyCost:
    """The monthly bill of the deployment under `workload` (see Workload and Line).

    Each execution runs every step (no step cache hits: an upper bound). Storage is the first
    month's: one seeded dataset version plus the month's new ones, the site, and the artifacts
    of the month's executions. Raises CostError for a schedule or instance type it cannot price.
    """
    p = prices.price
    scheduled = runs_per_month(workload.schedule)
    executions = scheduled + workload.dataset_versions + workload.reviews
    run = project_run(workload.steps, prices)
    lines: list[Line] = []
    for kind, label in (("Processing", "processing"), ("Training", "training")):
        steps = [s for s in run.steps if s.kind == kind]
        if not steps:
            continue
        seconds = sum(s.billed_seconds for s in steps) * executions
        lines.append(
            Line(
                f"SageMaker {label} jobs",
                f"{executions:.3g} runs x {sum(s.billed_seconds for s in steps):.0f} s "
                f"({', '.join(sorted({s.instance_type or '?' for s in steps}))})",
                sum(s.usd for s in steps) * executions,
                f"{scheduled:.3g} scheduled ({workload.schedule}) + {workload.dataset_versions} "
                f"dataset versions + {workload.reviews} reviews a month; each job billed for its "
                f"compute plus {prices.billed_overhead_seconds:.0f} s of download; "
                f"{seconds / 3600:.2f} instance-hours",
            )
        )
    if workload.mlflow_size:
        hourly = p(f"mlflow_{workload.mlflow_size}_hour")
        lines.append(
            Line(
                f"MLflow tracking server ({workload.mlflow_size})",
                f"{HOURS_PER_MONTH} h",
                HOURS_PER_MONTH * hourly.usd,
                "billed every hour it exists, logging or not",
                hourly.unverified,
            )
        )
    api_requests = workload.visitors * workload.api_calls_per_visitor
    corrections = workload.visitors * workload.corrections_per_visitor
    requests = api_requests + corrections
    gb_seconds = workload.lambda_seconds * (
        api_requests * workload.api_memory_gb + corrections * workload.feedback_memory_gb
    )
    lines.append(
        Line(
            "Lambda requests and compute",
            f"{requests:,.0f} requests, {gb_seconds:,.1f} GB-s",
            requests * p("lambda_request").usd + gb_seconds * p("lambda_gb_second").usd,
            f"{workload.api_calls_per_visitor:g} API calls and "
            f"{workload.corrections_per_visitor:g} corrections per visitor, "
            f"{workload.lambda_seconds:g} s each",
        )
    )
    log_gb = gigabytes(requests * workload.log_bytes_per_request)
    lines.append(
        Line(
            "CloudWatch Logs and X-Ray",
            f"{log_gb:.4f} GB logged, {api_requests:,.0f} traces",
            log_gb * p("cloudwatch_logs_ingested_gb").usd + api_requests * p("xray_trace").usd,
            f"{workload.log_bytes_per_request} bytes logged per request; every API call traced",
        )
    )
    site_gb = gigabytes(workload.visitors * workload.site_bytes)
    site_requests = workload.visitors * workload.site_files
    lines.append(
        Line(
            "CloudFront transfer and requests",
            f"{site_gb:.2f} GB, {site_requests:,} requests",
            site_gb * p("cloudfront_transfer_out_gb").usd
            + site_requests * p("cloudfront_https_request").usd,
            f"every visitor a first visit: the whole site ({workload.site_bytes:,} bytes, "
            f"{workload.site_files} files); before CloudFront's free tier",
        )
    )
    model_gb = gigabytes(workload.visitors * workload.model_bytes)
    lines.append(
        Line(
            "S3 transfer of model downloads",
            f"{model_gb:.3f} GB",
            model_gb * p("s3_transfer_out_gb").usd,
            f"one model ({workload.model_bytes:,} bytes) per visitor, by presigned URL",
        )
    )
    versions = workload.dataset_versions + workload.reviews
    puts = executions * workload.s3_puts_per_run + versions * 6 + corrections
    gets = executions * workload.s3_gets_per_run + workload.visitors
    lines.append(
        Line(
            "S3 requests",
            f"{puts:,.0f} PUT, {gets:,.0f} GET",
            puts * p("s3_put_request").usd + gets * p("s3_get_request").usd,
            f"{workload.s3_puts_per_run} PUT and {workload.s3_gets_per_run} GET per run, 6 PUT "
            "per dataset version, one PUT per correction, one GET per model download",
        )
    )
    stored = (
        (1 + versions) * workload.dataset_version_bytes
        + executions * workload.run_artifact_bytes
        + workload.site_bytes
    )
    lines.append(
        Line(
            "S3 storage",
            f"{gigabytes(stored):.2f} GB-month",
            gigabytes(stored) * p("s3_storage_gb_month").usd,
            f"one seeded and {versions} new dataset versions of "
            f"{workload.dataset_version_bytes:,} bytes, {workload.run_artifact_bytes:,} bytes "
            "per run, the site",
        )
    )
    return MonthlyCost(tuple(lines), executions, run, prices)


def steps_from_run(record: Any) -> tuple[StepTime, ...]:
    """StepTimes from a local RunRecord, cached and unfinished steps left out.

    Compute is the seconds inside each step's script; instance types come from the run's
    parameters (ProcessingInstanceType, TrainingInstanceType).
    """
    parameters: Mapping[str, Any] = record.parameters or {}
    instance = {
        "Processing": str(parameters.get("ProcessingInstanceType") or "ml.m5.xlarge"),
        "Training": str(parameters.get("TrainingInstanceType") or "ml.m5.xlarge"),
    }
    steps = []
    for step in record.steps.values():
        if step.cached or step.status != "Succeeded":
            continue
        seconds = step.script_seconds or step.seconds
        steps.append(StepTime(step.name, step.type, float(seconds), instance.get(step.type)))
    return tuple(steps)
