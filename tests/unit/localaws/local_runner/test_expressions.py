import pytest

from localaws.local_runner.cache import duration_seconds
from localaws.local_runner.expressions import (
    Context,
    ExpressionError,
    evaluate,
    resolve,
    split_path,
)
from localaws.local_runner.graph import (
    PipelineError,
    dependencies,
    flatten_steps,
    parse_parameters,
)

EVALUATION = {"Get": "Steps.Evaluate.PropertyFiles.Evaluation"}


def context() -> Context:
    return Context(
        parameters={"Threshold": 0.9, "Epochs": 3},
        execution={"PipelineExecutionId": "abc123def456"},
        steps={
            "Prepare": {
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}},
                        {"OutputName": "test", "S3Output": {"S3Uri": "s3://b/test"}},
                    ]
                }
            }
        },
        property_files={"Evaluate": {"Evaluation": {"metrics": {"accuracy": {"value": 0.95}}}}},
    )


def json_get(path: str) -> dict:
    return {"Std:JsonGet": {"PropertyFile": EVALUATION, "Path": path}}


def test_split_path_reads_names_quoted_keys_and_indexes():
    assert split_path("Outputs['train'].S3Output.S3Uri") == [
        "Outputs",
        "train",
        "S3Output",
        "S3Uri",
    ]
    assert split_path("a.b[0].c") == ["a", "b", 0, "c"]
    with pytest.raises(ExpressionError, match="cannot parse"):
        split_path("a..b!")


def test_resolve_parameters_execution_steps_join_and_jsonget():
    value = {
        "Uri": {"Get": "Steps.Prepare.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"},
        "Args": ["--epochs", {"Get": "Parameters.Epochs"}],
        "Out": {
            "Std:Join": {
                "On": "/",
                "Values": ["s3://b", {"Get": "Execution.PipelineExecutionId"}, "x"],
            }
        },
        "Accuracy": json_get("metrics.accuracy.value"),
    }
    assert resolve(value, context()) == {
        "Uri": "s3://b/test",
        "Args": ["--epochs", 3],
        "Out": "s3://b/abc123def456/x",
        "Accuracy": 0.95,
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Get": "Parameters.Nope"}, "unknown parameter 'Nope'"),
        ({"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}, "step 'Train' has not run"),
        ({"Get": "Steps.Prepare.ProcessingOutputConfig.Outputs['nope']"}, "no entry named"),
        (json_get("metrics.loss"), "'loss' not found"),
        ({"Get": "Something.Else"}, "unsupported reference"),
    ],
)
def test_resolve_names_what_is_missing(value, message):
    with pytest.raises(ExpressionError, match=message):
        resolve(value, context())


def test_conditions_compare_numbers_and_say_how_they_read():
    ok = evaluate(
        {
            "Type": "GreaterThanOrEqualTo",
            "LeftValue": json_get("metrics.accuracy.value"),
            "RightValue": {"Get": "Parameters.Threshold"},
        },
        context(),
    )
    assert ok.holds
    assert ok.text == "metrics.accuracy.value=0.95 >= Threshold=0.9"
    too_low = evaluate(
        {"Type": "LessThan", "LeftValue": json_get("metrics.accuracy.value"), "RightValue": 0.5},
        context(),
    )
    assert not too_low.holds
    negated = evaluate(
        {"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": 1, "RightValue": "1"}},
        context(),
    )
    assert not negated.holds
    assert evaluate({"Type": "In", "QueryValue": 3, "Values": [1, 2, 3]}, context()).holds
    with pytest.raises(ExpressionError, match="unsupported condition"):
        evaluate({"Type": "Approximately"}, context())


def test_parameters_typed_defaults_overrides_and_errors():
    definition = {
        "Parameters": [
            {"Name": "Epochs", "Type": "Integer", "DefaultValue": 8},
            {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.985},
            {"Name": "Mode", "Type": "String", "DefaultValue": "a", "EnumValues": ["a", "b"]},
        ]
    }
    assert parse_parameters(definition, {"Epochs": "2"}) == {
        "Epochs": 2,
        "Threshold": 0.985,
        "Mode": "a",
    }
    with pytest.raises(PipelineError, match="unknown parameter"):
        parse_parameters(definition, {"Epoch": "2"})
    with pytest.raises(PipelineError, match="needs a integer, got 'two'"):
        parse_parameters(definition, {"Epochs": "two"})
    with pytest.raises(PipelineError, match="must be one of a, b"):
        parse_parameters(definition, {"Mode": "c"})
    with pytest.raises(PipelineError, match="has no default"):
        parse_parameters({"Parameters": [{"Name": "Uri", "Type": "String"}]})


def test_cache_expiry_durations():
    assert duration_seconds("P30D") == 30 * 86400
    assert duration_seconds("PT12H") == 12 * 3600
    assert duration_seconds("T12H") == 12 * 3600
    assert duration_seconds(None) is None
    with pytest.raises(PipelineError, match="cannot read the cache expiry"):
        duration_seconds("thirty days")


def test_steps_inside_condition_branches_depend_on_the_condition():
    definition = {
        "Steps": [
            {"Name": "Evaluate", "Type": "Processing", "Arguments": {}},
            {
                "Name": "Gate",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [{"Type": "Equals", "LeftValue": json_get("a"), "RightValue": 1}],
                    "IfSteps": [{"Name": "Register", "Type": "Processing", "Arguments": {}}],
                    "ElseSteps": [{"Name": "Stop", "Type": "Fail", "Arguments": {}}],
                },
            },
        ]
    }
    steps = flatten_steps(definition)
    assert list(steps) == ["Evaluate", "Gate", "Register", "Stop"]
    names = set(steps)
    assert dependencies(steps["Gate"], names) == {"Evaluate"}
    assert dependencies(steps["Register"], names) == {"Gate"}
    assert steps["Stop"].branch is False


def test_unsupported_step_types_are_refused_by_name():
    with pytest.raises(PipelineError, match="step 'Deploy' has type 'Lambda'"):
        flatten_steps({"Steps": [{"Name": "Deploy", "Type": "Lambda", "Arguments": {}}]})
