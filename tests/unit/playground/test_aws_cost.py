"""playground.aws_cost: the monthly bill and one run's AWS time, checked against hand arithmetic."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from playground import aws_cost
from playground.aws_cost import CostError, StepTime, Workload
from playground.cloudfront import SiteTransfer

# Round prices so the expected figures below can be redone on paper.
TABLE = {
    "region": "us-east-1",
    "currency": "USD",
    "date": "2026-01-01",
    "note": "test prices",
    "prices": {
        "lambda_request": {"usd": 0.000001, "per": "request", "source": "t"},
        "lambda_gb_second": {"usd": 0.00001, "per": "GB-second", "source": "t"},
        "s3_storage_gb_month": {"usd": 0.02, "per": "GB-month", "source": "t"},
        "s3_put_request": {"usd": 0.00001, "per": "request", "source": "t"},
        "s3_get_request": {"usd": 0.000001, "per": "request", "source": "t"},
        "s3_transfer_out_gb": {"usd": 0.1, "per": "GB", "source": "t"},
        "cloudfront_transfer_out_gb": {"usd": 0.1, "per": "GB", "source": "t"},
        "cloudfront_https_request": {"usd": 0.000001, "per": "request", "source": "t"},
        "cloudwatch_logs_ingested_gb": {"usd": 0.5, "per": "GB", "source": "t"},
        "xray_trace": {"usd": 0.00001, "per": "trace", "source": "t"},
        "sagemaker_processing_ml.m5.xlarge_hour": {"usd": 0.36, "per": "h", "source": "t"},
        "sagemaker_training_ml.m5.xlarge_hour": {"usd": 0.72, "per": "h", "source": "t"},
        "mlflow_Small_hour": {"usd": 1.0, "per": "h", "source": "t", "unverified": True},
    },
    "job_overheads": {"startup_seconds": 100, "billed_seconds": 60, "source": "t"},
}

STEPS = (
    StepTime("prepare", "Processing", 40, "ml.m5.xlarge"),
    StepTime("train", "Training", 140, "ml.m5.xlarge"),
    StepTime("evaluate", "Processing", 20, "ml.m5.xlarge"),
    StepTime("gate", "Condition", 0),
    StepTime("register", "RegisterModel", 1),
)


@pytest.fixture
def prices(tmp_path: Path) -> aws_cost.PriceTable:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(TABLE))
    return aws_cost.load_prices(path)


def workload(**changes: object) -> Workload:
    values: dict[str, object] = {
        "schedule": "rate(73 hours)",  # 730 h / 73 h = 10 runs a month
        "dataset_versions": 2,
        "reviews": 3,
        "visitors": 1000,
        "steps": STEPS,
        "site": SiteTransfer(5_000_000, 10, 2, 5_000_000),
        "model_bytes": 100_000,
        "mlflow_size": "Small",
    }
    values.update(changes)
    return Workload(**values)  # type: ignore[arg-type]


def test_one_run_in_aws_by_hand(prices: aws_cost.PriceTable) -> None:
    run = aws_cost.project_run(STEPS, prices)
    # prepare: 100 s start-up + 40 s = 140 s; billed 60 + 40 = 100 s at $0.0001/s = $0.01
    # train: 100 + 140 = 240 s; billed 200 s at $0.0002/s = $0.04
    # evaluate: 100 + 20 = 120 s; billed 80 s = $0.008; gate and register: 5 s each, free
    assert [round(s.wall_seconds) for s in run.steps] == [140, 240, 120, 5, 5]
    assert [round(s.usd, 6) for s in run.steps] == [0.01, 0.04, 0.008, 0, 0]
    assert run.wall_seconds == pytest.approx(510)
    assert run.usd == pytest.approx(0.058)


def test_the_month_by_hand(prices: aws_cost.PriceTable) -> None:
    month = aws_cost.monthly_cost(workload(), prices)
    assert month.executions == pytest.approx(15)  # 10 scheduled + 2 versions + 3 reviews
    by_item = {line.item: line.usd for line in month.lines}
    expected = {
        "SageMaker processing jobs": 15 * (0.01 + 0.008),  # 0.27
        "SageMaker training jobs": 15 * 0.04,  # 0.60
        "MLflow tracking server (Small)": 730 * 1.0,
        # 2,000 API calls + 50 corrections; 0.2 s x (2,000 x 0.25 GB + 50 x 0.125 GB)
        "Lambda requests and compute": 2050 * 0.000001 + 101.25 * 0.00001,
        # 2,050 x 650 bytes = 0.0013325 GB at $0.5; 2,000 traces at $0.00001
        "CloudWatch Logs and X-Ray": 0.0013325 * 0.5 + 2000 * 0.00001,
        # 1,000 x 5 MB = 5 GB at $0.1; 10,000 requests at $0.000001
        "CloudFront transfer and requests": 0.5 + 0.01,
        "S3 transfer of model downloads": 0.1 * 0.1,  # 1,000 x 100 kB = 0.1 GB
        # PUT: 15 x 40 + 5 x 6 + 50 = 680; GET: 15 x 40 + 1,000 = 1,600
        "S3 requests": 680 * 0.00001 + 1600 * 0.000001,
        # (1 + 5) x 11.6 MB + 15 x 60 MB + 5 MB = 0.9746 GB at $0.02
        "S3 storage": 0.9746 * 0.02,
    }
    assert by_item == pytest.approx(expected)
    assert month.usd == pytest.approx(731.44162075)
    mlflow = next(line for line in month.lines if line.item.startswith("MLflow"))
    assert mlflow.unverified
    assert "not verified" in mlflow.assumption


DAY = 86400.0
# prepare and train cached for 30 days, as the definition has them (CACHE_EXPIRY P30D)
CACHED_STEPS = (
    StepTime("prepare", "Processing", 40, "ml.m5.xlarge", 30 * DAY),
    StepTime("train", "Training", 140, "ml.m5.xlarge", 30 * DAY),
    *STEPS[2:],
)


def test_a_scheduled_run_without_new_data_takes_the_cached_steps_from_the_cache(
    prices: aws_cost.PriceTable,
) -> None:
    month = aws_cost.monthly_cost(
        workload(steps=CACHED_STEPS, schedule="rate(7 days)", mlflow_size=None), prices
    )

    scheduled = 730 / 168  # 4.345 a month
    # A weekly run reuses a 30-day entry 4 times, so prepare and train run in 1 of 5 of them;
    # the 5 new versions (2 uploads, 3 reviews) run every step; evaluate runs every time.
    assert month.runs_by_step["prepare"] == pytest.approx(5 + scheduled / 5)
    assert month.runs_by_step["train"] == pytest.approx(5 + scheduled / 5)
    assert month.runs_by_step["evaluate"] == pytest.approx(5 + scheduled)
    by_item = {line.item: line.usd for line in month.lines}
    assert by_item["SageMaker training jobs"] == pytest.approx(0.04 * (5 + scheduled / 5))
    assert by_item["SageMaker processing jobs"] == pytest.approx(
        0.01 * (5 + scheduled / 5) + 0.008 * (5 + scheduled)
    )
    assert month.cached_run.usd == pytest.approx(0.008)  # evaluate alone
    assert month.run.usd == pytest.approx(0.058)
    training = next(line for line in month.lines if line.item == "SageMaker training jobs")
    assert "cache hits while their entry is younger than 30 days" in training.assumption


def test_a_schedule_slower_than_the_cache_expiry_retrains_every_time(
    prices: aws_cost.PriceTable,
) -> None:
    month = aws_cost.monthly_cost(workload(steps=CACHED_STEPS, mlflow_size=None), prices)

    # rate(73 hours): a 30-day entry serves 9 more runs, so 1 run in 10 trains
    assert month.runs_by_step["train"] == pytest.approx(5 + 10 / 10)
    monthly = aws_cost.monthly_cost(
        workload(steps=CACHED_STEPS, schedule="rate(730 hours)", mlflow_size=None), prices
    )
    assert monthly.runs_by_step["train"] == pytest.approx(5 + 1)  # 30.4 days > 30: no hit


@pytest.mark.parametrize(
    ("schedule", "expiry", "share"),
    [
        ("rate(7 days)", 30 * DAY, 1 / 5),
        ("rate(30 days)", 30 * DAY, 1 / 2),  # an entry exactly 30 days old is still used
        ("rate(730 hours)", 30 * DAY, 1.0),
        ("cron(0 3 ? * MON *)", 30 * DAY, 11 / 52),  # 52 Mondays in 2027, every 5th trains
        ("cron(0 3 * * ? *)", 2.5 * DAY, 122 / 365),  # days 0, 3, ..., 363 of 2027
        ("rate(1 day)", float("inf"), 0.0),
    ],
)
def test_the_share_of_scheduled_runs_that_miss_the_cache(
    schedule: str, expiry: float, share: float
) -> None:
    assert aws_cost.uncached_share(schedule, expiry) == pytest.approx(share)


def test_the_cloudfront_line_is_what_a_visit_transfers(prices: aws_cost.PriceTable) -> None:
    site = SiteTransfer(
        first_visit_bytes=1_001_400,
        first_visit_requests=3,
        return_visit_requests=2,
        stored_bytes=1_001_400,
    )
    month = aws_cost.monthly_cost(workload(site=site, return_visits=500), prices)

    by_item = {line.item: line.usd for line in month.lines}
    # 1,000 x 1,001,400 bytes = 1.0014 GB at $0.1; 3,000 + 500 x 2 = 4,000 requests
    assert by_item["CloudFront transfer and requests"] == pytest.approx(0.10014 + 0.004)
    # 2,000 + 500 API calls and 50 corrections; 0.2 s x (2,500 x 0.25 + 50 x 0.125) GB-s
    assert by_item["Lambda requests and compute"] == pytest.approx(
        2550 * 0.000001 + 126.25 * 0.00001
    )
    assert by_item["S3 transfer of model downloads"] == pytest.approx(0.01)  # first visits only


@pytest.mark.parametrize(
    ("given", "size"),
    [
        ("small", "Small"),
        ("Small", "Small"),
        ("MEDIUM", "Medium"),
        (" large ", "Large"),
        ("None", None),
        ("none", None),
    ],
)
def test_mlflow_sizes_are_read_in_any_case(given: str, size: str | None) -> None:
    assert aws_cost.mlflow_size(given) == size


def test_an_unknown_mlflow_size_is_refused() -> None:
    with pytest.raises(CostError, match="none, Small, Medium or Large"):
        aws_cost.mlflow_size("huge")


def test_the_cache_expiry_is_read_from_the_definition() -> None:
    definition = {
        "Steps": [
            {"Name": "ResolveDataset", "CacheConfig": {"Enabled": False}},
            {"Name": "PrepareData", "CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"}},
            {"Name": "TrainModel", "CacheConfig": {"Enabled": True}},
            {"Name": "ModelGate"},
        ]
    }
    assert aws_cost.cache_expiries(definition) == {
        "PrepareData": 30 * DAY,
        "TrainModel": float("inf"),
    }


def test_without_mlflow_and_visitors_the_bill_is_the_pipeline(
    prices: aws_cost.PriceTable,
) -> None:
    month = aws_cost.monthly_cost(workload(mlflow_size=None, visitors=0), prices)
    assert not [line for line in month.lines if line.item.startswith("MLflow")]
    # 0.87 of jobs, 15 x 40 + 5 x 6 = 630 PUT, 600 GET, (1 + 5) x 11.6 MB + 900 MB + 5 MB
    assert month.usd == pytest.approx(0.87 + 630 * 0.00001 + 600 * 0.000001 + 0.9746 * 0.02)


@pytest.mark.parametrize(
    ("schedule", "runs"),
    [
        ("cron(0 3 ? * MON *)", 52 / 12),  # 2027 has 52 Mondays
        ("cron(0 3 ? * 2 *)", 52 / 12),  # MON is 2 in EventBridge
        ("cron(0/30 * * * ? *)", 48 * 365 / 12),
        ("cron(0 0 1 * ? *)", 1),
        ("cron(15 10 ? * MON-FRI *)", 261 / 12),
        ("rate(1 day)", 730 / 24),
        ("rate(7 days)", 730 / 168),
    ],
)
def test_schedules_count_their_runs(schedule: str, runs: float) -> None:
    assert aws_cost.runs_per_month(schedule) == pytest.approx(runs)


@pytest.mark.parametrize("schedule", ["cron(0 3 L * ? *)", "every monday", "cron(0 3 * *)"])
def test_schedules_it_cannot_count_are_refused(schedule: str) -> None:
    with pytest.raises(CostError):
        aws_cost.runs_per_month(schedule)


def test_an_instance_type_without_a_price_is_named(prices: aws_cost.PriceTable) -> None:
    steps = (StepTime("train", "Training", 10, "ml.p3.2xlarge"),)
    with pytest.raises(CostError, match=r"ml\.p3\.2xlarge.*ml\.m5\.xlarge"):
        aws_cost.project_run(steps, prices)


def test_the_price_table_in_the_repository_is_dated_and_sourced() -> None:
    table = aws_cost.load_prices()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table.date)
    assert table.region == "us-east-1"
    for key, price in table.prices.items():
        assert price.usd > 0, key
        assert price.source.startswith("https://aws.amazon.com/"), key
    # Every instance type the pipeline's defaults use has both prices.
    table.instance_hour("processing", "ml.m5.xlarge")
    table.instance_hour("training", "ml.m5.xlarge")
    for size in ("Small", "Medium", "Large"):
        price = table.price(f"mlflow_{size}_hour")
        # an unverified price says what was checked, when, and what was found
        assert not price.unverified or re.search(r"\d{4}-\d{2}-\d{2}", price.checked), size
