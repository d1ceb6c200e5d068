"""playground.aws_cost: the monthly bill and one run's AWS time, checked against hand arithmetic."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from playground import aws_cost
from playground.aws_cost import CostError, StepTime, Workload

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
        "site_bytes": 5_000_000,
        "site_files": 10,
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
        table.price(f"mlflow_{size}_hour")
