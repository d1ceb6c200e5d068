"""The model gate, in one table: the pipeline's conditions, its failure message and the report.

`pipelines/mnist/pipeline.py` builds the ConditionStep and the FailStep message from `GATES`;
the evaluate step judges the same table on the numbers it measured (`judge`), so the run
report shows the decision with the values and limits that made it. Every number is measured
on the file that ships, on the test split (contracts/evaluation-report.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Gate:
    """One condition of the model gate: a number from evaluation.json against a parameter."""

    measured: str  # JSON path in evaluation.json (contracts/evaluation-report.md)
    comparison: str  # ">=" or "<="
    parameter: str  # the pipeline parameter holding the limit
    label: str  # how the failure message and the report name the number


GATES = (
    Gate("metrics.accuracy.value", ">=", "AccuracyThreshold", "test accuracy"),
    Gate("metrics.min_class_recall.value", ">=", "MinClassRecall", "lowest per-digit recall"),
    Gate(
        "champion.p_value_worse",
        ">=",
        "ChampionSignificance",
        "p-value that it is worse than the champion (McNemar, exact)",
    ),
    Gate(
        "parity.argmax_agreement",
        ">=",
        "MinParityAgreement",
        "argmax agreement of the shipped file with PyTorch",
    ),
    Gate(
        "parity.fp32_max_abs_logit_diff",
        "<=",
        "MaxParityLogitDiff",
        "largest logit difference of the fp32 export from PyTorch",
    ),
    Gate("model.size_bytes", "<=", "MaxModelSizeBytes", "shipped file size in bytes"),
    # One per variation of variations.py (its VARIATIONS, in order; a test holds the two
    # together): the shipped file's accuracy on the test digits so varied.
    *(
        Gate(f"robustness.{name}.accuracy", ">=", "MinVariationAccuracy", f"test accuracy, {how}")
        for name, how in (
            ("shift", "digits shifted 2 px"),
            ("scale", "digits 20% larger or smaller"),
            ("rotation", "digits rotated 10 degrees"),
            ("shear", "digits slanted 17 degrees"),
            ("thin", "thin strokes"),
            ("thick", "thick strokes"),
            ("broken", "broken strokes"),
            ("blur", "blurred digits"),
            ("low_resolution", "digits scanned at half resolution"),
            ("noise", "noisy digits"),
        )
    ),
)


def measured_value(report: dict[str, Any], path: str) -> float:
    """The number at a dotted JSON path of evaluation.json (KeyError names a missing part)."""
    value: Any = report
    for part in path.split("."):
        value = value[part]
    return float(value)


def judge(report: dict[str, Any], limits: dict[str, float]) -> list[dict[str, Any]]:
    """Each gate's decision: label, measured path and value, comparison, parameter, limit, passed.

    ``limits`` maps a gate's parameter name to its value in this run; a gate whose limit was
    not given is reported with ``limit`` None and ``passed`` None (not judged here).
    """
    decisions = []
    for gate in GATES:
        value = measured_value(report, gate.measured)
        limit = limits.get(gate.parameter)
        passed = None
        if limit is not None:
            passed = value >= limit if gate.comparison == ">=" else value <= limit
        decisions.append(
            {
                "label": gate.label,
                "measured": gate.measured,
                "value": value,
                "comparison": gate.comparison,
                "parameter": gate.parameter,
                "limit": limit,
                "passed": passed,
            }
        )
    return decisions
