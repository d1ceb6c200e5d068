"""The MNIST continuous-training pipeline, defined once with the SageMaker Python SDK v3.

resolve -> prepare -> train -> evaluate -> gate -> register. SageMaker Pipelines runs this
definition in AWS; `localaws.local_runner` runs the JSON it produces on one machine. The step
scripts live in `code/` and are shipped as one source bundle, so they can share small modules
(`idx.py`), at a content-addressed S3 prefix (`step_code`): the same commit gives the same
definition, byte for byte, and the step cache survives a deploy.

This module holds the definition only. Building it needs the execution role (created by the
stack bootstrap, `playground.stack.ensure_execution_role`) and is cached by the CLI
(`playground.definition_cache`). The SDK is imported lazily inside `build_pipeline`: it takes
seconds to import and creates boto3 clients on import, so a region must be set first and
cheap commands stay cheap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_settings import Settings
from pipelines.mnist import step_code
from pipelines.mnist.code.gates import GATES

if TYPE_CHECKING:
    from sagemaker.mlops.workflow.pipeline import Pipeline

CODE_DIR = Path(__file__).parent / "code"

# Step names: the local runner, the CLI summary and the tests refer to them.
RESOLVE = "ResolveDataset"
PREPARE = "PrepareData"
TRAIN = "TrainModel"
EVALUATE = "EvaluateModel"
GATE = "ModelGate"
FAIL = "GateFailed"
REGISTER = "RegisterModel"

# The container image of every job: SageMaker's PyTorch training image, CPU, the newest the
# installed SDK lists (`sagemaker/core/image_uri_config/pytorch.json`) and in support. The
# workspace pins torch to FRAMEWORK_VERSION and code/requirements.txt pins the rest exactly,
# so the local runner runs the steps with the image's libraries (tests/unit/pipelines/mnist/
# test_libraries.py fails when they drift apart). The workspace's Python stays 3.11.
FRAMEWORK = "pytorch"
FRAMEWORK_VERSION = "2.10.0"
PY_VERSION = "py313"
IMAGE_INSTANCE_TYPE = "ml.m5.xlarge"

# Training and the split use the scripts' own defaults (seed, split fractions, augmentation:
# one place each, in train.py and prepare.py); the epoch count is a parameter because it
# trades time for accuracy.

# Step results are reused for 30 days when a step's arguments are unchanged: SageMaker keys
# its cache on the arguments (for a processing job AppSpecification, Environment and
# ProcessingInputs; for training AlgorithmSpecification, HyperParameters, InputDataConfig, ...)
# and never looks at the data behind an S3 URI. So the dataset version is in the arguments:
# resolve (never cached) turns the DatasetManifestKey parameter (latest.json by default) into
# the version's own manifest key, which prepare, evaluate and register read. A new version is
# a new key, hence no cache hit; a run without new data reuses prepare and train.
# Evaluate (reads the champion from the registry) and register (writes to it) depend on more
# than their inputs, so they are never cached: a cached comparison could name a champion that
# is no longer the newest approved, a cached registration a package that was deleted.
CACHE_EXPIRY = "P30D"

STEP_FILES = ("resolve.py", "prepare.py", "train.py", "evaluate.py", "register.py")
EVALUATION_FILE = "evaluation.json"
# Step output names (ProcessingOutput.OutputName), shared with the CLI that reads them back
# from an execution's step properties (playground.commands.pipeline).
PREPARED_SPLITS = ("train", "validation", "test")
REPORT_OUTPUT = "report"  # prepare's report; register reads the dataset manifest from it
EVALUATION_OUTPUT = "evaluation"  # evaluate's evaluation.json and its pictures
MODEL_OUTPUT = "model"
REGISTRATION_OUTPUT = "registration"
DATASET_FILE = "dataset.json"  # resolve's property file (code/resolve.py)
# Training metrics SageMaker reads from the job's log (shown in the console and CloudWatch):
# train.py prints one line per epoch, `epoch=3 loss=0.1234 train_accuracy=0.9612 val_loss=...
# val_accuracy=0.9801 seconds=12.3`. A test runs train.py and matches each expression.
METRIC_DEFINITIONS = (
    ("train:loss", r"epoch=\d+ loss=([0-9.eE+-]+)"),
    ("train:accuracy", r"train_accuracy=([0-9.eE+-]+)"),
    ("validation:loss", r"val_loss=([0-9.eE+-]+)"),
    ("validation:accuracy", r"val_accuracy=([0-9.eE+-]+)"),
)
# Where a processing job finds the dataset manifest (prepare fetches the objects it names).
DATASET_DIR = "/opt/ml/processing/input/dataset"


@dataclass(frozen=True)
class Parameter:
    """One pipeline parameter: its name, type, default and meaning."""

    name: str
    type: str  # "String" | "Integer" | "Float"
    default: str | int | float
    description: str
    enum: tuple[str, ...] = ()


def parameter_defaults(settings: Settings) -> list[Parameter]:
    """The pipeline's parameters and their defaults (the local defaults)."""
    return [
        Parameter(
            "DatasetManifestKey",
            "String",
            f"{settings.raw_prefix}/latest.json",
            "key of the dataset version's manifest in the data bucket (default: the newest)",
        ),
        Parameter("AccuracyThreshold", "Float", 0.985, "lowest test accuracy (0-1) that passes"),
        Parameter(
            "MinClassRecall",
            "Float",
            0.95,
            "lowest recall (0-1) of any one digit on the test split",
        ),
        Parameter(
            "ChampionSignificance",
            "Float",
            0.05,
            "refuse a model McNemar's exact test finds worse than the champion at this level",
        ),
        Parameter(
            "MinParityAgreement",
            "Float",
            0.995,
            "lowest argmax agreement (0-1) of the shipped ONNX file with the PyTorch weights",
        ),
        Parameter(
            "MaxParityLogitDiff",
            "Float",
            0.001,
            "largest logit difference of the fp32 ONNX export from the PyTorch weights",
        ),
        Parameter(
            "MaxModelSizeBytes",
            "Integer",
            120 * 1024,
            "size budget of the shipped ONNX file (what the browser downloads)",
        ),
        Parameter(
            "MinVariationAccuracy",
            "Float",
            0.97,
            "lowest test accuracy (0-1) under each variation of code/variations.py",
        ),
        Parameter("ProcessingInstanceType", "String", "ml.m5.xlarge", "processing jobs"),
        Parameter("TrainingInstanceType", "String", "ml.m5.xlarge", "the training job"),
        Parameter("Epochs", "Integer", 12, "training epochs"),
        Parameter("Quantize", "String", "true", "try int8 static quantization", ("true", "false")),
        Parameter(
            "ModelApprovalStatus",
            "String",
            "Approved",
            "status of a model that passes the gate (run --approval auto|manual sets it)",
            ("Approved", "PendingManualApproval"),
        ),
        Parameter("GitCommit", "String", "unknown", "code version that trains the model"),
        Parameter(
            "MlflowTrackingUri",
            "String",
            settings.mlflow_tracking_uri,
            "MLflow tracking server (URL or SageMaker managed server ARN); empty: not logged",
        ),
    ]


# The approval mode as a status: a definition has no if-expression to map "auto"/"manual" at
# run time, and register runs only after the gate passed, so "auto" is simply "Approved".
APPROVAL_STATUS_BY_MODE = {"auto": "Approved", "manual": "PendingManualApproval"}


def build_pipeline(settings: Settings, role: str, code_dir: Path = CODE_DIR) -> Pipeline:
    """Build the pipeline object; producing its definition uploads the step code to S3.

    Args:
        settings: where things are (region, buckets, group, pipeline name).
        role: ARN of the SageMaker execution role the jobs run as.
        code_dir: folder holding the step scripts and their requirements.txt.
    """
    for script in STEP_FILES:
        if not (code_dir / script).is_file():
            raise FileNotFoundError(f"step code {code_dir / script} is missing")
    _prepare_sdk_environment(settings)

    with _sdk_manners():  # its import configures the root logger
        import boto3
        from sagemaker.core import image_uris
        from sagemaker.core.processing import FrameworkProcessor
        from sagemaker.core.shapes import (
            MetricDefinition,
            ProcessingInput,
            ProcessingOutput,
            ProcessingS3Input,
            ProcessingS3Output,
        )
        from sagemaker.core.workflow.conditions import (
            ConditionGreaterThanOrEqualTo,
            ConditionLessThanOrEqualTo,
        )

        comparisons = {">=": ConditionGreaterThanOrEqualTo, "<=": ConditionLessThanOrEqualTo}
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join, JsonGet
        from sagemaker.core.workflow.parameters import (
            ParameterFloat,
            ParameterInteger,
            ParameterString,
        )
        from sagemaker.core.workflow.pipeline_context import PipelineSession
        from sagemaker.core.workflow.properties import PropertyFile
        from sagemaker.mlops.workflow.condition_step import ConditionStep
        from sagemaker.mlops.workflow.fail_step import FailStep
        from sagemaker.mlops.workflow.pipeline import Pipeline
        from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep, TrainingStep
        from sagemaker.train import ModelTrainer
        from sagemaker.train.configs import Compute, InputData, SourceCode

    _quiet_sdk_logs()

    # What the SDK uploads goes to a throwaway staging prefix; `definition` moves what the
    # definition points at to content-addressed prefixes (step_code.pin_staged_code).
    session = PipelineSession(
        boto_session=boto3.Session(region_name=settings.region),
        default_bucket=settings.data_bucket,
        default_bucket_prefix=staging_prefix(settings),
    )
    kinds = {"String": ParameterString, "Integer": ParameterInteger, "Float": ParameterFloat}
    params: dict[str, Any] = {}
    for spec in parameter_defaults(settings):
        if spec.enum:
            params[spec.name] = ParameterString(spec.name, str(spec.default), list(spec.enum))
        else:
            params[spec.name] = kinds[spec.type](spec.name, spec.default)

    image = image_uris.retrieve(
        framework=FRAMEWORK,
        region=settings.region,
        version=FRAMEWORK_VERSION,
        py_version=PY_VERSION,
        instance_type=IMAGE_INSTANCE_TYPE,
        image_scope="training",
    )
    cache = CacheConfig(enable_caching=True, expire_after=CACHE_EXPIRY)
    never_cached = CacheConfig(enable_caching=False)
    s3 = boto3.client("s3", region_name=settings.region)
    source = step_code.upload_bundle(s3, code_dir, settings.data_bucket, code_prefix(settings))
    # Extra packages the framework image lacks (onnxruntime, ...), installed by the container.
    requirements = "requirements.txt" if (code_dir / "requirements.txt").is_file() else None

    def output_uri(step: str, name: str) -> Any:
        return Join(
            on="/",
            values=[
                f"s3://{settings.data_bucket}/pipelines/{settings.pipeline_name}/executions",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                name,
            ],
        )

    def s3_input(name: str, uri: Any, local_path: str) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
            ),
        )

    def s3_output(step: str, name: str, local_path: str) -> Any:
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=output_uri(step, name), local_path=local_path, s3_upload_mode="EndOfJob"
            ),
        )

    def text(parameter: Any) -> Any:
        # Container arguments and hyperparameters are strings: SageMaker refuses an Integer
        # or Float parameter there; `.to_string()` (a Std:Join) is a string.
        return parameter if isinstance(parameter, ParameterString) else parameter.to_string()

    def processor(base_job_name: str) -> Any:
        return FrameworkProcessor(
            image_uri=image,
            role=role,
            instance_count=1,
            instance_type=params["ProcessingInstanceType"],
            command=["python3"],
            base_job_name=base_job_name,
            sagemaker_session=session,
        )

    # The input is one dataset version: its manifest, which names the exact raw objects. By
    # default the newest (latest.json, which every trigger uses); a person may name another.
    # 0. Resolve (never cached): which version that is, as its own manifest's key, so that
    # the arguments of every step reading the data change with the version (see CACHE_EXPIRY).
    resolved = PropertyFile(name="Dataset", output_name="dataset", path=DATASET_FILE)
    resolve = ProcessingStep(
        name=RESOLVE,
        description="Name the dataset version this run trains on (its manifest's key).",
        step_args=processor("mnist-resolve").run(
            code="resolve.py",
            source_dir=source,
            inputs=[
                s3_input(
                    "dataset",
                    Join(
                        on="",
                        values=[f"s3://{settings.data_bucket}/", params["DatasetManifestKey"]],
                    ),
                    DATASET_DIR,
                )
            ],
            outputs=[s3_output(RESOLVE, "dataset", "/opt/ml/processing/output/dataset")],
            arguments=["--raw-prefix", settings.raw_prefix],
        ),
        property_files=[resolved],
        cache_config=never_cached,
    )
    manifest_uri = Join(
        on="",
        values=[
            f"s3://{settings.data_bucket}/",
            JsonGet(step_name=RESOLVE, property_file=resolved, json_path="manifest_key"),
        ],
    )
    dataset_input = s3_input("dataset", manifest_uri, DATASET_DIR)

    # 1. Prepare: validate the raw IDX files (non-zero exit on bad data) and split them by
    # each image's content hash.
    prepare_outputs = [*PREPARED_SPLITS, REPORT_OUTPUT]
    prepare = ProcessingStep(
        name=PREPARE,
        description="Validate the raw MNIST files and split them into train/validation/test.",
        step_args=processor("mnist-prepare").run(
            code="prepare.py",
            source_dir=source,
            requirements=requirements,
            inputs=[dataset_input],
            outputs=[
                s3_output(PREPARE, name, f"/opt/ml/processing/output/{name}")
                for name in prepare_outputs
            ],
            arguments=["--dataset-dir", DATASET_DIR],
        ),
        cache_config=cache,
    )

    def prepared(name: str) -> Any:
        return prepare.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri

    # 2. Train: script mode; channels become SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION.
    trainer = ModelTrainer(
        training_image=image,
        role=role,
        sagemaker_session=session,
        base_job_name="mnist-train",
        source_code=SourceCode(
            source_dir=source, requirements=requirements, entry_script="train.py"
        ),
        compute=Compute(instance_type=params["TrainingInstanceType"], instance_count=1),
        hyperparameters={"epochs": text(params["Epochs"])},
        output_data_config=_output_data_config(
            f"s3://{settings.data_bucket}/pipelines/{settings.pipeline_name}/training"
        ),
    )
    trainer = trainer.with_metric_definitions(
        [MetricDefinition(name=name, regex=regex) for name, regex in METRIC_DEFINITIONS]
    )
    train = TrainingStep(
        name=TRAIN,
        description="Train the CNN and export it to ONNX.",
        step_args=trainer.train(
            input_data_config=[
                InputData(channel_name="train", data_source=prepared("train")),
                InputData(channel_name="validation", data_source=prepared("validation")),
            ]
        ),
        cache_config=cache,
    )

    # 3. Evaluate: int8 (calibrated on train, chosen on validation), then accuracy, recall,
    # parity and size of the shipped file on test, and McNemar's test against the champion.
    evaluation = PropertyFile(
        name="Evaluation", output_name=EVALUATION_OUTPUT, path=EVALUATION_FILE
    )
    evaluate = ProcessingStep(
        name=EVALUATE,
        description="int8, then the shipped file's accuracy, parity and size; the champion.",
        step_args=processor("mnist-evaluate").run(
            code="evaluate.py",
            source_dir=source,
            requirements=requirements,
            inputs=[
                s3_input(
                    "model",
                    train.properties.ModelArtifacts.S3ModelArtifacts,
                    "/opt/ml/processing/model",
                ),
                *(
                    s3_input(split, prepared(split), f"/opt/ml/processing/{split}")
                    for split in PREPARED_SPLITS
                ),
                s3_input("manifest", prepared(REPORT_OUTPUT), "/opt/ml/processing/manifest"),
                dataset_input,
            ],
            outputs=[
                s3_output(EVALUATE, EVALUATION_OUTPUT, "/opt/ml/processing/evaluation"),
                s3_output(EVALUATE, MODEL_OUTPUT, "/opt/ml/processing/output/model"),
            ],
            arguments=[
                "--model-package-group",
                settings.model_package_group,
                "--quantize",
                params["Quantize"],
                "--champion-significance",
                text(params["ChampionSignificance"]),
                # The run report: the gate's limits, lineage, and where earlier outputs came
                # from (a cached step's URIs name the execution that produced them).
                *(
                    item
                    for parameter in dict.fromkeys(gate.parameter for gate in GATES)
                    for item in ("--gate-limit", parameter, text(params[parameter]))
                ),
                "--model-bucket",
                settings.model_bucket,
                "--pipeline-execution-id",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                "--git-commit",
                params["GitCommit"],
                "--approval-status",
                params["ModelApprovalStatus"],
                "--dataset-dir",
                DATASET_DIR,
                "--prepare-uri",
                prepared(REPORT_OUTPUT),
                "--model-uri",
                train.properties.ModelArtifacts.S3ModelArtifacts,
                "--mlflow-tracking-uri",
                params["MlflowTrackingUri"],
                "--execution-started-at",
                ExecutionVariables.START_DATETIME,
                "--region",
                settings.region,
            ],
        ),
        property_files=[evaluation],
        cache_config=never_cached,
    )

    def measured(path: str) -> Any:
        return JsonGet(step_name=EVALUATE, property_file=evaluation, json_path=path)

    # 5. Register: a processing step rather than a ModelStep, because the registry entry
    # carries metadata computed at run time (sha256, size, accuracy, dataset hash) that a
    # ModelStep cannot read from a file; register.py creates the model package with boto3.
    register = ProcessingStep(
        name=REGISTER,
        description="Upload the ONNX model and create its model package in the registry.",
        step_args=processor("mnist-register").run(
            code="register.py",
            source_dir=source,
            requirements=requirements,
            inputs=[
                s3_input(
                    "model",
                    evaluate.properties.ProcessingOutputConfig.Outputs[MODEL_OUTPUT].S3Output.S3Uri,
                    "/opt/ml/processing/model",
                ),
                s3_input(
                    "evaluation",
                    evaluate.properties.ProcessingOutputConfig.Outputs[
                        EVALUATION_OUTPUT
                    ].S3Output.S3Uri,
                    "/opt/ml/processing/evaluation",
                ),
                s3_input("manifest", prepared(REPORT_OUTPUT), "/opt/ml/processing/manifest"),
                dataset_input,
            ],
            outputs=[
                s3_output(REGISTER, REGISTRATION_OUTPUT, "/opt/ml/processing/output/registration")
            ],
            arguments=[
                "--model-package-group",
                settings.model_package_group,
                "--model-bucket",
                settings.model_bucket,
                "--approval-status",
                params["ModelApprovalStatus"],
                "--git-commit",
                params["GitCommit"],
                "--pipeline-execution-id",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                "--dataset-dir",
                DATASET_DIR,
                "--mlflow-tracking-uri",
                params["MlflowTrackingUri"],
                "--execution-started-at",
                ExecutionVariables.START_DATETIME,
                "--region",
                settings.region,
            ],
        ),
        cache_config=never_cached,
    )

    # 4. Gate: every check must hold, otherwise the run fails with all measured values.
    message: list[Any] = ["model gate failed:"]
    for number, check in enumerate(GATES):
        separator = ";" if number else ""
        message += [f"{separator} {check.label} ", measured(check.measured)]
        message += [f" (needs {check.comparison} ", params[check.parameter], ")"]
    # The evaluate step wrote the run report there (evaluate.report_locations).
    message += [
        f"; report: s3://{settings.model_bucket}/reports/",
        ExecutionVariables.PIPELINE_EXECUTION_ID,
        "/report.html",
    ]
    fail = FailStep(name=FAIL, error_message=Join(on="", values=message))
    gate = ConditionStep(
        name=GATE,
        description=(
            "Accuracy, per-digit recall, champion, parity, size and accuracy under variations "
            "of the shipped file."
        ),
        conditions=[
            comparisons[g.comparison](left=measured(g.measured), right=params[g.parameter])
            for g in GATES
        ],
        if_steps=[register],
        else_steps=[fail],
    )

    return Pipeline(
        name=settings.pipeline_name,
        parameters=list(params.values()),
        steps=[resolve, prepare, train, evaluate, gate],
        sagemaker_session=session,
    )


def _output_data_config(s3_uri: str) -> Any:
    from sagemaker.core.shapes import OutputDataConfig

    return OutputDataConfig(s3_output_path=s3_uri)


def _prepare_sdk_environment(settings: Settings) -> None:
    import os

    # The SDK checks the role with IAM calls the emulator lacks; the caller has made sure
    # the role exists (playground.stack.ensure_execution_role).
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    # The SDK creates boto3 clients when imported; they need a region.
    os.environ.setdefault("AWS_DEFAULT_REGION", settings.region)
    _quiet_sdk_logs()


def _quiet_sdk_logs() -> None:
    import logging

    # The SDK logs every client's endpoint lookup at INFO; the CLI's output is the definition.
    # `sagemaker.config` gets a level of its own (INFO, config_utils.py) unless one is set:
    # it would say where it did not find SDK defaults files, on every build.
    for name in ("botocore", "boto3", "sagemaker", "sagemaker.config"):
        logging.getLogger(name).setLevel(logging.WARNING)


# What the SDK says of every definition, by design (sagemaker 3.x): a PipelineSession starts
# no job (core/workflow/pipeline_context.py), and job names are left out because SageMaker
# names each execution's jobs (core/workflow/utilities.py, DEF_CONFIG_WARN_MSG_TEMPLATE).
_SDK_SESSION_NOTE = "Running within a PipelineSession"
_SDK_JOB_NAME_NOTE = "Popping out '%s' from the pipeline definition by default"


class _WithoutJobNameNote(logging.Filter):
    """Drops the SDK's note that a step's job name is left out of the definition."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_SDK_JOB_NAME_NOTE)


@contextlib.contextmanager
def _sdk_manners() -> Iterator[None]:
    """Keep the SageMaker SDK from speaking for this process; its real warnings still show.

    Importing the SDK calls ``logging.basicConfig(level=INFO)`` (sagemaker/core/experiments/
    _metrics.py), which would print every library's INFO records on stderr: the root logger's
    handlers and level are put back as they were. The two notes the SDK gives on every
    definition (`_SDK_SESSION_NOTE`, `_SDK_JOB_NAME_NOTE`) describe what a definition is and
    are dropped; any other warning of the SDK, and every warning of this project, stays.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    job_names = logging.getLogger("sagemaker.core.workflow.utilities")
    note_filter = _WithoutJobNameNote()
    job_names.addFilter(note_filter)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_SDK_SESSION_NOTE, category=UserWarning)
            yield
    finally:
        job_names.removeFilter(note_filter)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def staging_prefix(settings: Settings) -> str:
    """Where the SDK uploads while building (a lifecycle rule expires it after a day)."""
    return f"pipelines/{settings.pipeline_name}/staging"


def code_prefix(settings: Settings) -> str:
    """Where step code lives, one `<sha256>/` prefix per distinct content."""
    return f"pipelines/{settings.pipeline_name}/code"


def definition(settings: Settings, role: str, code_dir: Path = CODE_DIR) -> dict[str, Any]:
    """The pipeline definition as a dict; producing it uploads the step code to S3.

    Every S3 URI of step code in it is content-addressed (`step_code`), so the same code,
    settings and role give the same definition.
    """
    import boto3

    with _sdk_manners():
        document = json.loads(build_pipeline(settings, role, code_dir).definition())
    s3 = boto3.client("s3", region_name=settings.region)
    return step_code.pin_staged_code(
        s3, document, settings.data_bucket, staging_prefix(settings), code_prefix(settings)
    )


def with_defaults(document: dict[str, Any], defaults: dict[str, str]) -> dict[str, Any]:
    """A copy of the definition whose named parameters have these default values.

    Used for the commit: a run started without parameters (EventBridge, the schedule, the
    console) then still records which code it runs.

    Raises:
        KeyError: the definition has no parameter of that name.
    """
    copy = json.loads(json.dumps(document))
    declared = {p["Name"]: p for p in copy.get("Parameters", [])}
    for name, value in defaults.items():
        declared[name]["DefaultValue"] = value
    return dict(copy)
