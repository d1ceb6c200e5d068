"""The expression language of a SageMaker pipeline definition, evaluated locally.

A definition refers to values known only at run time: `{"Get": "Parameters.X"}`,
`{"Get": "Execution.PipelineExecutionId"}`, `{"Get": "Steps.S.ModelArtifacts..."}`,
`{"Std:Join": ...}`, `{"Std:JsonGet": ...}`; conditions compare such values. Everything here
is plain data in and out, so it is testable without AWS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class ExpressionError(ValueError):
    """A definition refers to something that does not exist (the message says what)."""


@dataclass
class Context:
    """What references resolve against during one execution."""

    parameters: dict[str, Any]
    execution: dict[str, str]
    # Per finished step: its Describe*Response-like properties.
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Per finished step: property file name -> parsed JSON content.
    property_files: dict[str, dict[str, Any]] = field(default_factory=dict)


_TOKEN = re.compile(r"\.?([A-Za-z0-9_]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def split_path(path: str) -> list[str | int]:
    """Split `A.B['c'][0].D` into `['A', 'B', 'c', 0, 'D']`."""
    tokens: list[str | int] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if not match or match.end() == position:
            raise ExpressionError(f"cannot parse the path {path!r} at position {position}")
        name, index, quoted, double_quoted = match.groups()
        if index is not None:
            tokens.append(int(index))
        else:
            tokens.append(name or quoted or double_quoted or "")
        position = match.end()
    return tokens


def walk(value: Any, tokens: list[str | int], what: str) -> Any:
    """Follow `tokens` into nested dicts/lists; a name indexes a list by its `*Name` field."""
    for token in tokens:
        in_mapping = isinstance(value, Mapping) and isinstance(token, str) and token in value
        in_list = (
            isinstance(value, list) and isinstance(token, int) and -len(value) <= token < len(value)
        )
        if in_mapping or in_list:
            value = value[token]
        elif isinstance(value, list) and isinstance(token, str):
            named = [item for item in value if isinstance(item, Mapping) and token in _names(item)]
            if not named:
                raise ExpressionError(f"{what}: no entry named {token!r}")
            value = named[0]
        else:
            raise ExpressionError(f"{what}: {token!r} not found")
    return value


def _names(item: Mapping[str, Any]) -> set[str]:
    return {str(v) for k, v in item.items() if k.endswith("Name") and isinstance(v, str)}


def json_get(document: Any, path: str, what: str) -> Any:
    """The value at a JsonGet path (`a.b[0].c`) in a parsed JSON document."""
    return walk(document, split_path(path), f"{what} path {path!r}")


def resolve(value: Any, context: Context) -> Any:
    """Replace every reference in `value` by its value for this execution."""
    if isinstance(value, list):
        return [resolve(item, context) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        return _get(str(value["Get"]), context)
    if set(value) == {"Std:Join"}:
        spec = value["Std:Join"]
        parts = resolve(spec.get("Values", []), context)
        return str(spec.get("On", "")).join(to_text(part) for part in parts)
    if set(value) == {"Std:JsonGet"}:
        return _json_get(value["Std:JsonGet"], context)
    return {key: resolve(item, context) for key, item in value.items()}


def to_text(value: Any) -> str:
    """How a value reads when joined into a string (as SageMaker renders primitives)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _get(path: str, context: Context) -> Any:
    head, _, rest = path.partition(".")
    if head == "Parameters":
        if rest not in context.parameters:
            raise ExpressionError(f"unknown parameter {rest!r}")
        return context.parameters[rest]
    if head == "Execution":
        if rest not in context.execution:
            raise ExpressionError(f"unknown execution variable {rest!r}")
        return context.execution[rest]
    if head == "Steps":
        tokens = split_path(rest)
        if not tokens or not isinstance(tokens[0], str):
            raise ExpressionError(f"cannot parse the step reference {path!r}")
        step = tokens[0]
        if step not in context.steps:
            raise ExpressionError(f"{path}: step {step!r} has not run")
        return walk(context.steps[step], tokens[1:], path)
    raise ExpressionError(f"unsupported reference {path!r}")


def _json_get(spec: Mapping[str, Any], context: Context) -> Any:
    reference = spec.get("PropertyFile")
    path = str(spec.get("Path", ""))
    if not isinstance(reference, Mapping) or "Get" not in reference:
        raise ExpressionError(f"Std:JsonGet without a property file reference: {spec!r}")
    match = re.fullmatch(r"Steps\.([^.]+)\.PropertyFiles\.(.+)", str(reference["Get"]))
    if not match:
        raise ExpressionError(f"unsupported property file reference {reference['Get']!r}")
    step, name = match.groups()
    files = context.property_files.get(step)
    if files is None:
        raise ExpressionError(f"step {step!r} has not run, so its property file {name} is unknown")
    if name not in files:
        raise ExpressionError(f"step {step!r} has no property file {name!r}")
    return json_get(files[name], path, f"property file {name}")


_COMPARISONS = {
    "Equals": ("==", lambda a, b: a == b),
    "GreaterThan": (">", lambda a, b: a > b),
    "GreaterThanOrEqualTo": (">=", lambda a, b: a >= b),
    "LessThan": ("<", lambda a, b: a < b),
    "LessThanOrEqualTo": ("<=", lambda a, b: a <= b),
}


@dataclass(frozen=True)
class Outcome:
    """A condition's result and how it read, e.g. `0.97 >= 0.985: false`."""

    holds: bool
    text: str


def evaluate(condition: Mapping[str, Any], context: Context) -> Outcome:
    """Evaluate one condition of a ConditionStep."""
    kind = condition.get("Type")
    if kind in _COMPARISONS:
        symbol, compare = _COMPARISONS[str(kind)]
        left = resolve(condition.get("LeftValue"), context)
        right = resolve(condition.get("RightValue"), context)
        a, b = _comparable(left, right)
        try:
            holds = bool(compare(a, b))
        except TypeError:
            holds = False
        return Outcome(
            holds,
            f"{_describe(condition.get('LeftValue'), left)} {symbol} "
            f"{_describe(condition.get('RightValue'), right)}",
        )
    if kind == "In":
        value = resolve(condition.get("QueryValue"), context)
        values = resolve(condition.get("Values", []), context)
        holds = any(_comparable(value, item)[0] == _comparable(value, item)[1] for item in values)
        return Outcome(holds, f"{to_text(value)} in {to_text(values)}")
    if kind == "Not":
        inner = evaluate(condition["Condition"], context)
        return Outcome(not inner.holds, f"not ({inner.text})")
    if kind == "Or":
        outcomes = [evaluate(item, context) for item in condition.get("Conditions", [])]
        return Outcome(any(o.holds for o in outcomes), " or ".join(o.text for o in outcomes))
    raise ExpressionError(f"unsupported condition type {kind!r}")


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Compare numbers as numbers (JsonGet may give "0.98"), everything else as given."""
    numbers = []
    for value in (left, right):
        if isinstance(value, bool) or value is None:
            return left, right
        try:
            numbers.append(float(value))
        except (TypeError, ValueError):
            return left, right
    return numbers[0], numbers[1]


def _describe(expression: Any, value: Any) -> str:
    if isinstance(expression, Mapping) and "Std:JsonGet" in expression:
        return f"{expression['Std:JsonGet'].get('Path')}={to_text(value)}"
    if isinstance(expression, Mapping) and "Get" in expression:
        return f"{str(expression['Get']).split('.')[-1]}={to_text(value)}"
    return to_text(value)
