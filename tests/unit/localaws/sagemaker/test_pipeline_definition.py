"""SageMaker's CreatePipeline/UpdatePipeline checks of a definition, without a server."""

from __future__ import annotations

import copy
import json
from typing import Any

from localaws.sagemaker.pipeline_definition import check_definition

ROLE = "arn:aws:iam::123456789012:role/sm"
IMAGE = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.10.0-cpu-py313"


def get(name: str) -> dict:
    return {"Get": name}


def processing(name: str, **extra: Any) -> dict:
    arguments = {
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": get("Parameters.InstanceType"),
                "InstanceCount": 1,
                "VolumeSizeInGB": 30,
            }
        },
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/run.py"],
            "ContainerArguments": ["--epochs", get("Parameters.EpochsText")],
        },
        "RoleArn": ROLE,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "report",
                    "S3Output": {
                        "S3Uri": "s3://bucket/out",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    }
    return {"Name": name, "Type": "Processing", "Arguments": arguments, **extra}


def training(name: str, source: str) -> dict:
    return {
        "Name": name,
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "HyperParameters": {
                "epochs": {"Std:Join": {"On": "", "Values": [get("Parameters.Epochs")]}}
            },
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": get(
                                f"Steps.{source}.ProcessingOutputConfig.Outputs['report']"
                                ".S3Output.S3Uri"
                            ),
                        }
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/training"},
            "ResourceConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 30,
            },
            "RoleArn": ROLE,
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def definition(*steps: dict, parameters: list[dict] | None = None) -> dict:
    return {
        "Version": "2020-12-01",
        "Parameters": parameters
        if parameters is not None
        else [
            {"Name": "Epochs", "Type": "Integer", "DefaultValue": 10},
            {"Name": "EpochsText", "Type": "String", "DefaultValue": "10"},
            {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
        ],
        "Steps": list(steps) or [processing("Prepare"), training("Train", "Prepare")],
    }


def check(document: dict) -> list[str]:
    return check_definition(json.dumps(document))


def test_a_well_typed_definition_passes() -> None:
    assert check(definition()) == []


def test_an_integer_parameter_in_a_hyperparameter_is_refused_in_sagemakers_words() -> None:
    document = definition()
    document["Steps"][1]["Arguments"]["HyperParameters"]["epochs"] = get("Parameters.Epochs")

    assert check(document) == [
        "Cannot assign property reference [Parameters.Epochs] to argument of type [String]"
    ]


def test_a_float_parameter_in_a_container_argument_is_refused() -> None:
    document = definition(
        parameters=[
            {"Name": "Epochs", "Type": "Integer", "DefaultValue": 10},
            {"Name": "EpochsText", "Type": "Float", "DefaultValue": 0.5},
            {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
        ]
    )

    assert check(document) == [
        "Cannot assign property reference [Parameters.EpochsText] to argument of type [String]"
    ]


def test_a_string_parameter_in_an_integer_field_is_refused() -> None:
    document = definition()
    cluster = document["Steps"][0]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    cluster["InstanceCount"] = get("Parameters.EpochsText")

    assert check(document) == [
        "Cannot assign property reference [Parameters.EpochsText] to argument of type [Integer]"
    ]


def test_arguments_are_checked_against_the_job_with_parameter_defaults_substituted() -> None:
    document = definition(
        parameters=[
            {"Name": "Epochs", "Type": "Integer", "DefaultValue": 10},
            {"Name": "EpochsText", "Type": "String", "DefaultValue": "10"},
            {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.huge"},
        ]
    )

    [problem] = check(document)

    assert problem.startswith("Step [Prepare]: 1 validation error detected: Value 'ml.huge' at")
    assert "Member must satisfy enum value set" in problem


def test_a_missing_required_member_is_refused() -> None:
    document = definition()
    del document["Steps"][1]["Arguments"]["OutputDataConfig"]

    [problem] = check(document)

    assert "'outputDataConfig' failed to satisfy constraint: Member must not be null" in problem


def test_references_must_resolve() -> None:
    bad_step = definition(processing("Prepare"), training("Train", "Nowhere"))
    bad_path = definition(processing("Prepare"), training("Train", "Prepare"))
    source = bad_path["Steps"][1]["Arguments"]["InputDataConfig"][0]["DataSource"]
    source["S3DataSource"]["S3Uri"] = get("Steps.Prepare.ModelArtifacts.S3ModelArtifacts")
    undefined = definition()
    undefined["Steps"][0]["Arguments"]["AppSpecification"]["ContainerArguments"][1] = get(
        "Parameters.Missing"
    )

    assert check(bad_step) == ["Step [Train] refers to an unknown step [Nowhere]"]
    assert check(bad_path) == [
        "Step [Train] refers to [Steps.Prepare.ModelArtifacts.S3ModelArtifacts], which step "
        "[Prepare] of type [Processing] does not have"
    ]
    assert check(undefined) == ["Step [Prepare] refers to an undefined parameter [Missing]"]


def test_step_names_and_dependencies_must_hold_together() -> None:
    twice = definition(processing("Prepare"), processing("Prepare"))
    unknown = definition(processing("Prepare", DependsOn=["Later"]))
    cycle = definition(processing("Prepare", DependsOn=["Train"]), training("Train", "Prepare"))

    assert check(twice) == ["Step names must be unique: [Prepare] appears twice"]
    assert check(unknown) == ["Step [Prepare] depends on an unknown step [Later]"]
    [problem] = check(cycle)
    assert problem.startswith("Pipeline definition has a cycle: ")


def test_a_condition_reads_only_declared_property_files() -> None:
    condition = {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": get("Steps.Prepare.PropertyFiles.Evaluation"),
                            "Path": "accuracy",
                        }
                    },
                    "RightValue": 0.9,
                }
            ],
            "IfSteps": [],
            "ElseSteps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "no"}}],
        },
    }
    declared = copy.deepcopy(processing("Prepare"))
    declared["PropertyFiles"] = [
        {"PropertyFileName": "Evaluation", "OutputName": "report", "FilePath": "e.json"}
    ]

    assert check(definition(declared, condition)) == []
    assert check(definition(processing("Prepare"), condition)) == [
        "Step [Gate] refers to property file [Evaluation], which step [Prepare] does not declare"
    ]


def test_text_that_is_not_a_definition_is_refused() -> None:
    assert check_definition("{not json")[0].startswith("Unable to parse pipeline definition.")


def test_a_step_inside_a_branch_is_checked_once_as_itself() -> None:
    inner = processing("Publish")
    inner["Arguments"]["AppSpecification"]["ContainerArguments"][1] = get("Parameters.Epochs")
    condition = {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": get("Parameters.Epochs"),
                    "RightValue": 1,
                }
            ],
            "IfSteps": [inner],
            "ElseSteps": [],
        },
    }

    assert check(definition(processing("Prepare"), condition)) == [
        "Cannot assign property reference [Parameters.Epochs] to argument of type [String]"
    ]
