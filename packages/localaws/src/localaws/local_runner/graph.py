"""The step graph of a definition: steps (branches included), dependencies and parameters.

Everything here is checked before any step runs, so a bad definition fails with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SUPPORTED_TYPES = {"Processing", "Training", "Condition", "Fail"}


class PipelineError(ValueError):
    """The definition or the parameters cannot be run (the message says why)."""


@dataclass(frozen=True)
class FlatStep:
    """A step with where it sits: top level, or inside a condition step's branch."""

    spec: dict[str, Any]
    parent: str | None = None
    branch: bool | None = None


def flatten_steps(definition: Mapping[str, Any]) -> dict[str, FlatStep]:
    """All steps by name, in definition order, branches right after their condition."""
    steps: dict[str, FlatStep] = {}

    def add(spec: dict[str, Any], parent: str | None, branch: bool | None) -> None:
        name = str(spec.get("Name"))
        if name in steps:
            raise PipelineError(f"two steps are named {name!r}")
        if spec.get("Type") not in SUPPORTED_TYPES:
            raise PipelineError(
                f"step {name!r} has type {spec.get('Type')!r}; the local runner runs "
                f"{', '.join(sorted(SUPPORTED_TYPES))}"
            )
        steps[name] = FlatStep(spec, parent, branch)
        if spec["Type"] == "Condition":
            for child in spec["Arguments"].get("IfSteps", []):
                add(child, name, True)
            for child in spec["Arguments"].get("ElseSteps", []):
                add(child, name, False)

    for spec in definition.get("Steps", []):
        add(spec, None, None)
    return steps


_STEP_REFERENCE = re.compile(r"^Steps\.([A-Za-z0-9_-]+)")


def dependencies(flat: FlatStep, names: set[str]) -> set[str]:
    """Steps this step needs: DependsOn, `Steps.X` references, its condition step."""
    found = {str(name) for name in flat.spec.get("DependsOn", [])}
    arguments = dict(flat.spec.get("Arguments", {}))
    arguments.pop("IfSteps", None)
    arguments.pop("ElseSteps", None)

    def scan(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "Get" and isinstance(item, str):
                    match = _STEP_REFERENCE.match(item)
                    if match:
                        found.add(match.group(1))
                else:
                    scan(item)
        elif isinstance(value, list):
            for item in value:
                scan(item)

    scan(arguments)
    if flat.parent:
        found.add(flat.parent)
    unknown = found - names
    if unknown:
        raise PipelineError(f"step {flat.spec['Name']!r} refers to unknown steps {sorted(unknown)}")
    return found


class StepGraph:
    """The steps of one definition and what each needs, in an order they can run in."""

    def __init__(self, definition: Mapping[str, Any]) -> None:
        """Flatten the steps and resolve every dependency (PipelineError when one is bad)."""
        self.steps = flatten_steps(definition)
        names = set(self.steps)
        self.needs = {name: dependencies(flat, names) for name, flat in self.steps.items()}

    def next_ready(self, pending: list[str]) -> str:
        """The first pending step none of whose dependencies is pending."""
        ready = next((n for n in pending if all(d not in pending for d in self.needs[n])), None)
        if ready is None:
            raise PipelineError(f"steps {pending} depend on each other in a cycle")
        return ready

    def should_run(self, name: str, succeeded: set[str], outcomes: Mapping[str, Any]) -> bool:
        """Whether a step runs: every step it needs succeeded and its branch was taken.

        ``outcomes`` maps condition steps to their ``Outcome`` property ("True"/"False").
        """
        flat = self.steps[name]
        if not self.needs[name] <= succeeded:
            return False
        if flat.parent is None:
            return True
        return outcomes.get(flat.parent) == ("True" if flat.branch else "False")


def parse_parameters(
    definition: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Parameter values: defaults, overridden by `Name=value` strings, typed and checked."""
    declared = {str(p["Name"]): p for p in definition.get("Parameters", [])}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise PipelineError(
            f"unknown parameter(s) {', '.join(unknown)}; the pipeline has {', '.join(declared)}"
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in overrides:
            values[name] = _typed(name, spec, overrides[name])
        elif "DefaultValue" in spec:
            values[name] = spec["DefaultValue"]
        else:
            raise PipelineError(f"parameter {name} has no default; pass --param {name}=...")
        enum = spec.get("EnumValues")
        if enum and str(values[name]) not in [str(v) for v in enum]:
            raise PipelineError(f"parameter {name} must be one of {', '.join(map(str, enum))}")
    return values


def _typed(name: str, spec: Mapping[str, Any], text: str) -> Any:
    kind = spec.get("Type", "String")
    try:
        if kind == "Integer":
            return int(text)
        if kind == "Float":
            return float(text)
    except ValueError:
        raise PipelineError(f"parameter {name} needs a {kind.lower()}, got {text!r}") from None
    if kind == "Boolean":
        if text.lower() not in ("true", "false"):
            raise PipelineError(f"parameter {name} needs true or false, got {text!r}")
        return text.lower() == "true"
    return text
