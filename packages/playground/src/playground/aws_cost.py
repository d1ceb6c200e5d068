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
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localaws.local_runner import PipelineError
from localaws.local_runner.cache import duration_seconds
from playground.cloudfront import SiteTransfer

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
    checked: str = ""  # when and how the price was checked, and against what


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
    # The step's CacheConfig: None when caching is off, else its ExpireAfter in seconds.
    cache_expiry_seconds: float | None = None


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


def _cron_fires(schedule: str, year: int) -> list[float] | None:
    """The seconds into `year` at which a six-field cron(...) fires; None for rate(...)."""
    cron = re.fullmatch(r"cron\((.+)\)", schedule.strip())
    if not cron or len(cron.group(1).split()) != 6:
        raise CostError(f"schedule {schedule!r} is neither rate(...) nor a six-field cron(...)")
    minutes, hours, dom, month, dow, years = cron.group(1).split()
    if years not in {"*", "?"}:
        raise CostError(f"schedule {schedule!r}: a year field other than * is not priced")
    times_of_day = sorted(
        h * 3600 + m * 60 for h in _field(hours, 0, 23) for m in _field(minutes, 0, 59)
    )
    months = _field(month, 1, 12, MONTH_NAMES)
    days_of_month = None if dom in {"*", "?"} else _field(dom, 1, 31)
    weekdays = None if dow in {"*", "?"} else _field(dow, 1, 7, DAY_NAMES)
    fires: list[float] = []
    day_start = 0.0
    for m in range(1, 13):
        for day in range(1, calendar.monthrange(year, m)[1] + 1):
            weekday = (calendar.weekday(year, m, day) + 1) % 7 + 1  # Monday=0 -> MON=2
            if (
                m in months
                and (days_of_month is None or day in days_of_month)
                and (weekdays is None or weekday in weekdays)
            ):
                fires.extend(day_start + t for t in times_of_day)
            day_start += 86400
    return fires


def _rate_seconds(schedule: str) -> float | None:
    rate = re.fullmatch(r"rate\((\d+) (minutes?|hours?|days?)\)", schedule.strip())
    if not rate:
        return None
    every = int(rate.group(1)) * {"m": 60, "h": 3600, "d": 86400}[rate.group(2)[0]]
    if every <= 0:
        raise CostError(f"schedule {schedule!r} has a zero interval")
    return float(every)


def runs_per_month(schedule: str, year: int = 2027) -> float:
    """Average number of runs a month of an EventBridge `rate(...)` or `cron(...)` schedule.

    cron fields follow EventBridge ("Schedule expressions for rules", EventBridge User Guide):
    minutes hours day-of-month month day-of-week year, day-of-week 1-7 = SUN-SAT, `?` in one of
    the two day fields. Counted over the whole of `year` (a common year) and divided by 12.
    Raises CostError for anything else.
    """
    every = _rate_seconds(schedule)
    if every is not None:
        return HOURS_PER_MONTH * 3600 / every
    return len(_cron_fires(schedule, year) or []) / 12


def uncached_share(schedule: str, expiry_seconds: float, year: int = 2027) -> float:
    """The share (0-1) of scheduled runs in which a cached step runs, when no data is new.

    SageMaker reuses a step's result while a successful run of it with the same key arguments
    is younger than the step's ``ExpireAfter`` ("Turn on step caching", SageMaker Developer
    Guide); a cache hit does not renew the entry (the local runner, `localaws.local_runner.
    cache`, does the same). So with no new dataset version the step runs once, its result
    serves every scheduled run while it is at most ``expiry_seconds`` old, and the first run
    after that runs it again: for `rate(T)`, one run in floor(E / T) + 1; a cron schedule is
    walked fire by fire through `year`. A new dataset version only makes a fresh entry, so this
    is the most such runs can be. ``expiry_seconds`` inf means no expiry (never again).
    Raises CostError for a schedule `runs_per_month` cannot count.
    """
    every = _rate_seconds(schedule)
    if math.isinf(expiry_seconds):
        runs_per_month(schedule)  # the schedule is still checked
        return 0.0
    if every is not None:
        return 1 / (int(expiry_seconds // every) + 1)
    fires = _cron_fires(schedule, year) or []
    if not fires:
        return 0.0
    runs, stored = 0, None
    for fire in fires:
        if stored is None or fire - stored > expiry_seconds:
            runs, stored = runs + 1, fire
    return runs / len(fires)


# --- the month --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """What happens in a month, as `playground aws cost` asks for it.

    Defaults are this project's: the API function's 256 MB and the feedback function's 128 MB
    (terraform/lambda.tf, feedback.tf), about 650 log bytes per request (docs/aws.md, "Abuse
    limits"), full MNIST as 11.6 MB of gzip IDX per dataset version. ``site`` is what the
    deployed site transfers per visit (`playground.cloudfront.site_transfer`).
    """

    schedule: str
    dataset_versions: int  # new uploads a month; each starts one execution
    reviews: int  # feedback reviews a month; each writes a dataset version, so one execution
    visitors: int  # first visits a month: each downloads the site and one model
    steps: tuple[StepTime, ...]
    site: SiteTransfer
    model_bytes: int
    return_visits: int = 0  # visits a month by someone whose browser keeps the site and model
    mlflow_size: str | None = None
    corrections_per_visitor: float = 0.05
    api_calls_per_visitor: float = 2.0  # the list, then one version
    api_calls_per_return_visit: float = 1.0  # the list (the stored model opens by itself)
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
    """The month's bill by line, the runs it assumes, and the table it was priced from.

    run: a run that runs every step (a new dataset version); cached_run: a scheduled run
    with no new data, its cached steps left out; runs_by_step: how many times a month each
    step runs in AWS (step name -> runs).
    """

    lines: tuple[Line, ...]
    executions: float
    run: RunProjection
    cached_run: RunProjection
    runs_by_step: Mapping[str, float]
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


MLFLOW_SIZES = ("Small", "Medium", "Large")  # CreateMlflowTrackingServer's TrackingServerSize


def mlflow_size(text: str) -> str | None:
    """A tracking server size as the AWS API spells it (Small, Medium, Large), None for none.

    Any case is accepted (`small`, `LARGE`); raises CostError for anything else.
    """
    wanted = text.strip().lower()
    if wanted == "none":
        return None
    for size in MLFLOW_SIZES:
        if size.lower() == wanted:
            return size
    raise CostError(f"--mlflow must be none, Small, Medium or Large (any case), not {text!r}")


def _expiry_words(seconds: float | None) -> str:
    if seconds is None or math.isinf(seconds):
        return "no expiry"
    days = seconds / 86400
    return f"{days:g} days" if days >= 1 else f"{seconds / 3600:g} hours"


def monthly_cost(workload: Workload, prices: PriceTable) -> MonthlyCost:
    """The monthly bill of the deployment under `workload` (see Workload and Line).

    Each new dataset version and review starts an execution that runs every step. A scheduled
    execution finds no new data (the version was trained when it arrived), so its cached steps
    are cache hits except when their entry has expired (`uncached_share`); its other steps run.
    Storage is the first month's: one seeded dataset version plus the month's new ones, the
    site, and the artifacts of the month's executions. Raises CostError for a schedule or
    instance type it cannot price.
    """
    p = prices.price
    scheduled = runs_per_month(workload.schedule)
    triggered = workload.dataset_versions + workload.reviews
    executions = scheduled + triggered
    run = project_run(workload.steps, prices)
    cached_run = project_run([s for s in workload.steps if s.cache_expiry_seconds is None], prices)
    runs_by_step = {
        step.name: triggered
        + scheduled
        * (
            1.0
            if step.cache_expiry_seconds is None
            else uncached_share(workload.schedule, step.cache_expiry_seconds)
        )
        for step in workload.steps
    }
    cached_steps = [s for s in workload.steps if s.cache_expiry_seconds is not None]
    if cached_steps:
        cache_words = (
            f"a scheduled run finds no new data: {', '.join(s.name for s in cached_steps)} "
            f"are cache hits while their entry is younger than "
            f"{_expiry_words(cached_steps[0].cache_expiry_seconds)} (the definition's "
            f"ExpireAfter), so they run in at most "
            f"{runs_by_step[cached_steps[0].name] - triggered:.3g} of the {scheduled:.3g} "
            "scheduled runs a month (new data makes fresh entries)"
        )
    else:
        cache_words = "no step is cached: every run runs every step"
    lines: list[Line] = []
    for kind, label in (("Processing", "processing"), ("Training", "training")):
        steps = [s for s in run.steps if s.kind == kind]
        if not steps:
            continue
        seconds = sum(s.billed_seconds * runs_by_step[s.name] for s in steps)
        counts = ", ".join(f"{s.name} {runs_by_step[s.name]:.3g}" for s in steps)
        lines.append(
            Line(
                f"SageMaker {label} jobs",
                f"{seconds / 3600:.2f} instance-hours "
                f"({', '.join(sorted({s.instance_type or '?' for s in steps}))}): {counts} runs",
                sum(s.usd * runs_by_step[s.name] for s in steps),
                f"{scheduled:.3g} scheduled ({workload.schedule}) + "
                f"{_count(workload.dataset_versions, 'dataset version')} + "
                f"{_count(workload.reviews, 'review')} a month, each new version "
                f"running every step; {cache_words}; each job billed for its compute plus "
                f"{prices.billed_overhead_seconds:.0f} s of download",
            )
        )
    if workload.mlflow_size:
        hourly = p(f"mlflow_{workload.mlflow_size}_hour")
        lines.append(
            Line(
                f"MLflow tracking server ({workload.mlflow_size})",
                f"{HOURS_PER_MONTH} h",
                HOURS_PER_MONTH * hourly.usd,
                f"billed every hour it exists, logging or not; ${hourly.usd:g} an hour"
                + (
                    f"; price not verified: {hourly.checked or 'no check recorded'}"
                    if hourly.unverified
                    else ""
                ),
                hourly.unverified,
            )
        )
    api_requests = (
        workload.visitors * workload.api_calls_per_visitor
        + workload.return_visits * workload.api_calls_per_return_visit
    )
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
            f"{workload.api_calls_per_return_visit:g} API call per return visit, "
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
    site = workload.site
    site_gb = gigabytes(workload.visitors * site.first_visit_bytes)
    site_requests = (
        workload.visitors * site.first_visit_requests
        + workload.return_visits * site.return_visit_requests
    )
    lines.append(
        Line(
            "CloudFront transfer and requests",
            f"{site_gb:.2f} GB, {site_requests:,} requests",
            site_gb * p("cloudfront_transfer_out_gb").usd
            + site_requests * p("cloudfront_https_request").usd,
            f"each first visit transfers {site.first_visit_bytes:,} bytes in "
            f"{site.first_visit_requests} requests (the site as web/deploy.sh uploads it, "
            "compressed as CloudFront compresses it); each of "
            f"{workload.return_visits:,} return visits {site.return_visit_requests} revalidations "
            "without a body (after a deploy, also the files it changed: not counted); "
            "before CloudFront's free tier",
        )
    )
    model_gb = gigabytes(workload.visitors * workload.model_bytes)
    lines.append(
        Line(
            "S3 transfer of model downloads",
            f"{model_gb:.3f} GB",
            model_gb * p("s3_transfer_out_gb").usd,
            f"one model per first visit, by presigned URL, at its largest "
            f"({workload.model_bytes:,} bytes, the gate's MaxModelSizeBytes); "
            "a return visit opens the stored one",
        )
    )
    puts = executions * workload.s3_puts_per_run + triggered * 6 + corrections
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
        (1 + triggered) * workload.dataset_version_bytes
        + executions * workload.run_artifact_bytes
        + site.stored_bytes
    )
    lines.append(
        Line(
            "S3 storage",
            f"{gigabytes(stored):.2f} GB-month",
            gigabytes(stored) * p("s3_storage_gb_month").usd,
            f"one seeded and {_count(triggered, 'new dataset version')} of "
            f"{workload.dataset_version_bytes:,} bytes, {workload.run_artifact_bytes:,} bytes "
            f"per run (a run with cache hits writes less), the site ({site.stored_bytes:,} bytes)",
        )
    )
    return MonthlyCost(tuple(lines), executions, run, cached_run, runs_by_step, prices)


def definition_steps(definition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every step of a pipeline definition, in order, the condition's branches included.

    A condition's IfSteps then its ElseSteps follow it.
    """
    found: list[Mapping[str, Any]] = []

    def walk(steps: Iterable[Mapping[str, Any]]) -> None:
        for step in steps:
            found.append(step)
            arguments = step.get("Arguments") or {}
            if step.get("Type") == "Condition":
                walk(arguments.get("IfSteps") or [])
                walk(arguments.get("ElseSteps") or [])

    walk(definition.get("Steps", []))
    return found


def cache_expiries(definition: Mapping[str, Any]) -> dict[str, float | None]:
    """Step name -> ExpireAfter in seconds of each step whose CacheConfig is enabled.

    ``definition``: a pipeline definition, the JSON SageMaker takes. A step cached without an
    ExpireAfter never expires (inf).
    """
    expiries: dict[str, float | None] = {}
    for step in definition_steps(definition):
        config = step.get("CacheConfig") or {}
        if config.get("Enabled"):
            seconds = duration_seconds(config.get("ExpireAfter"))
            expiries[str(step["Name"])] = float("inf") if seconds is None else seconds
    return expiries


def steps_from_run(record: Any) -> tuple[StepTime, ...]:
    """StepTimes from a local RunRecord, cached and unfinished steps left out.

    Compute is the seconds inside each step's script; instance types come from the run's
    parameters (ProcessingInstanceType, TrainingInstanceType); each step's cache expiry from
    the definition the run ran (`definition.json` in its folder), when it is there.
    """
    parameters: Mapping[str, Any] = record.parameters or {}
    instance = {
        "Processing": str(parameters.get("ProcessingInstanceType") or "ml.m5.xlarge"),
        "Training": str(parameters.get("TrainingInstanceType") or "ml.m5.xlarge"),
    }
    expiries: dict[str, float | None] = {}
    definition = Path(record.folder or ".") / "definition.json"
    if record.folder and definition.is_file():
        try:
            expiries = cache_expiries(json.loads(definition.read_text()))
        except (OSError, ValueError, PipelineError) as exc:
            raise CostError(f"the run's definition {definition} cannot be read: {exc}") from exc
    steps = []
    for step in record.steps.values():
        if step.cached or step.status != "Succeeded":
            continue
        seconds = step.script_seconds or step.seconds
        steps.append(
            StepTime(
                step.name,
                step.type,
                float(seconds),
                instance.get(step.type),
                expiries.get(step.name),
            )
        )
    return tuple(steps)


@dataclass(frozen=True)
class RunEstimate:
    """A local run projected into AWS.

    text: the sentence people read; run: the steps behind it (None: not projected).
    """

    text: str
    run: RunProjection | None


def estimate_run(record: Any) -> RunEstimate:
    """What this local run would take and cost in AWS, in one sentence with its assumptions.

    The one projection of a run: `playground pipeline show`, the end of `playground pipeline
    run` and the run report (`playground.run_end`) show it. Cached steps are left out
    (SageMaker would reuse their results too).
    """
    try:
        prices = load_prices()
        run = project_run(steps_from_run(record), prices)
    except CostError as exc:
        return RunEstimate(f"in AWS: not projected ({exc})", None)
    jobs = [s for s in run.steps if s.instance_type]
    if not jobs:
        return RunEstimate(
            "in AWS: every step was cached, so no job would run and nothing would be billed", run
        )
    return RunEstimate(
        f"in AWS (projected): about {run.wall_seconds / 60:.1f} min and ${run.usd:.3f} for "
        f"{len(jobs)} job(s) on {', '.join(sorted({s.instance_type or '?' for s in jobs}))}: "
        f"the compute measured here plus {prices.startup_seconds:.0f} s of start-up per job "
        f"({prices.billed_overhead_seconds:.0f} s billed), {prices.region} prices of "
        f"{prices.date} (`playground aws cost` for the month)",
        run,
    )


def _count(number: float, noun: str) -> str:
    """``1 dataset version``, ``2 dataset versions``, ``0 reviews``."""
    return f"{number:g} {noun}" if number == 1 else f"{number:g} {noun}s"
