"""CreatePipeline/UpdatePipeline against a running emulator: SageMaker's definition checks."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from mlops_settings import Settings

ROLE = "arn:aws:iam::123456789012:role/pipeline"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.10.0-cpu-py313"


def definition(epochs: dict) -> dict:
    return {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Epochs", "Type": "Integer", "DefaultValue": 10}],
        "Steps": [
            {
                "Name": "Train",
                "Type": "Training",
                "Arguments": {
                    "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
                    "HyperParameters": {"epochs": epochs},
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
        ],
    }


AS_TEXT = {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.Epochs"}]}}
RAW = {"Get": "Parameters.Epochs"}
MESSAGE = "Cannot assign property reference [Parameters.Epochs] to argument of type [String]"


def test_an_integer_parameter_in_a_hyperparameter_is_refused_as_sagemaker_refuses_it(
    emulator: Settings,
) -> None:
    sagemaker = boto3.client("sagemaker")
    good = definition(AS_TEXT)
    sagemaker.create_pipeline(
        PipelineName="typed", PipelineDefinition=json.dumps(good), RoleArn=ROLE
    )

    with pytest.raises(ClientError) as refused:
        sagemaker.update_pipeline(
            PipelineName="typed", PipelineDefinition=json.dumps(definition(RAW))
        )

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == MESSAGE
    # Nothing changed: the pipeline keeps the definition it had.
    stored = sagemaker.describe_pipeline(PipelineName="typed")["PipelineDefinition"]
    assert json.loads(stored) == good


def test_a_new_pipeline_with_a_broken_definition_is_not_created(emulator: Settings) -> None:
    sagemaker = boto3.client("sagemaker")
    broken = copy.deepcopy(definition(AS_TEXT))
    broken["Steps"][0]["DependsOn"] = ["Prepare"]

    with pytest.raises(ClientError) as refused:
        sagemaker.create_pipeline(
            PipelineName="broken", PipelineDefinition=json.dumps(broken), RoleArn=ROLE
        )

    assert refused.value.response["Error"]["Message"] == (
        "Step [Train] depends on an unknown step [Prepare]"
    )
    names = [p["PipelineName"] for p in sagemaker.list_pipelines()["PipelineSummaries"]]
    assert "broken" not in names
