"""report.py and gates.py: the run report a person reads, for a passing and a failing gate."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest

LIMITS = {
    "AccuracyThreshold": 0.985,
    "MinClassRecall": 0.95,
    "ChampionSignificance": 0.05,
    "MinParityAgreement": 0.995,
    "MaxParityLogitDiff": 0.001,
    "MaxModelSizeBytes": 122880,
    "MinVariationAccuracy": 0.97,
}
VARIATIONS = (
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


def evaluation(
    accuracy: float = 0.991, weakest_recall: float = 0.97, thin: float = 0.981
) -> dict[str, Any]:
    """An evaluation.json as contracts/evaluation-report.md describes it (10 digits, 1,000)."""
    matrix = [[100 if row == col else 0 for col in range(10)] for row in range(10)]
    matrix[3][5], matrix[3][3] = 3, 97
    per_class = {
        str(d): {"precision": 0.99, "recall": 1.0 if d != 3 else weakest_recall, "support": 100}
        for d in range(10)
    }
    return {
        "metrics": {
            "accuracy": {"value": accuracy},
            "min_class_recall": {"value": weakest_recall, "digit": 3},
            "per_class": per_class,
            "confusion_matrix": matrix,
            "test_images": 1000,
        },
        "parity": {"argmax_agreement": 0.999, "fp32_max_abs_logit_diff": 2.4e-06},
        "model": {"size_bytes": 71394, "sha256": "ab" * 32, "quantized": True},
        "quantization": {"attempted": True, "kept": True, "accuracy_drop": 0.0},
        "champion": {
            "version": 2,
            "accuracy": 0.989,
            "accuracy_delta": 0.002,
            "only_champion_correct": 4,
            "only_challenger_correct": 6,
            "p_value_worse": 0.828125,
            "significance": 0.05,
            "decision": "not worse than the champion",
            "decision_rule": "Paired comparison on the same test images (McNemar, exact).",
        },
        "dataset_hash": "cd" * 32,
        "robustness": {
            name: {
                "accuracy": thin if name == "thin" else 0.985,
                "agreement": 0.99,
                "description": f"{name} as variations.py makes it",
                "images": 1000,
            }
            for name in VARIATIONS
        },
    }


class Page(HTMLParser):
    """Section ids, section text and inline pictures of a report."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, str] = {}
        self.images: dict[str, bytes] = {}
        self.current = ""
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section":
            self.current = found["id"] or ""
            self.sections[self.current] = ""
        if tag == "img":
            source = found.get("src") or ""
            if not source.startswith("data:image/png;base64,"):
                self.external.append(source)
            else:
                self.images[self.current] = base64.b64decode(source.split(",", 1)[1])
        for name in ("href", "src"):
            if name in found and tag not in ("img",):
                self.external.append(found[name] or "")

    def handle_data(self, data: str) -> None:
        if self.current:
            self.sections[self.current] += data


def parse(page: str) -> Page:
    parsed = Page()
    parsed.feed(page)
    return parsed


def facts(load: Callable[[str], Any], report: dict[str, Any], **extra: Any) -> Any:
    gates, evaluate, prepare = load("gates"), load("evaluate"), load("prepare")
    module = load("report")
    matrix = report["metrics"]["confusion_matrix"]
    history = [
        {"epoch": e, "loss": 1 / e, "val_loss": 1.1 / e, "train_accuracy": 0.9, "val_accuracy": 0.9}
        for e in (1, 2, 3)
    ]
    return module.RunFacts(
        execution_id="abc123def456",
        evaluation=report,
        gates=extra.pop("gates") if "gates" in extra else gates.judge(report, LIMITS),
        confusion_png=evaluate.confusion_png(matrix, report["metrics"]["accuracy"]["value"]),
        data_report={
            "status": "passed",
            "checks": [{"name": "class_balance", "passed": True, "details": ["digit 1: 11%"]}],
            "splits": {"test": {"images": 1000, "per_class": [100] * 10}},
        },
        class_balance_png=prepare.class_balance_png({"train": [80] * 10, "test": [100] * 10}),
        training={"history": history, "hyperparameters": {"epochs": 3, "lr": 0.004}},
        curves_png=evaluate.confusion_png(matrix, 0.5),  # any PNG: train.py needs torch
        lineage={"dataset version": "cd27dd7af04e1ad2", "git commit": "f" * 40},
        report_uri="s3://models/reports/abc123def456/report.html",
        **extra,
    )


def test_a_passing_run_has_every_section_with_its_pictures_inline(code_modules):
    with code_modules() as load:
        module = load("report")
        page = parse(module.render(facts(load, evaluation())))

    assert list(page.sections) == [anchor for anchor, _ in module.SECTIONS]
    for section in ("balance", "training", "confusion"):
        assert page.images[section].startswith(b"\x89PNG\r\n\x1a\n"), section
    assert page.external == []  # self-contained: nothing fetched from elsewhere
    assert "Model gate passed" in page.sections["outcome"]
    assert page.sections["gates"].count("passed") == 16  # 6 and one per variation
    assert "class_balance" in page.sections["data"]
    assert "0.97" in page.sections["per-class"]  # digit 3's recall
    assert "McNemar" in page.sections["champion"]
    assert "0.828125" in page.sections["champion"]
    assert "not worse than the champion" in page.sections["champion"]
    assert "cd27dd7af04e1ad2" in page.sections["lineage"]
    assert "f" * 40 in page.sections["lineage"]
    assert "Reused" not in "".join(page.sections.values())


def test_a_failed_gate_report_names_the_failing_condition_and_its_value(code_modules):
    with code_modules() as load:
        module = load("report")
        report = evaluation(accuracy=0.9712, weakest_recall=0.91)
        run = facts(load, report)
        page = parse(module.render(run))
        verdict = module.outcome(run.gates)

    assert verdict == (
        "failed: test accuracy 0.9712 (needs >= 0.985); "
        "lowest per-digit recall 0.91 (needs >= 0.95)"
    )
    assert verdict in page.sections["outcome"]
    rows = re.findall(
        r"(test accuracy|lowest per-digit recall)0\.9\d+>= 0\.9\d+ \(\w+\)FAILED",
        page.sections["gates"],
    )
    assert rows == ["test accuracy", "lowest per-digit recall"]
    assert page.sections["gates"].count("passed") == 14


def test_a_cached_steps_sections_say_which_run_they_come_from(code_modules):
    with code_modules() as load:
        module = load("report")
        run = facts(load, evaluation(), reused_from={"TrainModel": "older789"})
        page = parse(module.render(run))

    assert "Reused" in page.sections["training"]
    assert "older789" in page.sections["training"]
    assert page.images["training"].startswith(b"\x89PNG")  # the earlier run's curves
    assert "Reused" not in page.sections["data"]


@pytest.mark.parametrize(
    ("uri", "execution"),
    [
        ("s3://data/pipelines/mnist/executions/k3j4h5/PrepareData/report", "k3j4h5"),
        (
            "s3://data/pipelines/mnist/training/pipelines-k3j4h5-TrainModel/output/model.tar.gz",
            "k3j4h5",
        ),
        ("s3://data/somewhere/model.tar.gz", None),
        ("", None),
    ],
)
def test_the_producing_execution_is_read_from_an_output_uri(code_modules, uri, execution):
    with code_modules() as load:
        assert load("report").producing_execution(uri) == execution


def test_a_value_a_report_shows_is_escaped(code_modules):
    with code_modules() as load:
        module = load("report")
        report = evaluation()
        report["champion"]["note"] = "<script>alert(1)</script>"
        page = module.render(facts(load, report))

    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_judging_a_report_without_a_gates_number_names_it(code_modules):
    with code_modules() as load:
        report = evaluation()
        del report["parity"]["argmax_agreement"]
        with pytest.raises(KeyError, match="argmax_agreement"):
            load("gates").judge(report, LIMITS)


def test_the_feedback_section_shows_accuracy_on_peoples_corrections_apart(code_modules):
    report = {
        **evaluation(),
        "feedback": {"test_count": 3, "test_correct": 2, "test_accuracy": 2 / 3},
    }
    shard = {"images": 30, "per_split": {"train": 24, "validation": 3, "test": 3}}
    with code_modules() as load:
        module = load("report")
        made = facts(load, report)
        made.data_report = {**made.data_report, "feedback": shard}
        page = parse(module.render(made))
        without = parse(module.render(facts(load, evaluation())))

    section = page.sections["feedback"]
    assert "feedback test images3" in section  # cells run together in the parsed text
    assert "classified correctly2" in section
    assert "0.666667" in section  # accuracy on them, next to the whole split's
    assert "0.991" in section
    assert "feedback images in train24" in section
    assert "No feedback images among the test images" in without.sections["feedback"]


def test_a_variation_below_its_floor_fails_the_gate_by_name(code_modules):
    with code_modules() as load:
        module = load("report")
        run = facts(load, evaluation(thin=0.951))
        page = parse(module.render(run))
        verdict = module.outcome(run.gates)

    assert verdict == "failed: test accuracy, thin strokes 0.951 (needs >= 0.97)"
    [failed] = [g for g in run.gates if g["passed"] is False]
    assert (failed["measured"], failed["parameter"]) == (
        "robustness.thin.accuracy",
        "MinVariationAccuracy",
    )
    section = page.sections["robustness"]
    assert "thin as variations.py makes it" in section
    assert "0.951" in section
    assert "-0.04" in section  # against the unchanged digits' 0.991


def test_an_evaluation_from_before_the_robustness_check_says_so(code_modules):
    report = evaluation()
    del report["robustness"]
    with code_modules() as load:
        module = load("report")
        page = parse(module.render(facts(load, report, gates=[])))

    assert "Not measured" in page.sections["robustness"]


def test_a_later_section_goes_before_the_lineage_once_and_escaped(code_modules):
    with code_modules() as load:
        module = load("report")
        page = module.render(facts(load, evaluation()))
        added = module.with_section(
            page, "aws", "about 9 min <and> $0.04", [("Train", 1)], ("a", "b")
        )
        again = module.with_section(added, "aws", "about 2 min", [])
        with pytest.raises(KeyError):
            module.with_section(page, "costs", "x")
        with pytest.raises(ValueError, match="not a run report"):
            module.with_section("<html>", "aws", "x")

    sections = list(parse(added).sections)
    assert sections[-2:] == ["aws", "lineage"]
    assert "about 9 min <and> $0.04" in parse(added).sections["aws"]
    assert "&lt;and&gt;" in added
    assert list(parse(again).sections).count("aws") == 1
    assert "about 2 min" in parse(again).sections["aws"]
    assert "9 min" not in again
