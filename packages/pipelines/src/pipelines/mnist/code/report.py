"""The run report: one self-contained HTML page a person reads to see why a model passed or not.

Written by the evaluate step (the gate cannot skip it) from what the steps already produce:
evaluation.json, prepare's data report and class balance picture, train's metrics and
training curves. Pictures are PNG bytes inlined as base64 data URIs, so the page needs
nothing else. Sections: outcome, gate decisions (each value with its limit), data checks,
class balance, training curves, confusion matrix, per-class precision and recall, the
accuracy on the test digits under each variation real writers and scanners produce, the
accuracy on people's reviewed corrections among the test images, the champion comparison
with its decision rule, int8 quantization, lineage. A section whose input came from an
earlier execution (a cached step) says so and names that execution.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# The sections every complete report has, in order (tests and readers rely on the ids).
SECTIONS = (
    ("outcome", "Outcome"),
    ("gates", "Gate decisions"),
    ("data", "Data checks"),
    ("balance", "Class balance"),
    ("training", "Training curves"),
    ("confusion", "Confusion matrix"),
    ("per-class", "Per-class precision and recall"),
    ("robustness", "Accuracy under variations"),
    ("feedback", "Feedback test images"),
    ("champion", "Champion comparison"),
    ("quantization", "Quantization"),
    ("lineage", "Lineage"),
)

# Sections added after the run, by whoever ran it (never by the steps): id -> title. "aws":
# what the run would take and cost in AWS, added to a local run's report when it has ended
# (playground.run_end), placed before the lineage.
LATER_SECTIONS = {"aws": "In AWS (projected)"}

_EXECUTION_IN_URI = re.compile(r"(?:executions/|pipelines-)([A-Za-z0-9]+)")


def producing_execution(uri: str) -> str | None:
    """The pipeline execution id an S3 output URI belongs to, or None when it names none.

    Pipeline step outputs sit under ``.../executions/<id>/<step>/...`` and training jobs are
    named ``pipelines-<id>-<step>...`` (by SageMaker and by the local runner alike).
    """
    match = _EXECUTION_IN_URI.search(uri or "")
    return match.group(1) if match else None


@dataclass
class RunFacts:
    """Everything the report shows; plain data, gathered by the evaluate step."""

    execution_id: str
    evaluation: dict[str, Any]
    gates: list[dict[str, Any]]  # gates.judge(...)
    confusion_png: bytes
    data_report: dict[str, Any] | None = None
    class_balance_png: bytes | None = None
    training: dict[str, Any] | None = None  # train's metrics.json (history, hyperparameters)
    curves_png: bytes | None = None
    lineage: dict[str, str] = field(default_factory=dict)
    # Step name -> the execution whose output was used, when it is not this one (cached).
    reused_from: dict[str, str] = field(default_factory=dict)
    report_uri: str = ""


def outcome(gates: list[dict[str, Any]]) -> str:
    """'passed', or 'failed: <label> <value> (needs <cmp> <limit>); ...' naming every failure."""
    failed = [g for g in gates if g["passed"] is False]
    if not failed:
        return "passed"
    return "failed: " + "; ".join(
        f"{g['label']} {_number(g['value'])} (needs {g['comparison']} {_number(g['limit'])})"
        for g in failed
    )


def render(facts: RunFacts) -> str:
    """The report as one HTML document (str); every value is escaped."""
    evaluation = facts.evaluation
    metrics = evaluation["metrics"]
    verdict = outcome(facts.gates)
    parts = [
        _section(
            "outcome",
            f'<p class="{"pass" if verdict == "passed" else "fail"}">Model gate '
            f"<strong>{_e(verdict)}</strong></p>"
            f"<p>Test accuracy {_number(metrics['accuracy']['value'])} on "
            f"{_e(metrics.get('test_images', '?'))} test images; shipped file "
            f"{_e(evaluation['model']['size_bytes'])} bytes, "
            f"{'int8' if evaluation['model'].get('quantized') else 'fp32'}, SHA-256 "
            f"<code>{_e(evaluation['model']['sha256'])}</code>.</p>",
        ),
        _section("gates", _gates_table(facts.gates)),
        _section("data", _data_checks(facts.data_report), _reuse(facts, "PrepareData")),
        _section(
            "balance",
            _picture(facts.class_balance_png, "class balance per split"),
            _reuse(facts, "PrepareData"),
        ),
        _section("training", _training(facts), _reuse(facts, "TrainModel")),
        _section("confusion", _picture(facts.confusion_png, "confusion matrix, rows: true digit")),
        _section("per-class", _per_class(metrics)),
        _section("robustness", _robustness(evaluation)),
        _section("feedback", _feedback(evaluation, facts.data_report)),
        _section("champion", _champion(evaluation["champion"])),
        _section("quantization", _table(sorted(evaluation.get("quantization", {}).items()))),
        _section("lineage", _table([*facts.lineage.items(), ("report", facts.report_uri)])),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Run {_e(facts.execution_id)}: {_e(verdict)}</title><style>{_STYLE}</style>"
        f"</head><body><h1>Pipeline run <code>{_e(facts.execution_id)}</code></h1>"
        + "".join(parts)
        + "</body></html>\n"
    )


_STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;"
    "text-align:left;vertical-align:top}.pass{color:#11672b}.fail{color:#a4161a}"
    ".reused{background:#fff4d6;padding:.3rem .6rem}img{max-width:100%}"
)


def with_section(
    page: str,
    anchor: str,
    text: str,
    rows: Sequence[tuple[Any, ...]] = (),
    header: tuple[str, ...] = (),
) -> str:
    """The report ``page`` with the later section ``anchor`` (see LATER_SECTIONS) set.

    The section holds ``text`` as a paragraph and, when given, a table of ``rows`` under
    ``header`` (every value escaped). It replaces a section of that id already in the page,
    else goes before the lineage (at the end of the body when the page has none), so adding it
    twice leaves one. Raises KeyError for an anchor not in LATER_SECTIONS and ValueError for a
    page that is not a report (no ``</body>``).
    """
    title = LATER_SECTIONS[anchor]
    section = (
        f'<section id="{anchor}"><h2>{_e(title)}</h2><p>{_e(text)}</p>'
        f"{_table(rows, header) if rows else ''}</section>"
    )
    existing = re.search(rf'<section id="{re.escape(anchor)}">.*?</section>', page, re.DOTALL)
    if existing:
        return page[: existing.start()] + section + page[existing.end() :]
    for marker in ('<section id="lineage">', "</body>"):
        at = page.find(marker)
        if at >= 0:
            return page[:at] + section + page[at:]
    raise ValueError("not a run report: no </body>")


def _e(value: Any) -> str:
    return html.escape(str(value))


def _number(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.6g}"
    if isinstance(value, float):
        return str(int(value))
    return str(value)


def _section(anchor: str, body: str, note: str = "") -> str:
    title = dict(SECTIONS)[anchor]
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{note}{body}</section>'


def _reuse(facts: RunFacts, step: str) -> str:
    source = facts.reused_from.get(step)
    if not source:
        return ""
    return (
        f'<p class="reused">Reused: {_e(step)} was a cache hit; this comes from execution '
        f"<code>{_e(source)}</code>, the run that produced it.</p>"
    )


def _picture(png: bytes | None, alt: str) -> str:
    if not png:
        return "<p>Not available for this run.</p>"
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _table(rows: Sequence[tuple[Any, ...]], header: tuple[str, ...] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(_number(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


def _gates_table(gates: list[dict[str, Any]]) -> str:
    verdicts = {True: "passed", False: "FAILED", None: "not judged"}
    rows = [
        (
            g["label"],
            g["value"],
            f"{g['comparison']} {_number(g['limit'])} ({g['parameter']})",
            verdicts[g["passed"]],
        )
        for g in gates
    ]
    return _table(rows, ("condition", "measured", "needs", "decision"))


def _data_checks(data_report: dict[str, Any] | None) -> str:
    if not data_report:
        return "<p>Not available for this run.</p>"
    rows = [
        (
            check["name"],
            {True: "passed", False: "FAILED", None: "not run"}[check.get("passed")],
            "; ".join(check.get("details", [])),
        )
        for check in data_report.get("checks", [])
    ]
    splits = [
        (name, split.get("images"), ", ".join(str(n) for n in split.get("per_class", [])))
        for name, split in data_report.get("splits", {}).items()
    ]
    return (
        f"<p>Data validation {_e(data_report.get('status', '?'))}.</p>"
        + _table(rows, ("check", "result", "details"))
        + "<h3>Splits</h3>"
        + _table(splits, ("split", "images", "images per digit 0-9"))
    )


def _training(facts: RunFacts) -> str:
    training = facts.training
    if not training:
        return _picture(facts.curves_png, "training curves")
    history = training.get("history", [])
    rows = [
        (int(h["epoch"]), h["loss"], h["val_loss"], h["train_accuracy"], h["val_accuracy"])
        for h in history
    ]
    return (
        _picture(facts.curves_png, "training curves: loss and accuracy per epoch")
        + _table(rows, ("epoch", "train loss", "validation loss", "train accuracy", "val accuracy"))
        + "<h3>Hyperparameters</h3>"
        + _table(sorted(training.get("hyperparameters", {}).items()))
    )


def _per_class(metrics: dict[str, Any]) -> str:
    rows = [
        (digit, values["precision"], values["recall"], values["support"])
        for digit, values in sorted(metrics["per_class"].items(), key=lambda kv: int(kv[0]))
    ]
    return _table(rows, ("digit", "precision", "recall", "test images"))


def _robustness(evaluation: dict[str, Any]) -> str:
    """The shipped file's accuracy on the test digits under each variation (variations.py)."""
    varied = evaluation.get("robustness")
    if not varied:
        return "<p>Not measured (an evaluation.json from before the robustness check).</p>"
    clean = evaluation["metrics"]["accuracy"]["value"]
    rows = [
        (name, v["description"], v["accuracy"], v["accuracy"] - clean, v["agreement"])
        for name, v in varied.items()
    ]
    note = (
        "<p>The test digits changed as other writers, pens and scanners change them "
        "(code/variations.py names each one's source); agreement: the share read as the "
        "unchanged digit was.</p>"
    )
    header = ("variation", "what", "accuracy", "against unchanged", "agreement")
    return note + _table(rows, header)


def _feedback(evaluation: dict[str, Any], data_report: dict[str, Any] | None) -> str:
    """The shipped file on the test images that came from people's reviewed corrections."""
    block = evaluation.get("feedback") or {}
    shard = (data_report or {}).get("feedback") or {}
    if not block.get("test_count"):
        held = (
            f" The shard's {shard['images']} images all fell into training or validation."
            if shard.get("images")
            else ""
        )
        return f"<p>No feedback images among the test images of this run.{held}</p>"
    rows = [
        ("feedback test images", block["test_count"]),
        ("classified correctly", block.get("test_correct")),
        ("accuracy on them", block.get("test_accuracy")),
        ("accuracy on the whole test split", evaluation["metrics"]["accuracy"]["value"]),
    ]
    rows += [
        (f"feedback images in {split}", count)
        for split, count in (shard.get("per_split") or {}).items()
    ]
    return (
        "<p>People's corrections from the web app, accepted by a reviewer: the closest thing "
        "to real use. Reported, not gated (a handful of images says little).</p>" + _table(rows)
    )


def _champion(champion: dict[str, Any]) -> str:
    rows = [
        ("decision", champion.get("decision")),
        ("champion version", champion.get("version") or "none"),
        ("champion accuracy", champion.get("accuracy")),
        ("accuracy delta (challenger - champion)", champion.get("accuracy_delta")),
        ("b: only the champion right", champion.get("only_champion_correct")),
        ("c: only the challenger right", champion.get("only_challenger_correct")),
        ("p_value_worse", champion.get("p_value_worse")),
        ("significance", champion.get("significance")),
    ]
    if champion.get("note"):
        rows.append(("note", champion["note"]))
    return _table(rows) + f"<p><strong>Decision rule.</strong> {_e(champion['decision_rule'])}</p>"
