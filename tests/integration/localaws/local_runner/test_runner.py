"""The runner's mechanics on a small hand-written definition shaped like the SDK's output.

The scripts here are tiny stand-ins, so every test runs in seconds; the MNIST pipeline itself
runs end to end in test_end_to_end.py.
"""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
import time
from pathlib import Path

import boto3
import pytest

from localaws.local_runner import (
    FAILED,
    NOT_EXECUTED,
    SUCCEEDED,
    LocalRunner,
    PipelineError,
    load_run,
)
from mlops_settings import Settings

CODE = "pipelines/test/code"

MAKE = """
import json, os, sys
from pathlib import Path
import helper  # a neighbour in the bundle: the script runs from the extracted code folder

root = Path(os.environ.get("OPT_ML", "/opt/ml"))
raw = (root / "processing/input/raw/numbers.txt").read_text()
if "bad" in raw:
    print("check failed: the numbers are bad", file=sys.stderr)
    sys.exit(3)
numbers = [int(x) for x in raw.split()]
(root / "processing/output/data/numbers.json").write_text(json.dumps(numbers))
score = helper.score(numbers)
(root / "processing/output/report/report.json").write_text(json.dumps({"score": score}))
print("made", len(numbers), "numbers with args", sys.argv[1:])
"""

FIT = """
import json, os, sys
from pathlib import Path
numbers = json.loads(Path(os.environ["SM_CHANNEL_TRAIN"], "numbers.json").read_text())
Path(os.environ["SM_MODEL_DIR"], "model.json").write_text(json.dumps({"sum": sum(numbers)}))
Path(os.environ["SM_OUTPUT_DATA_DIR"], "env.json").write_text(json.dumps(
    {"argv": sys.argv[1:], "hps": json.loads(os.environ["SM_HPS"]),
     "channels": json.loads(os.environ["SM_CHANNELS"])}))
print("fitted")
"""

PUBLISH = """
import os, sys, tarfile
from pathlib import Path
root = Path(os.environ.get("OPT_ML", "/opt/ml"))
with tarfile.open(root / "processing/model/model.tar.gz") as archive:
    archive.extractall(root / "processing/output/published", filter="data")
(root / "processing/output/published/args.txt").write_text(" ".join(sys.argv[1:]))
"""

RUNPROC = """#!/bin/bash
set -e
cd /opt/ml/processing/input/code/
tar -xzf sourcedir.tar.gz
python3 make.py "$@"
"""


def _tar_gz(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def s3_input(name: str, uri: object, local: str) -> dict:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        },
    }


def s3_output(bucket: str, step: str, name: str, local: str) -> dict:
    uri = {
        "Std:Join": {
            "On": "/",
            "Values": [f"s3://{bucket}/runs", {"Get": "Execution.PipelineExecutionId"}, step, name],
        }
    }
    return {"OutputName": name, "S3Output": {"S3Uri": uri, "LocalPath": local}}


def upload_code(bucket: str, requirements: str = "") -> None:
    s3 = boto3.client("s3")
    bundle = {"make.py": MAKE, "helper.py": "def score(numbers):\n    return sum(numbers)\n"}
    if requirements:
        bundle["requirements.txt"] = requirements
    s3.put_object(Bucket=bucket, Key=f"{CODE}/make/sourcedir.tar.gz", Body=_tar_gz(bundle))
    s3.put_object(Bucket=bucket, Key=f"{CODE}/make/runproc.sh", Body=RUNPROC.encode())
    s3.put_object(Bucket=bucket, Key=f"{CODE}/fit/code/fit.py", Body=FIT.encode())
    source = {"entry_script": "fit.py", "source_dir": "/tmp/anywhere", "requirements": None}
    s3.put_object(
        Bucket=bucket, Key=f"{CODE}/fit/sm_drivers/sourcecode.json", Body=json.dumps(source)
    )
    s3.put_object(Bucket=bucket, Key=f"{CODE}/publish/publish.py", Body=PUBLISH.encode())


def definition(bucket: str) -> dict:
    cache = {"CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"}}
    make = {
        "Name": "Make",
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "some-image",
                "ContainerEntrypoint": [
                    "/bin/bash",
                    "/opt/ml/processing/input/entrypoint/runproc.sh",
                ],
                "ContainerArguments": ["--seed", "7"],
            },
            "ProcessingInputs": [
                s3_input("raw", {"Get": "Parameters.InputUri"}, "/opt/ml/processing/input/raw"),
                s3_input(
                    "code",
                    f"s3://{bucket}/{CODE}/make/sourcedir.tar.gz",
                    "/opt/ml/processing/input/code/",
                ),
                s3_input(
                    "entrypoint",
                    f"s3://{bucket}/{CODE}/make/runproc.sh",
                    "/opt/ml/processing/input/entrypoint",
                ),
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    s3_output(bucket, "Make", "data", "/opt/ml/processing/output/data"),
                    s3_output(bucket, "Make", "report", "/opt/ml/processing/output/report"),
                ]
            },
        },
        "PropertyFiles": [
            {"PropertyFileName": "Report", "OutputName": "report", "FilePath": "report.json"}
        ],
        **cache,
    }

    def channel(name: str, uri: object) -> dict:
        return {
            "ChannelName": name,
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
            "InputMode": "File",
        }

    fit = {
        "Name": "Fit",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": "some-image", "TrainingInputMode": "File"},
            "HyperParameters": {"epochs": {"Get": "Parameters.Epochs"}, "lr": "0.1"},
            "InputDataConfig": [
                channel(
                    "train",
                    {"Get": "Steps.Make.ProcessingOutputConfig.Outputs['data'].S3Output.S3Uri"},
                ),
                channel("code", f"s3://{bucket}/{CODE}/fit/code"),
                channel("sm_drivers", f"s3://{bucket}/{CODE}/fit/sm_drivers"),
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/training"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        },
        **cache,
    }
    publish = {
        "Name": "Publish",
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "some-image",
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/publish.py"],
                "ContainerArguments": ["--execution", {"Get": "Execution.PipelineExecutionId"}],
            },
            "ProcessingInputs": [
                s3_input(
                    "model",
                    {"Get": "Steps.Fit.ModelArtifacts.S3ModelArtifacts"},
                    "/opt/ml/processing/model",
                ),
                s3_input(
                    "code",
                    f"s3://{bucket}/{CODE}/publish/publish.py",
                    "/opt/ml/processing/input/code",
                ),
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    s3_output(bucket, "Publish", "published", "/opt/ml/processing/output/published")
                ]
            },
        },
        **cache,
    }
    score = {
        "Std:JsonGet": {"PropertyFile": {"Get": "Steps.Make.PropertyFiles.Report"}, "Path": "score"}
    }
    stop = {
        "Name": "TooLow",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {
                    "On": " ",
                    "Values": ["score", score, "is below", {"Get": "Parameters.MinScore"}],
                }
            }
        },
    }
    check = {
        "Name": "Check",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": score,
                    "RightValue": {"Get": "Parameters.MinScore"},
                }
            ],
            "IfSteps": [publish],
            "ElseSteps": [stop],
        },
    }
    return {
        "Version": "2020-12-01",
        "Parameters": [
            {"Name": "InputUri", "Type": "String", "DefaultValue": f"s3://{bucket}/raw/numbers"},
            {"Name": "Epochs", "Type": "Integer", "DefaultValue": 2},
            {"Name": "MinScore", "Type": "Float", "DefaultValue": 5.0},
        ],
        "Steps": [make, fit, check],
    }


@pytest.fixture
def runner(emulator: Settings) -> LocalRunner:
    bucket = emulator.data_bucket
    upload_code(bucket)
    boto3.client("s3").put_object(Bucket=bucket, Key="raw/numbers/numbers.txt", Body=b"1 2 3 4")
    return LocalRunner(
        definition(bucket),
        "test-pipeline",
        emulator.state_dir,
        boto3.client("s3"),
        emulator.region,
        "123456789012",
    )


def read(uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_a_run_executes_every_step_with_sagemaker_conventions(runner: LocalRunner):
    record = runner.run({"Epochs": "3"})

    assert record.status == SUCCEEDED, record.failure_reason
    assert [s.status for s in record.steps.values()] == [
        SUCCEEDED,
        SUCCEEDED,
        SUCCEEDED,
        SUCCEEDED,
        NOT_EXECUTED,
    ]
    assert record.steps["Make"].property_files == {"Report": {"score": 10}}
    assert record.steps["Check"].conditions == ["score=10 >= MinScore=5.0: true"]
    fit = record.steps["Fit"].properties
    model = fit["ModelArtifacts"]["S3ModelArtifacts"]
    assert model.endswith(f"/training/pipelines-{record.execution_id}-Fit/output/model.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(read(model))) as archive:
        assert json.load(archive.extractfile("model.json")) == {"sum": 10}
    published = record.steps["Publish"].properties["ProcessingOutputConfig"]["Outputs"][0]
    prefix = published["S3Output"]["S3Uri"]
    assert prefix == f"s3://mnist-playground-data/runs/{record.execution_id}/Publish/published"
    assert read(f"{prefix}/args.txt").decode() == f"--execution {record.execution_id}"
    env = json.loads((Path(record.folder) / "Fit/opt/ml/output/data/env.json").read_text())
    assert env["argv"] == ["--epochs", "3", "--lr", "0.1"]
    assert env["hps"] == {"epochs": "3", "lr": "0.1"}
    assert env["channels"] == ["train", "code", "sm_drivers"]
    make_log = Path(record.steps["Make"].log or "").read_text()
    assert "made 4 numbers with args ['--seed', '7']" in make_log
    assert load_run(runner.state_dir, record.execution_id).status == SUCCEEDED


def test_a_second_run_with_unchanged_arguments_comes_from_the_cache(runner: LocalRunner):
    first = runner.run()
    began = time.perf_counter()
    second = runner.run()
    seconds = time.perf_counter() - began

    assert second.status == SUCCEEDED
    cached = {n: s.cached for n, s in second.steps.items() if s.type in ("Processing", "Training")}
    # Publish's arguments name the execution: as in SageMaker, a new execution id in a key
    # argument (AppSpecification) is a new key, so that step always runs.
    assert cached == {"Make": True, "Fit": True, "Publish": False}
    assert second.execution_id != first.execution_id
    # The cached step hands on the first execution's outputs.
    assert (
        second.steps["Fit"].properties["ModelArtifacts"]
        == first.steps["Fit"].properties["ModelArtifacts"]
    )
    assert seconds < 5


def test_changed_data_under_the_same_uri_is_a_cache_hit_as_in_sagemaker(
    runner: LocalRunner, emulator: Settings
):
    """SageMaker keys on arguments, never on the data behind a URI (docs, "Caching")."""
    runner.run()
    boto3.client("s3").put_object(
        Bucket=emulator.data_bucket, Key="raw/numbers/numbers.txt", Body=b"1 2 3 4 5"
    )
    record = runner.run()

    assert record.steps["Make"].cached
    assert record.steps["Make"].property_files == {"Report": {"score": 10}}  # the old data's
    assert record.steps["Fit"].cached


def test_a_changed_key_argument_runs_the_step_and_those_after_it_again(
    runner: LocalRunner, emulator: Settings
):
    runner.run()
    s3 = boto3.client("s3")
    s3.put_object(Bucket=emulator.data_bucket, Key="raw/other/numbers.txt", Body=b"1 2 3 4 5")
    record = runner.run({"InputUri": f"s3://{emulator.data_bucket}/raw/other/numbers.txt"})

    assert not record.steps["Make"].cached
    assert record.steps["Make"].property_files == {"Report": {"score": 15}}
    # Make's outputs are new objects (under this execution), so Fit's channel changed too.
    assert not record.steps["Fit"].cached
    again = runner.run({"Epochs": "4"})  # a hyperparameter is a key argument of training
    assert again.steps["Make"].cached
    assert not again.steps["Fit"].cached


def test_a_failing_condition_ends_in_the_fail_step_with_its_message(runner: LocalRunner):
    record = runner.run({"MinScore": "11"})

    assert record.status == FAILED
    assert record.failure_reason == "TooLow: score 10 is below 11.0"
    assert record.steps["Publish"].status == NOT_EXECUTED
    assert record.steps["Check"].properties == {"Outcome": "False"}


def test_a_failing_script_stops_the_run_and_can_be_resumed(runner: LocalRunner, emulator: Settings):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=emulator.data_bucket, Key="raw/numbers/numbers.txt", Body=b"bad data")
    failed = runner.run()

    assert failed.status == FAILED
    assert "make.py exited with code 3" in (failed.failure_reason or "")
    assert "check failed: the numbers are bad" in (failed.failure_reason or "")
    assert failed.steps["Fit"].status == NOT_EXECUTED
    assert not list(
        s3.list_objects_v2(Bucket=emulator.data_bucket, Prefix="runs/").get("Contents", [])
    )

    s3.put_object(Bucket=emulator.data_bucket, Key="raw/numbers/numbers.txt", Body=b"5 6")
    resumed = runner.resume(load_run(runner.state_dir))

    assert resumed.execution_id == failed.execution_id
    assert resumed.status == SUCCEEDED
    assert resumed.steps["Make"].property_files == {"Report": {"score": 11}}
    with pytest.raises(PipelineError, match="already succeeded"):
        runner.resume(resumed)


def test_missing_input_data_fails_with_the_uri(runner: LocalRunner, emulator: Settings):
    record = runner.run({"InputUri": f"s3://{emulator.data_bucket}/raw/nothing-here"})

    assert record.status == FAILED
    assert record.failure_reason == (
        f"Make: no S3 objects found under s3://{emulator.data_bucket}/raw/nothing-here"
    )


def test_requirements_the_environment_lacks_are_named(runner: LocalRunner, emulator: Settings):
    upload_code(emulator.data_bucket, requirements="numpy>=1.0\nno-such-package-xyz==1.0\n")
    record = runner.run()

    assert record.status == FAILED
    assert "no-such-package-xyz==1.0 (not installed)" in (record.failure_reason or "")
    assert "numpy" not in (record.failure_reason or "")


def test_resume_without_a_failed_run_says_so(emulator: Settings):
    with pytest.raises(PipelineError, match="no failed local execution to resume"):
        load_run(emulator.state_dir)
    with pytest.raises(PipelineError, match="no local execution 'abc'"):
        load_run(emulator.state_dir, "abc")
