"""The pipeline definition: six stages wired in order, with the parameters."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import boto3
import pytest

from mlops_settings import Settings
from pipelines.mnist import pipeline
from playground import definition_cache, stack

GATE_CHECKS = [
    ("GreaterThanOrEqualTo", "metrics.accuracy.value", "AccuracyThreshold"),
    ("GreaterThanOrEqualTo", "metrics.min_class_recall.value", "MinClassRecall"),
    ("GreaterThanOrEqualTo", "champion.p_value_worse", "ChampionSignificance"),
    ("GreaterThanOrEqualTo", "parity.argmax_agreement", "MinParityAgreement"),
    ("LessThanOrEqualTo", "parity.fp32_max_abs_logit_diff", "MaxParityLogitDiff"),
    ("LessThanOrEqualTo", "model.size_bytes", "MaxModelSizeBytes"),
    *(
        ("GreaterThanOrEqualTo", f"robustness.{name}.accuracy", "MinVariationAccuracy")
        for name in (
            "shift",
            "scale",
            "rotation",
            "shear",
            "thin",
            "thick",
            "broken",
            "blur",
            "low_resolution",
            "noise",
        )
    ),
]


def get(name: str) -> dict:
    return {"Get": name}


def output_of(step: str, name: str) -> dict:
    return get(f"Steps.{step}.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri")


def inputs(step: dict) -> dict:
    return {i["InputName"]: i["S3Input"] for i in step["Arguments"]["ProcessingInputs"]}


def outputs(step: dict) -> dict:
    items = step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    return {o["OutputName"]: o["S3Output"]["LocalPath"] for o in items}


def json_get(step: str, file: str, path: str) -> dict:
    return {
        "Std:JsonGet": {"PropertyFile": get(f"Steps.{step}.PropertyFiles.{file}"), "Path": path}
    }


def test_definition_wires_six_stages_in_order_with_the_parameters(emulator: Settings):
    role_arn = stack.ensure_execution_role(emulator)
    document = pipeline.definition(emulator, role_arn)

    parameters = {p["Name"]: p for p in document["Parameters"]}
    assert parameters["DatasetManifestKey"]["DefaultValue"] == f"{emulator.raw_prefix}/latest.json"
    assert parameters["AccuracyThreshold"] == {
        "Name": "AccuracyThreshold",
        "Type": "Float",
        "DefaultValue": 0.985,
    }
    assert parameters["ModelApprovalStatus"]["EnumValues"] == ["Approved", "PendingManualApproval"]
    assert parameters["ModelApprovalStatus"]["DefaultValue"] == "Approved"
    # The browser downloads the whole file: the budget is what it should download.
    assert parameters["MaxModelSizeBytes"]["DefaultValue"] == 120 * 1024
    # Issue 21: at least 97% of the test digits read right under each variation.
    assert parameters["MinVariationAccuracy"] == {
        "Name": "MinVariationAccuracy",
        "Type": "Float",
        "DefaultValue": 0.97,
    }
    for name in (
        "MinClassRecall",
        "ChampionSignificance",
        "MinParityAgreement",
        "MaxParityLogitDiff",
        "MaxModelSizeBytes",
        "ProcessingInstanceType",
        "TrainingInstanceType",
        "Epochs",
        "Quantize",
        "GitCommit",
    ):
        assert name in parameters

    resolve, prepare, train, evaluate, gate = document["Steps"]
    assert [(s["Name"], s["Type"]) for s in document["Steps"]] == [
        ("ResolveDataset", "Processing"),
        ("PrepareData", "Processing"),
        ("TrainModel", "Training"),
        ("EvaluateModel", "Processing"),
        ("ModelGate", "Condition"),
    ]
    [register] = gate["Arguments"]["IfSteps"]
    [fail] = gate["Arguments"]["ElseSteps"]
    assert (register["Name"], register["Type"]) == ("RegisterModel", "Processing")
    assert (fail["Name"], fail["Type"]) == ("GateFailed", "Fail")
    for step in (prepare, train):
        assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
    # Resolve names the dataset version (it must run every time); evaluate reads the champion
    # from the registry and register writes to it: never cached, so a comparison never names a
    # stale champion and a deleted package is registered again.
    for step in (resolve, evaluate, register):
        assert not step.get("CacheConfig", {}).get("Enabled")

    # 0. resolve reads the manifest the parameter names (latest.json by default) and writes
    # the version's own manifest key to a property file.
    assert inputs(resolve)["dataset"]["S3Uri"] == {
        "Std:Join": {
            "On": "",
            "Values": [f"s3://{emulator.data_bucket}/", get("Parameters.DatasetManifestKey")],
        }
    }
    assert resolve["PropertyFiles"] == [
        {"PropertyFileName": "Dataset", "OutputName": "dataset", "FilePath": "dataset.json"}
    ]
    # 1. prepare reads that version's manifest, so its arguments (SageMaker's cache key) name
    # the version; it writes four outputs. Evaluate and register read the same manifest.
    manifest_uri = {
        "Std:Join": {
            "On": "",
            "Values": [
                f"s3://{emulator.data_bucket}/",
                json_get("ResolveDataset", "Dataset", "manifest_key"),
            ],
        }
    }
    assert inputs(prepare)["dataset"]["S3Uri"] == manifest_uri
    assert inputs(evaluate)["dataset"]["S3Uri"] == manifest_uri
    assert inputs(register)["dataset"]["S3Uri"] == manifest_uri
    # The split fractions and seeds live in the scripts alone: the dataset is the only argument.
    assert prepare["Arguments"]["AppSpecification"]["ContainerArguments"] == [
        "--dataset-dir",
        "/opt/ml/processing/input/dataset",
    ]
    assert outputs(prepare) == {
        name: f"/opt/ml/processing/output/{name}"
        for name in ("train", "validation", "test", "report")
    }
    # 2. train: channels from prepare, epochs from the parameter, script mode.
    arguments = train["Arguments"]
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
        for c in arguments["InputDataConfig"]
    }
    assert channels["train"] == output_of("PrepareData", "train")
    assert channels["validation"] == output_of("PrepareData", "validation")
    # Hyperparameters are strings: the Integer parameter goes in as its text (a Std:Join).
    assert arguments["HyperParameters"]["epochs"] == {
        "Std:Join": {"On": "", "Values": [get("Parameters.Epochs")]}
    }
    # SageMaker and CloudWatch show the metrics train.py prints.
    assert {m["Name"] for m in arguments["AlgorithmSpecification"]["MetricDefinitions"]} == {
        "train:loss",
        "train:accuracy",
        "validation:loss",
        "validation:accuracy",
    }
    assert "seed" not in arguments["HyperParameters"]
    assert arguments["ResourceConfig"]["InstanceType"] == get("Parameters.TrainingInstanceType")
    # 3. evaluate: the trained model, the three splits and prepare's manifest.
    assert inputs(evaluate)["model"]["S3Uri"] == get(
        "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"
    )
    for split in ("train", "validation", "test"):
        assert inputs(evaluate)[split]["S3Uri"] == output_of("PrepareData", split)
        assert inputs(evaluate)[split]["LocalPath"] == f"/opt/ml/processing/{split}"
    assert inputs(evaluate)["manifest"]["S3Uri"] == output_of("PrepareData", "report")
    assert inputs(evaluate)["dataset"]["LocalPath"] == "/opt/ml/processing/input/dataset"
    # ... and what its run report needs: every gate's limit, lineage, where inputs came from.
    args = evaluate["Arguments"]["AppSpecification"]["ContainerArguments"]
    limits = [args[i + 1 : i + 3] for i, arg in enumerate(args) if arg == "--gate-limit"]
    # Each limit once, though the variations' gates share theirs.
    assert limits == [
        [p, {"Std:Join": {"On": "", "Values": [get(f"Parameters.{p}")]}}]
        for p in dict.fromkeys(p for *_, p in GATE_CHECKS)
    ]
    flags = {
        arg: args[i + 1]
        for i, arg in enumerate(args)
        if isinstance(arg, str) and arg.startswith("--") and arg != "--gate-limit"
    }
    assert flags["--model-bucket"] == emulator.model_bucket
    assert flags["--region"] == emulator.region
    assert flags["--pipeline-execution-id"] == get("Execution.PipelineExecutionId")
    assert flags["--git-commit"] == get("Parameters.GitCommit")
    assert flags["--prepare-uri"] == output_of("PrepareData", "report")
    assert flags["--model-uri"] == get("Steps.TrainModel.ModelArtifacts.S3ModelArtifacts")
    # The MLflow run is the execution's: it starts when the execution started.
    assert flags["--mlflow-tracking-uri"] == get("Parameters.MlflowTrackingUri")
    assert flags["--execution-started-at"] == get("Execution.StartDateTime")
    assert evaluate["PropertyFiles"] == [
        {
            "PropertyFileName": "Evaluation",
            "OutputName": "evaluation",
            "FilePath": "evaluation.json",
        }
    ]
    # 4. the gate reads evaluation.json against the parameters.
    conditions = [
        (
            c["Type"],
            c["LeftValue"]["Std:JsonGet"]["Path"],
            c["RightValue"]["Get"].removeprefix("Parameters."),
        )
        for c in gate["Arguments"]["Conditions"]
    ]
    assert conditions == GATE_CHECKS
    message = str(fail["Arguments"]["ErrorMessage"])
    assert "model gate failed" in message
    for _, measured, parameter in GATE_CHECKS:  # every gate's number and limit is in it
        assert measured in message
        assert f"Parameters.{parameter}" in message
    assert f"report: s3://{emulator.model_bucket}/reports/" in message
    # 5. register: evaluate's model and report, approval, commit and execution id.
    assert inputs(register)["model"]["S3Uri"] == output_of("EvaluateModel", "model")
    assert inputs(register)["evaluation"]["S3Uri"] == output_of("EvaluateModel", "evaluation")
    args = register["Arguments"]["AppSpecification"]["ContainerArguments"]
    flags = dict(zip(args[::2], args[1::2], strict=True))
    assert flags == {
        "--model-package-group": emulator.model_package_group,
        "--model-bucket": emulator.model_bucket,
        "--approval-status": get("Parameters.ModelApprovalStatus"),
        "--git-commit": get("Parameters.GitCommit"),
        "--pipeline-execution-id": get("Execution.PipelineExecutionId"),
        "--dataset-dir": "/opt/ml/processing/input/dataset",
        "--mlflow-tracking-uri": get("Parameters.MlflowTrackingUri"),  # it ends the run
        "--execution-started-at": get("Execution.StartDateTime"),
        "--region": emulator.region,
    }

    # The step code went to S3 as one bundle holding every script, and no bytecode.
    bucket, _, key = inputs(prepare)["code"]["S3Uri"].removeprefix("s3://").partition("/")
    s3 = boto3.client("s3")
    bundle = s3.get_object(Bucket=bucket, Key=f"{key}sourcedir.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(bundle)) as archive:
        names = set(archive.getnames())
    assert {"resolve.py", "prepare.py", "train.py", "evaluate.py", "register.py"} <= names
    assert {"idx.py", "dataset.py"} <= names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert {"variations.py", "centreline.py"} <= names  # evaluate's robustness check needs them
    # The execution role now exists in the emulator.
    role = boto3.client("iam").get_role(RoleName=emulator.sagemaker_role_name)["Role"]
    assert register["Arguments"]["RoleArn"] == role["Arn"] == role_arn
    # The strict emulator checks a definition as CreatePipeline does: this one is accepted.
    boto3.client("sagemaker").create_pipeline(
        PipelineName=emulator.pipeline_name,
        PipelineDefinition=json.dumps(document),
        RoleArn=role_arn,
    )


def test_missing_step_code_is_named(emulator: Settings, tmp_path: Path):
    (tmp_path / "resolve.py").write_text("")
    (tmp_path / "prepare.py").write_text("")
    with pytest.raises(FileNotFoundError, match=r"train\.py is missing"):
        pipeline.build_pipeline(emulator, "arn:aws:iam::123456789012:role/x", tmp_path)


def test_two_builds_from_the_same_code_are_byte_identical(emulator: Settings, tmp_path: Path):
    """Content-addressed step code: a rebuild (a deploy) keeps the definition, so the cache.

    The first build is the CLI's, in a fresh process (as `make up` builds it): the SDK's notes
    and log lines (its import configures the root logger) do not reach the person.
    """
    role_arn = stack.ensure_execution_role(emulator)
    written = tmp_path / "definition.json"
    command = ["pipeline", "definition", "--rebuild", "-o", str(written)]
    built = subprocess.run(
        [sys.executable, "-m", "playground", *command, "--git-commit", "unknown"],  # as below
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert "".join(built.stderr.split()) == f"wrote{written}"  # rich wraps long paths
    first = json.dumps(json.loads(written.read_text()), sort_keys=True)
    # Bytecode next to the scripts (any test run writes it) changes nothing.
    cache = pipeline.CODE_DIR / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "stray.cpython-311.pyc").write_bytes(b"\x00bytecode")
    try:
        second = json.dumps(pipeline.definition(emulator, role_arn), sort_keys=True)
    finally:
        (cache / "stray.cpython-311.pyc").unlink()
    assert first == second
    code = {uri for uri in definition_cache.code_uris(json.loads(first))}
    assert code
    assert all(f"/pipelines/{emulator.pipeline_name}/code/" in uri for uri in code)
    # Every step's code is there to run, none of it bytecode.
    s3 = boto3.client("s3")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(
            Bucket=emulator.data_bucket, Prefix=f"pipelines/{emulator.pipeline_name}/code/"
        )["Contents"]
    ]
    assert keys
    assert not [k for k in keys if k.endswith(".pyc")]
    # A changed script is a new code prefix: a new definition.
    changed = tmp_path / "code"
    shutil.copytree(pipeline.CODE_DIR, changed, ignore=shutil.ignore_patterns("__pycache__"))
    (changed / "train.py").write_text((changed / "train.py").read_text() + "\n# changed\n")
    third = json.dumps(pipeline.definition(emulator, role_arn, changed), sort_keys=True)
    assert third != first
