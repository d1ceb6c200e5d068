"""The feedback loop's review and training side, end to end: a review's accepted samples start
the next execution through the normal trigger, and that execution trains and tests on them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import numpy as np
import pytest
from typer.testing import CliRunner

from playground import data
from playground import feedback as fb
from playground.cli import app
from support.live_emulator import live_stack, settle
from support.pending_feedback import put_many, real_digits, sample_id

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mnist"
cli = CliRunner()
# One epoch on 1,000 digits and no bar to pass: this is about which data the run saw.
QUICK = {
    "Epochs": "1",
    "AccuracyThreshold": "0",
    "MinClassRecall": "0",
    "MinVariationAccuracy": "0",
    "MinParityAgreement": "0",
    "MaxModelSizeBytes": "10000000",  # one epoch: int8 may not be kept
}


def npz_from_s3(uri: str, name: str) -> dict[str, np.ndarray]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    body = boto3.client("s3").get_object(Bucket=bucket, Key=f"{prefix.rstrip('/')}/{name}")
    with np.load(io.BytesIO(body["Body"].read())) as archive:
        return {key: archive[key] for key in archive.files}


@pytest.mark.slow
def test_accepted_feedback_reaches_the_next_executions_dataset_and_rejected_does_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with live_stack(monkeypatch, tmp_path) as live:
        data.seed(live, str(FIXTURES))  # before the triggers: starts nothing
        params = [arg for k, v in QUICK.items() for arg in ("--trigger-param", f"{k}={v}")]
        upserted = cli.invoke(app, ["pipeline", "upsert", *params])
        assert upserted.exit_code == 0, upserted.output
        images, labels = real_digits(40)
        bodies = put_many(live.data_bucket, images, labels)
        rejected = [38, 39]

        shown = fb.show(live, fb.list_pending(live))  # the grid the reviewer looks at
        decision = ["--review", shown.review, "--accept", "0-37", "--reject", "38,39"]
        review = cli.invoke(app, ["feedback", "review", *decision, "--reviewer", "Ada"])

        assert review.exit_code == 0, review.output
        [execution] = settle(live, 1, timeout=900)
        assert execution["PipelineExecutionStatus"] == "Succeeded", execution
        version = data.list_versions(live)[-1]
        assert version.manifest_key in execution["PipelineExecutionDescription"]

        runs = Path(live.state_dir) / "pipeline-runs"
        [record_file] = runs.glob("*/run.json")
        record = json.loads(record_file.read_text())
        outputs = {
            o["OutputName"]: o["S3Output"]["S3Uri"]
            for o in record["steps"]["PrepareData"]["properties"]["ProcessingOutputConfig"][
                "Outputs"
            ]
        }
        splits = {
            name: npz_from_s3(outputs[name], f"{name}.npz")
            for name in ("train", "validation", "test")
        }
        seen = {
            image.tobytes(): (name, int(label))
            for name, split in splits.items()
            for image, label in zip(split["images"], split["labels"], strict=True)
        }
        # Every accepted sample is in the prepared dataset, under the label the person gave.
        for index in range(38):
            assert seen.get(images[index].tobytes(), (None, None))[1] == int(labels[index])
        for index in rejected:
            assert images[index].tobytes() not in seen
        in_test = splits["test"]["feedback"]
        assert int(in_test.sum()) == sum(seen[images[i].tobytes()][0] == "test" for i in range(38))
        evaluation = record["steps"]["EvaluateModel"]["property_files"]["Evaluation"]
        assert evaluation["feedback"]["test_count"] == int(in_test.sum()) > 0
        # The registry entry carries the feedback accuracy and the version it came from.
        sagemaker = boto3.client("sagemaker")
        [summary] = sagemaker.list_model_packages(ModelPackageGroupName=live.model_package_group)[
            "ModelPackageSummaryList"
        ]
        metadata = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])[
            "CustomerMetadataProperties"
        ]
        assert metadata["dataset_version"] == version.version
        assert metadata["feedback_test_count"] == str(int(in_test.sum()))
        assert 0 <= float(metadata["feedback_test_accuracy"]) <= 1
        assert version.feedback["accepted"] == [sample_id(b) for b in bodies[:38]]
