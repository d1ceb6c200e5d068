"""The MNIST continuous-training pipeline, defined once with the SageMaker Python SDK v3.

prepare -> train -> evaluate -> gate -> register. SageMaker Pipelines runs this definition in
AWS; `pipelines.local_runner` runs the JSON it produces on one machine. The step scripts live
in `code/` and are shipped as one source bundle, so they can share small modules (`idx.py`).

The SDK is imported lazily inside `build_pipeline`: it takes seconds to import and creates
boto3 clients on import, so a region must be set first and cheap commands stay cheap.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_settings import Settings

if TYPE_CHECKING:
    from sagemaker.mlops.workflow.pipeline import Pipeline

CODE_DIR = Path(__file__).parent / "code"

# Step names: the local runner, the CLI summary and the tests refer to them.
PREPARE = "PrepareData"
TRAIN = "TrainModel"
EVALUATE = "EvaluateModel"
GATE = "ModelGate"
FAIL = "GateFailed"
REGISTER = "RegisterModel"

# The container image of every job: SageMaker's PyTorch CPU image for the Python we use.
FRAMEWORK = "pytorch"
FRAMEWORK_VERSION = "2.5.1"
PY_VERSION = "py311"
IMAGE_INSTANCE_TYPE = "ml.m5.xlarge"

# Training settings fixed in the definition (the rest are train.py's tuned defaults); the
# epoch count is a parameter because it trades time for accuracy.
HYPERPARAMETERS = {"seed": "42", "augment": "true"}
SPLIT_ARGUMENTS = ["--validation-fraction", "0.1", "--test-fraction", "0.1", "--seed", "42"]

# Step results are reused for 30 days when a step's arguments and code are unchanged.
CACHE_EXPIRY = "P30D"

STEP_FILES = ("prepare.py", "train.py", "evaluate.py", "register.py")
EVALUATION_FILE = "evaluation.json"
DEFINITIONS_FOLDER = "pipeline-definitions"


@dataclass(frozen=True)
class ParameterDefault:
    """One pipeline parameter: its name, type and default."""

    name: str
    type: str  # "String" | "Integer" | "Float"
    default: str | int | float
    description: str
    enum: tuple[str, ...] = ()


def parameter_defaults(settings: Settings) -> list[ParameterDefault]:
    """The pipeline's parameters and their defaults (the local defaults)."""
    return [
        ParameterDefault(
            "InputDataUri", "String", settings.raw_data_uri, "S3 prefix of the raw IDX files"
        ),
        ParameterDefault(
            "AccuracyThreshold", "Float", 0.985, "lowest test accuracy (0-1) that passes"
        ),
        ParameterDefault(
            "MinChampionAccuracyDelta",
            "Float",
            -0.003,
            "lowest accepted (candidate - champion) test accuracy; -0.003 tolerates 0.3 points",
        ),
        ParameterDefault(
            "MinParityAgreement", "Float", 0.999, "lowest PyTorch/ONNX argmax agreement (0-1)"
        ),
        ParameterDefault(
            "MaxParityLogitDiff", "Float", 0.001, "largest PyTorch/ONNX logit difference"
        ),
        ParameterDefault("MaxModelSizeBytes", "Integer", 524288, "size budget of the ONNX file"),
        ParameterDefault("ProcessingInstanceType", "String", "ml.m5.xlarge", "processing jobs"),
        ParameterDefault("TrainingInstanceType", "String", "ml.m5.xlarge", "the training job"),
        ParameterDefault("Epochs", "Integer", 10, "training epochs"),
        ParameterDefault(
            "Quantize", "String", "true", "try int8 static quantization", ("true", "false")
        ),
        ParameterDefault(
            "ModelApprovalStatus",
            "String",
            "Approved",
            "status of a model that passes the gate (run --approval auto|manual sets it)",
            ("Approved", "PendingManualApproval"),
        ),
        ParameterDefault("GitCommit", "String", "unknown", "code version that trains the model"),
    ]


# The approval mode as a status: a definition has no if-expression to map "auto"/"manual" at
# run time, and register runs only after the gate passed, so "auto" is simply "Approved".
APPROVAL_STATUS_BY_MODE = {"auto": "Approved", "manual": "PendingManualApproval"}


def ensure_execution_role(settings: Settings) -> str:
    """Return the execution role's ARN, creating the role when it is missing on the emulator.

    In AWS the role belongs to Terraform; a missing role there is an error, not something the
    CLI papers over. On the local target (the emulator) it is created on demand.
    """
    import boto3

    iam = boto3.client("iam", region_name=settings.region)
    try:
        return str(iam.get_role(RoleName=settings.sagemaker_role_name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        if settings.target == "aws":
            raise RuntimeError(
                f"IAM role {settings.sagemaker_role_name!r} does not exist; "
                "apply the Terraform in terraform/ first"
            ) from None
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    created = iam.create_role(
        RoleName=settings.sagemaker_role_name, AssumeRolePolicyDocument=json.dumps(trust)
    )
    return str(created["Role"]["Arn"])


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

    import boto3
    from sagemaker.core import image_uris
    from sagemaker.core.processing import FrameworkProcessor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.workflow.conditions import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )
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

    session = PipelineSession(
        boto_session=boto3.Session(region_name=settings.region),
        default_bucket=settings.data_bucket,
        default_bucket_prefix=f"pipelines/{settings.pipeline_name}",
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
    source = str(code_dir)
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

    # 1. Prepare: validate the raw IDX files (non-zero exit on bad data) and split them.
    prepare_outputs = ["train", "validation", "test", "report"]
    prepare = ProcessingStep(
        name=PREPARE,
        description="Validate the raw MNIST files and split them into train/validation/test.",
        step_args=processor("mnist-prepare").run(
            code="prepare.py",
            source_dir=source,
            requirements=requirements,
            inputs=[s3_input("raw", params["InputDataUri"], "/opt/ml/processing/input/raw")],
            outputs=[
                s3_output(PREPARE, name, f"/opt/ml/processing/output/{name}")
                for name in prepare_outputs
            ],
            arguments=SPLIT_ARGUMENTS,
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
        hyperparameters={**HYPERPARAMETERS, "epochs": params["Epochs"]},
        output_data_config=_output_data_config(
            f"s3://{settings.data_bucket}/pipelines/{settings.pipeline_name}/training"
        ),
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

    # 3. Evaluate: metrics, parity, size, optional int8, and the champion from the registry.
    evaluation = PropertyFile(name="Evaluation", output_name="evaluation", path=EVALUATION_FILE)
    evaluate = ProcessingStep(
        name=EVALUATE,
        description="Test accuracy, PyTorch/ONNX parity, size, int8, champion comparison.",
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
                s3_input("test", prepared("test"), "/opt/ml/processing/test"),
                s3_input("manifest", prepared("report"), "/opt/ml/processing/manifest"),
            ],
            outputs=[
                s3_output(EVALUATE, "evaluation", "/opt/ml/processing/evaluation"),
                s3_output(EVALUATE, "model", "/opt/ml/processing/output/model"),
            ],
            arguments=[
                "--model-package-group",
                settings.model_package_group,
                "--quantize",
                params["Quantize"],
            ],
        ),
        property_files=[evaluation],
        cache_config=cache,
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
                    evaluate.properties.ProcessingOutputConfig.Outputs["model"].S3Output.S3Uri,
                    "/opt/ml/processing/model",
                ),
                s3_input(
                    "evaluation",
                    evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
                    "/opt/ml/processing/evaluation",
                ),
                s3_input("manifest", prepared("report"), "/opt/ml/processing/manifest"),
            ],
            outputs=[s3_output(REGISTER, "registration", "/opt/ml/processing/output/registration")],
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
            ],
        ),
        cache_config=cache,
    )

    # 4. Gate: every check must hold, otherwise the run fails with all measured values.
    fail = FailStep(
        name=FAIL,
        error_message=Join(
            on="",
            values=[
                "model gate failed: test accuracy ",
                measured("metrics.accuracy.value"),
                " (needs >= ",
                params["AccuracyThreshold"],
                "); accuracy minus champion's ",
                measured("champion.accuracy_delta"),
                " (needs >= ",
                params["MinChampionAccuracyDelta"],
                "); PyTorch/ONNX argmax agreement ",
                measured("parity.argmax_agreement"),
                " (needs >= ",
                params["MinParityAgreement"],
                ") and max logit difference ",
                measured("parity.max_abs_logit_diff"),
                " (needs <= ",
                params["MaxParityLogitDiff"],
                "); model size ",
                measured("model.size_bytes"),
                " bytes (needs <= ",
                params["MaxModelSizeBytes"],
                ")",
            ],
        ),
    )
    gate = ConditionStep(
        name=GATE,
        description="Accuracy threshold, champion, parity and size budget.",
        conditions=[
            ConditionGreaterThanOrEqualTo(
                left=measured("metrics.accuracy.value"), right=params["AccuracyThreshold"]
            ),
            ConditionGreaterThanOrEqualTo(
                left=measured("champion.accuracy_delta"), right=params["MinChampionAccuracyDelta"]
            ),
            ConditionGreaterThanOrEqualTo(
                left=measured("parity.argmax_agreement"), right=params["MinParityAgreement"]
            ),
            ConditionLessThanOrEqualTo(
                left=measured("parity.max_abs_logit_diff"), right=params["MaxParityLogitDiff"]
            ),
            ConditionLessThanOrEqualTo(
                left=measured("model.size_bytes"), right=params["MaxModelSizeBytes"]
            ),
        ],
        if_steps=[register],
        else_steps=[fail],
    )

    return Pipeline(
        name=settings.pipeline_name,
        parameters=list(params.values()),
        steps=[prepare, train, evaluate, gate],
        sagemaker_session=session,
    )


def _output_data_config(s3_uri: str) -> Any:
    from sagemaker.core.shapes import OutputDataConfig

    return OutputDataConfig(s3_output_path=s3_uri)


def _prepare_sdk_environment(settings: Settings) -> None:
    import os

    # The SDK checks the role with IAM calls the emulator lacks; ensure_execution_role
    # has already made sure the role exists.
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    # The SDK creates boto3 clients when imported; they need a region.
    os.environ.setdefault("AWS_DEFAULT_REGION", settings.region)
    _quiet_sdk_logs()


def _quiet_sdk_logs() -> None:
    import logging

    # The SDK logs every client's endpoint lookup at INFO; the CLI's output is the definition.
    for name in ("botocore", "boto3", "sagemaker"):
        logging.getLogger(name).setLevel(logging.WARNING)


def definition(settings: Settings, code_dir: Path = CODE_DIR) -> dict[str, Any]:
    """The pipeline definition as a dict (ensures the role, uploads the step code)."""
    role = ensure_execution_role(settings)
    return dict(json.loads(build_pipeline(settings, role, code_dir).definition()))


def fingerprint(settings: Settings, code_dir: Path = CODE_DIR) -> str:
    """What the definition depends on: the step code, this module and the settings."""
    digest = hashlib.sha256()
    files = sorted(p for p in code_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in [Path(__file__), *files]:
        digest.update(path.relative_to(path.parent.parent).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(settings.model_dump_json().encode())
    return digest.hexdigest()


def _code_uris(document: dict[str, Any]) -> list[str]:
    """The fixed S3 URIs a definition's jobs read (step code), as opposed to references."""
    uris: list[str] = []

    def scan(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "S3Uri" and isinstance(item, str):
                    uris.append(item)
                elif key not in ("ProcessingOutputConfig", "OutputDataConfig"):
                    scan(item)
        elif isinstance(value, list):
            for item in value:
                scan(item)

    scan(document.get("Steps", []))
    return uris


def load_definition(
    settings: Settings, code_dir: Path = CODE_DIR, rebuild: bool = False
) -> tuple[dict[str, Any], bool]:
    """The definition for the current code and settings, and whether it was built just now.

    Building imports the SDK and uploads the code (tens of seconds here), so a definition is
    kept under the state folder and reused while the code, this module and the settings are
    unchanged and the code it points at is still in S3 (the emulator may have been reset).
    """
    import boto3

    folder = Path(settings.state_dir) / DEFINITIONS_FOLDER
    path = folder / f"{fingerprint(settings, code_dir)}.json"
    if path.is_file() and not rebuild:
        cached: dict[str, Any] = json.loads(path.read_text())
        s3 = boto3.client("s3", region_name=settings.region)
        if all(_exists(s3, uri) for uri in _code_uris(cached)):
            return cached, False
    built = definition(settings, code_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(built, indent=1))
    return built, True


def _exists(s3: Any, uri: str) -> bool:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    except Exception:  # a missing bucket means the code must be uploaded again
        return False
    return bool(listing.get("KeyCount"))


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
