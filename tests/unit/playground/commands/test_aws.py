"""`playground aws cost` and `preflight` as a person types them (no AWS call made here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from playground.cli import app

cli = CliRunner()


def text(output: str) -> str:
    return " ".join(output.replace("│", " ").replace("┃", " ").split())


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A build as vite writes it: the 3 MB runtime beside its 1 MB gzip copy (web/deploy.sh
    uploads the copy in its place), a page and a script under CloudFront's 1,000 bytes."""
    folder = tmp_path / "dist"
    (folder / "assets" / "ort-1").mkdir(parents=True)
    (folder / "index.html").write_bytes(b"x" * 500)
    (folder / "assets" / "app.js").write_bytes(b"y" * 900)
    (folder / "assets" / "ort-1" / "ort.wasm").write_bytes(b"w" * 3_000_000)
    (folder / "assets" / "ort-1" / "ort.wasm.gz").write_bytes(b"g" * 1_000_000)
    return folder


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("PLAYGROUND_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PLAYGROUND_TRAINING_SCHEDULE", "rate(730 hours)")  # once a month


def cost(site: Path, *args: str, width: int = 250):
    return cli.invoke(app, ["aws", "cost", "--site", str(site), *args], terminal_width=width)


def test_cost_prints_the_month_with_its_assumptions_and_the_tables_date(
    site: Path, environment: None
) -> None:
    result = cost(site, "--visitors", "1000", "--reviews", "0")

    assert result.exit_code == 0, result.output
    output = text(result.output)
    assert "us-east-1 list prices of 2026-12-05" in output
    # A first visit: 500 + 900 + the 1,000,000-byte gzip copy (not the 3 MB wasm, not both):
    # 1,000 x 1,001,400 bytes = 1.00 GB at $0.085 + 3,000 requests at $0.000001 = $0.088
    assert "CloudFront transfer and requests 1.00 GB, 3,000 requests 0.09" in output
    assert "each first visit transfers 1,001,400 bytes in 3 requests" in output
    # 1 scheduled (30.4 days apart: past the cache's 30 days) + 1 dataset version = 2 runs of
    # train, each 300 s assumed + 60 s billed download: 720 s
    assert "SageMaker training jobs 0.20 instance-hours (ml.m5.xlarge): TrainModel 2 runs" in output
    assert "step times assumed (no local run of every step yet" in output


def test_a_weekly_schedule_without_new_data_retrains_from_the_cache(
    site: Path, environment: None
) -> None:
    result = cost(site, "--schedule", "rate(7 days)", "--reviews", "0")

    assert result.exit_code == 0, result.output
    output = text(result.output)
    # 4.345 weekly runs, a 30-day cache entry serving 4 of every 5: 1 + 4.345 / 5 trainings
    assert "TrainModel 1.87 runs" in output
    assert "PrepareData 1.87, EvaluateModel 5.35" in output
    assert "a scheduled one without new data (cache hits): about" in output


@pytest.mark.parametrize("size", ["small", "Small", "SMALL"])
def test_cost_takes_the_mlflow_size_in_any_case(site: Path, environment: None, size: str) -> None:
    result = cost(site, "--mlflow", size)

    assert result.exit_code == 0, result.output
    output = text(result.output)
    assert "MLflow tracking server (Small) 730 h 438.00 (unverified price)" in output
    assert "price not verified: checked 2026-12-05" in output


def test_cost_refuses_an_unknown_mlflow_size(site: Path) -> None:
    result = cost(site, "--mlflow", "Huge")
    assert result.exit_code == 2
    assert "--mlflow must be none, Small, Medium or Large (any case), not 'Huge'" in text(
        result.output
    )


def test_cost_refuses_a_folder_that_is_no_build(tmp_path: Path) -> None:
    result = cost(tmp_path, "--visitors", "1")
    assert result.exit_code == 2
    assert "index.html missing" in text(result.output)


def test_preflight_needs_the_runbooks_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_VAR_name_prefix", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = cli.invoke(app, ["aws", "preflight"])
    assert result.exit_code == 2
    assert "set TF_VAR_name_prefix (docs/aws.md, step 1)" in text(result.output)


def test_the_assumed_steps_are_the_definitions(mnist_definition: dict) -> None:
    from playground import aws_cost
    from playground.commands.aws import ASSUMED_STEPS

    # Every step that can run, with its type and its cache expiry (the gate's Fail step is
    # the failure branch: it costs nothing).
    steps = [s for s in aws_cost.definition_steps(mnist_definition) if s["Type"] != "Fail"]
    assert [(s["Name"], s["Type"]) for s in steps] == [(s.name, s.kind) for s in ASSUMED_STEPS]
    expiries = aws_cost.cache_expiries(mnist_definition)
    assert {s.name: s.cache_expiry_seconds for s in ASSUMED_STEPS if s.cache_expiry_seconds} == (
        expiries
    )


ROOT = Path(__file__).resolve().parents[4]


def figures(pattern: str, where: str, what: str) -> tuple[str, ...]:
    found = re.search(pattern, where)
    assert found, f"{pattern!r} not in {what}"
    return found.groups()


def test_the_figures_docs_aws_md_quotes_are_what_cost_prints_for_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = ROOT / "web" / "dist"
    if not (dist / "index.html").is_file():
        pytest.fail(f"no built site in {dist}: run `make web-build` first")
    monkeypatch.setenv("COLUMNS", "2000")  # no cell wraps
    monkeypatch.setenv("PLAYGROUND_STATE_DIR", str(tmp_path / "no-runs"))  # step times assumed
    monkeypatch.delenv("PLAYGROUND_TRAINING_SCHEDULE", raising=False)
    plain = cost(dist, width=2000)
    with_mlflow = cost(dist, "--mlflow", "small", width=2000)
    assert plain.exit_code == 0, plain.output
    printed = text(plain.output)
    docs = " ".join((ROOT / "docs" / "aws.md").read_text().split())
    section = docs[docs.index("## What it costs") : docs.index("## Variables")]

    processing = figures(r"SageMaker processing jobs .*? runs ([\d.]+)", printed, "the output")
    training = figures(r"SageMaker training jobs .*? runs ([\d.]+)", printed, "the output")
    cloudfront = figures(
        r"CloudFront transfer and requests ([\d.]+) GB, [\d,]+ requests ([\d.]+)", printed, "it"
    )
    total = figures(r"total ([\d.]+)", printed, "the output")
    runs = figures(
        r"one execution of every step in AWS: about (\d+) min, \$([\d.]+); a scheduled one "
        r"without new data \(cache hits\): about (\d+) min, \$([\d.]+)",
        printed,
        "the output",
    )
    mlflow = figures(
        r"MLflow tracking server \(Small\) 730 h ([\d.]+)", text(with_mlflow.output), "it"
    )

    assert figures(r"it prints \*\*\$([\d.]+) a month\*\*", section, "docs/aws.md") == total
    jobs = f"{float(processing[0]) + float(training[0]):.2f}"
    assert figures(r"\$([\d.]+) of SageMaker jobs", section, "docs/aws.md") == (jobs,)
    assert (
        figures(r"\$([\d.]+) of CloudFront transfer \(([\d.]+) GB", section, "docs/aws.md")[::-1]
        == cloudfront
    )
    assert (
        figures(
            r"One execution of every step takes about (\d+) minutes in AWS and costs about "
            r"\$([\d.]+); a scheduled execution without new data about (\d+) minutes and "
            r"\$([\d.]+)",
            section,
            "docs/aws.md",
        )
        == runs
    )
    assert figures(r"`--mlflow small` adds \$([\d.]+)", section, "docs/aws.md") == mlflow


def save_run(state: Path, execution_id: str, started: str, train_cached: bool) -> None:
    """A succeeded local run with the definition it ran (prepare and train cached 30 days)."""
    from localaws.local_runner import SUCCEEDED, RunRecord, StepRecord
    from localaws.local_runner.records import RUNS_FOLDER

    folder = state / RUNS_FOLDER / execution_id
    folder.mkdir(parents=True)
    cache = {"Enabled": True, "ExpireAfter": "P30D"}
    (folder / "definition.json").write_text(
        json.dumps(
            {
                "Steps": [
                    {"Name": "PrepareData", "Type": "Processing", "CacheConfig": cache},
                    {"Name": "TrainModel", "Type": "Training", "CacheConfig": cache},
                    {"Name": "EvaluateModel", "Type": "Processing"},
                ]
            }
        )
    )
    RunRecord(
        execution_id=execution_id,
        pipeline_name="mnist-training",
        parameters={},
        status=SUCCEEDED,
        started_at=started,
        steps={
            "PrepareData": StepRecord(
                "PrepareData", "Processing", SUCCEEDED, 50, 40, cached=train_cached
            ),
            "TrainModel": StepRecord(
                "TrainModel", "Training", SUCCEEDED, 700, 600, cached=train_cached
            ),
            "EvaluateModel": StepRecord("EvaluateModel", "Processing", SUCCEEDED, 30, 20),
        },
        folder=str(folder),
    ).save()


def test_cost_times_the_newest_run_of_every_step_and_reads_its_cache_rules(
    site: Path, environment: None, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    save_run(state, "fullrun00001", "2026-12-01T03:00:00+00:00", train_cached=False)
    save_run(state, "cachedrun001", "2026-12-04T03:00:00+00:00", train_cached=True)

    result = cost(site, "--schedule", "rate(7 days)", "--reviews", "0")

    assert result.exit_code == 0, result.output
    output = text(result.output)
    assert "step times measured by local run fullrun00001" in output  # not the cached one
    # train 600 s + 60 s billed download, in 1 + 4.345 / 5 runs: 0.34 instance-hours
    assert "SageMaker training jobs 0.34 instance-hours (ml.m5.xlarge): TrainModel 1.87 runs" in (
        output
    )
