"""SageMaker's checks of a pipeline definition on CreatePipeline and UpdatePipeline.

moto stores a definition as an opaque string; SageMaker parses it and refuses, with a
``ValidationException``, a definition it could not run. This module does what SageMaker does
before it accepts one, for any definition:

- steps: unique names, known types, ``DependsOn`` naming existing steps, no cycle;
- references: every ``{"Get": "Parameters.X"}`` names a declared parameter, every
  ``{"Get": "Execution.X"}`` a known execution variable, every ``{"Get": "Steps.S.P"}`` an
  existing step and a property its Describe* response has (walked through botocore's output
  shape), every ``Std:JsonGet`` a property file its step declares;
- types: a reference lands in a field of its own type. An Integer or Float parameter placed in
  a string field (hyperparameters, container arguments) is refused with SageMaker's own words,
  ``Cannot assign property reference [Parameters.X] to argument of type [String]``
  (aws/sagemaker-python-sdk#4867, #2631); ``Std:Join`` (what ``.to_string()`` produces) is a
  string and allowed anywhere a string is;
- arguments: each job step's arguments, with every parameter replaced by its default value,
  are checked against the input shape of the job it starts (``CreateProcessingJob``,
  ``CreateTrainingJob``, ``CreateTransformJob``) with the strict layer's validator: required
  members, types, lengths, ranges, enums, patterns. The job name and the fields SageMaker
  fills (``ProcessingJobName``, ``TrainingJobName``, ``TransformJobName``) are not required.

Values that only exist at run time (step properties, execution variables, ``Std:Join``,
``Std:JsonGet``) are type-checked but not pattern-checked: SageMaker cannot check them either.
Step types other than Processing, Training, Transform, Condition and Fail have their
references checked but not their arguments.

The wording of the typed-reference refusal is SageMaker's; the other messages follow its
style (``Step [S] ...``), since AWS documents no list of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

# Where the strict layer's validator lives; the definition's arguments use the same rules
# as any request.
from localaws.strict import UNCHECKED, Operation, Problem, validate

JOB_OPERATIONS = {
    "Processing": ("CreateProcessingJob", "DescribeProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "DescribeTrainingJob", "TrainingJobName"),
    "Transform": ("CreateTransformJob", "DescribeTransformJob", "TransformJobName"),
}
# Step types SageMaker Pipelines knows (the developer guide's "Step types").
STEP_TYPES = {
    *JOB_OPERATIONS,
    "Condition",
    "Fail",
    "Tuning",
    "Model",
    "RegisterModel",
    "CreateModel",
    "Lambda",
    "Callback",
    "QualityCheck",
    "ClarifyCheck",
    "EMR",
    "AutoML",
    "Notebook",
}
PARAMETER_TYPES = {"String": str, "Integer": int, "Float": float, "Boolean": bool}
# Execution variables (ExecutionVariables in the SDK) and the type of their value.
EXECUTION_VARIABLES = {
    "PipelineExecutionId": "String",
    "PipelineExecutionArn": "String",
    "PipelineName": "String",
    "PipelineArn": "String",
    "StartDateTime": "Timestamp",
    "CurrentDateTime": "Timestamp",
}
CONDITION_STEP_PROPERTIES = {"Outcome": "Boolean"}
# botocore shape type -> the type name SageMaker's messages use.
_SHAPE_TYPES = {
    "string": "String",
    "integer": "Integer",
    "long": "Integer",
    "float": "Float",
    "double": "Float",
    "boolean": "Boolean",
    "timestamp": "Timestamp",
    "structure": "Structure",
    "list": "List",
    "map": "Map",
}
# What a value of one type may be assigned to: integers are numbers, nothing else converts.
_ASSIGNABLE = {
    "String": {"String"},
    "Integer": {"Integer", "Float"},
    "Float": {"Float"},
    "Boolean": {"Boolean"},
    "Timestamp": {"Timestamp", "String"},
}
_TOKEN = re.compile(r"\.?([A-Za-z0-9_]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
# A value only known at run time: checked for type, never for pattern or length.
_RUNTIME = object()


class DefinitionError(ValueError):
    """SageMaker would refuse this definition; ``message`` is its ValidationException text."""


@dataclass(frozen=True)
class Reference:
    """What an expression stands for: a type name, its text, and a value when known."""

    type: str  # "String", "Integer", "Float", "Boolean", "Timestamp", "Structure", "Any", ...
    text: str
    value: Any = _RUNTIME


@cache
def _sagemaker_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def check_definition(text: str, model: Any | None = None) -> list[str]:
    """Every reason SageMaker would refuse this definition, in definition order.

    Args:
        text: the ``PipelineDefinition`` string of a CreatePipeline/UpdatePipeline request.
        model: botocore's SageMaker service model (default: the installed botocore's).

    Returns:
        Messages (empty when the definition is accepted); SageMaker answers with the first.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"Unable to parse pipeline definition. {exc.msg}"]
    if not isinstance(document, dict):
        return ["Unable to parse pipeline definition. Expecting a JSON object."]
    return _Checker(document, model or _sagemaker_model()).run()


def refusal_message(text: str, model: Any | None = None) -> str | None:
    """The ValidationException message for a refused definition, or None when accepted."""
    problems = check_definition(text, model)
    return problems[0] if problems else None


class _Checker:
    def __init__(self, document: dict[str, Any], model: Any) -> None:
        self.document = document
        self.model = model
        self.problems: list[str] = []
        self.parameters: dict[str, dict[str, Any]] = {}
        self.steps: dict[str, dict[str, Any]] = {}

    def run(self) -> list[str]:
        self._parameters()
        self._steps()
        if self.problems:
            return self.problems
        for name, spec in self.steps.items():
            self._step(name, spec)
        if not self.problems:
            self._cycles()
        return self.problems

    # ------------------------------------------------------------------ declarations

    def _parameters(self) -> None:
        for parameter in self.document.get("Parameters") or []:
            name = parameter.get("Name")
            kind = parameter.get("Type", "String")
            if not isinstance(name, str) or not name:
                self.problems.append("Pipeline parameter without a Name")
                continue
            if name in self.parameters:
                self.problems.append(f"Pipeline parameter [{name}] is declared twice")
            if kind not in PARAMETER_TYPES:
                self.problems.append(
                    f"Pipeline parameter [{name}] has type [{kind}]; one of "
                    f"{', '.join(PARAMETER_TYPES)} expected"
                )
                continue
            default = parameter.get("DefaultValue")
            if default is not None and not _is_type(default, kind):
                self.problems.append(
                    f"Default value [{default}] of pipeline parameter [{name}] is not of "
                    f"type [{kind}]"
                )
            self.parameters[name] = parameter

    def _steps(self) -> None:
        def add(spec: Any, where: str) -> None:
            if not isinstance(spec, dict) or not isinstance(spec.get("Name"), str):
                self.problems.append(f"A step in {where} has no Name")
                return
            name = spec["Name"]
            if name in self.steps:
                self.problems.append(f"Step names must be unique: [{name}] appears twice")
                return
            if spec.get("Type") not in STEP_TYPES:
                self.problems.append(f"Step [{name}] has an unknown type [{spec.get('Type')}]")
                return
            self.steps[name] = spec
            if spec["Type"] == "Condition":
                arguments = spec.get("Arguments") or {}
                for child in [*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])]:
                    add(child, f"step [{name}]")

        steps = self.document.get("Steps")
        if not isinstance(steps, list) or not steps:
            self.problems.append("Pipeline definition has no Steps")
            return
        for spec in steps:
            add(spec, "the pipeline")
        for name, spec in self.steps.items():
            for needed in spec.get("DependsOn") or []:
                if needed not in self.steps:
                    self.problems.append(f"Step [{name}] depends on an unknown step [{needed}]")
                elif needed == name:
                    self.problems.append(f"Step [{name}] depends on itself")

    # ------------------------------------------------------------------ one step

    def _step(self, name: str, spec: dict[str, Any]) -> None:
        arguments = spec.get("Arguments")
        kind = spec["Type"]
        if kind in JOB_OPERATIONS:
            operation, _, job_name_member = JOB_OPERATIONS[kind]
            shape = self.model.operation_model(operation).input_shape
            if not isinstance(arguments, dict):
                self.problems.append(f"Step [{name}] of type [{kind}] has no Arguments")
                return
            substituted = self._typed(arguments, shape, name, "")
            if substituted is _RUNTIME:
                return
            substituted.setdefault(job_name_member, f"pipelines-{name}"[:63])
            problems = validate(shape, substituted)
            if problems:
                self.problems.append(f"Step [{name}]: {_sentences(problems)}")
            return
        # Everything else: references resolved, types unknown (no job shape to check). A
        # condition's branches are steps of their own, checked as such.
        if kind == "Condition" and isinstance(arguments, dict):
            arguments = {k: v for k, v in arguments.items() if k not in ("IfSteps", "ElseSteps")}
        for expression in _expressions(arguments):
            self._reference(expression, name)
        for item in spec.get("PropertyFiles") or []:
            if not isinstance(item, dict) or "PropertyFileName" not in item:
                self.problems.append(f"Step [{name}] declares a property file without a name")

    def _typed(self, value: Any, shape: Any, step: str, path: str) -> Any:
        """The value with references replaced by typed values, type-checking each placement."""
        if _is_expression(value):
            reference = self._reference(value, step)
            if reference is None:
                return _RUNTIME
            wanted = _SHAPE_TYPES.get(shape.type_name, shape.type_name)
            if reference.type != "Any" and wanted not in _ASSIGNABLE.get(
                reference.type, {reference.type}
            ):
                self.problems.append(
                    f"Cannot assign property reference [{reference.text}] to argument of type "
                    f"[{wanted}]"
                )
                return _RUNTIME
            return reference.value
        kind = shape.type_name
        if kind == "structure" and isinstance(value, dict):
            result: dict[str, Any] = {}
            for key, item in value.items():
                member = shape.members.get(key)
                if member is None:
                    self.problems.append(
                        f"Step [{step}]: unknown parameter [{_join(path, key)}] in the job's "
                        "arguments"
                    )
                    continue
                typed = self._typed(item, member, step, _join(path, key))
                result[key] = _placeholder(member) if typed is _RUNTIME else typed
            return result
        if kind == "list" and isinstance(value, list):
            items = [
                self._typed(item, shape.member, step, f"{path}[{i}]")
                for i, item in enumerate(value)
            ]
            return [_placeholder(shape.member) if item is _RUNTIME else item for item in items]
        if kind == "map" and isinstance(value, dict):
            mapped = {}
            for key, item in value.items():
                typed = self._typed(item, shape.value, step, f"{path}[{key}]")
                mapped[key] = _placeholder(shape.value) if typed is _RUNTIME else typed
            return mapped
        return value

    # ------------------------------------------------------------------ references

    def _reference(self, expression: dict[str, Any], step: str) -> Reference | None:
        """The reference's type (and value when a parameter has a default), or None (bad)."""
        if "Get" in expression:
            return self._get(str(expression["Get"]), step)
        if "Std:Join" in expression:
            join = expression["Std:Join"]
            values = join.get("Values") if isinstance(join, dict) else None
            if not isinstance(values, list):
                self.problems.append(f"Step [{step}]: Std:Join needs a list of Values")
                return None
            known = True
            parts = []
            for item in values:
                if _is_expression(item):
                    inner = self._reference(item, step)
                    if inner is None:
                        return None
                    known = known and inner.value is not _RUNTIME
                    parts.append(_text(inner.value))
                else:
                    parts.append(_text(item))
            value = str(join.get("On", "")).join(parts) if known else _RUNTIME
            return Reference("String", "Std:Join", value)
        if "Std:JsonGet" in expression:
            body = expression["Std:JsonGet"]
            target = (
                (body.get("PropertyFile") or {}).get("Get", "") if isinstance(body, dict) else ""
            )
            match = re.fullmatch(r"Steps\.([^.]+)\.PropertyFiles\.(.+)", str(target))
            if not match:
                self.problems.append(f"Step [{step}]: Std:JsonGet names no property file")
                return None
            source, file_name = match.groups()
            files = {
                f.get("PropertyFileName")
                for f in self.steps.get(source, {}).get("PropertyFiles") or []
            }
            if source not in self.steps:
                self.problems.append(f"Step [{step}] refers to an unknown step [{source}]")
                return None
            if file_name not in files:
                self.problems.append(
                    f"Step [{step}] refers to property file [{file_name}], which step "
                    f"[{source}] does not declare"
                )
                return None
            return Reference("Any", f"Steps.{source}.PropertyFiles.{file_name}")
        self.problems.append(f"Step [{step}] uses an unknown function [{', '.join(expression)}]")
        return None

    def _get(self, target: str, step: str) -> Reference | None:
        head, _, rest = target.partition(".")
        if head == "Parameters":
            parameter = self.parameters.get(rest)
            if parameter is None:
                self.problems.append(f"Step [{step}] refers to an undefined parameter [{rest}]")
                return None
            kind = parameter.get("Type", "String")
            default = parameter.get("DefaultValue", _RUNTIME)
            return Reference(kind, target, default)
        if head == "Execution":
            if rest not in EXECUTION_VARIABLES:
                self.problems.append(f"Step [{step}] refers to an unknown variable [{target}]")
                return None
            return Reference(EXECUTION_VARIABLES[rest], target)
        if head == "Steps":
            source, _, path = rest.partition(".")
            spec = self.steps.get(source)
            if spec is None:
                self.problems.append(f"Step [{step}] refers to an unknown step [{source}]")
                return None
            kind = self._property_type(spec, path)
            if kind is None:
                self.problems.append(
                    f"Step [{step}] refers to [{target}], which step [{source}] of type "
                    f"[{spec['Type']}] does not have"
                )
                return None
            return Reference(kind, target)
        self.problems.append(f"Step [{step}] has a reference SageMaker cannot resolve [{target}]")
        return None

    def _property_type(self, spec: dict[str, Any], path: str) -> str | None:
        if spec["Type"] == "Condition":
            return CONDITION_STEP_PROPERTIES.get(path)
        if spec["Type"] not in JOB_OPERATIONS:
            return "Any"  # properties of other step types are not modelled here
        shape = self.model.operation_model(JOB_OPERATIONS[spec["Type"]][1]).output_shape
        position = 0
        while position < len(path):
            match = _TOKEN.match(path, position)
            if not match or match.end() == position:
                return None
            name, index, quoted, double_quoted = match.groups()
            position = match.end()
            if name is not None and shape.type_name == "structure":
                if name not in shape.members:
                    return None
                shape = shape.members[name]
            elif (index is not None or quoted is not None or double_quoted is not None) and (
                shape.type_name == "list"
            ):
                shape = shape.member
            elif (quoted is not None or double_quoted is not None) and shape.type_name == "map":
                shape = shape.value
            else:
                return None
        return _SHAPE_TYPES.get(shape.type_name, shape.type_name)

    # ------------------------------------------------------------------ the graph

    def _cycles(self) -> None:
        needs = {name: self._needs(name, spec) for name, spec in self.steps.items()}
        state: dict[str, int] = {}

        def visit(name: str, trail: list[str]) -> bool:
            if state.get(name) == 2:
                return False
            if state.get(name) == 1:
                cycle = [*trail[trail.index(name) :], name]
                self.problems.append(f"Pipeline definition has a cycle: {' -> '.join(cycle)}")
                return True
            state[name] = 1
            for needed in sorted(needs[name]):
                if visit(needed, [*trail, name]):
                    return True
            state[name] = 2
            return False

        for name in self.steps:
            if visit(name, []):
                return

    def _needs(self, name: str, spec: dict[str, Any]) -> set[str]:
        found = {str(n) for n in spec.get("DependsOn") or []}
        arguments = spec.get("Arguments") or {}
        if spec["Type"] == "Condition":
            arguments = {k: v for k, v in arguments.items() if k not in ("IfSteps", "ElseSteps")}
        for expression in _expressions(arguments):
            text = json.dumps(expression)
            found |= set(re.findall(r'"Steps\.([^."\[]+)', text))
        for parent, parent_spec in self.steps.items():
            if parent_spec["Type"] == "Condition":
                branch = parent_spec.get("Arguments") or {}
                children = [*branch.get("IfSteps", []), *branch.get("ElseSteps", [])]
                if any(child.get("Name") == name for child in children):
                    found.add(parent)
        return found & set(self.steps)


# ---------------------------------------------------------------------- helpers


def _is_expression(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and ("Get" in value or next(iter(value)).startswith("Std:"))
    )


def _expressions(value: Any) -> Iterator[dict[str, Any]]:
    if _is_expression(value):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _expressions(item)


def _is_type(value: Any, kind: str) -> bool:
    if kind == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, PARAMETER_TYPES[kind])


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _placeholder(shape: Any) -> Any:
    """A value the validator skips: run-time values are type-checked above, never here."""
    return UNCHECKED


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _sentences(problems: list[Problem]) -> str:
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(p.sentence() for p in problems)


def pipeline_semantics(operation: Operation) -> str | None:
    """SageMaker's refusal of a CreatePipeline/UpdatePipeline definition, or None.

    A `localaws.strict.ServiceSemantics` check. A definition given by S3 location
    (``PipelineDefinitionS3Location``) is not fetched, so not checked.
    """
    if operation.service.name != "sagemaker" or operation.model.name not in (
        "CreatePipeline",
        "UpdatePipeline",
    ):
        return None
    text = operation.params.get("PipelineDefinition")
    if not isinstance(text, str):
        return None
    return refusal_message(text, operation.model.service_model)
