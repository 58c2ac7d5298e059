"""The measured tables of docs/evaluation.md, rendered from the committed reports they quote
(evals/results/*.json), between `<!-- figures:NAME -->` and `<!-- /figures -->` markers, so a
figure cannot be typed by hand or outlive its report: `railyard docs reference` writes them,
`--check` (CI, tests/test_docs.py) fails when the page and its reports differ."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from serving.settings.paths import ROOT

RESULTS = ROOT / "evals" / "results"
ANSWER_SETS = {
    "18F dev": "18f-handbook.json",
    "Sourcegraph, own set": "sourcegraph-handbook.json",
    "Sourcegraph, colloquial": "sourcegraph-colloquial.json",
}
"""The answer-quality table's columns: heading and report."""
MARKED = re.compile(r"(<!-- figures:(?P<name>[a-z-]+) -->\n).*?(<!-- /figures -->)", re.DOTALL)


def render(page: str, results: Path = RESULTS) -> str:
    """The page with each marked table rendered anew from its reports."""

    def table(match: re.Match) -> str:
        rendered = TABLES[match["name"]](results)
        return f"{match[1]}{rendered}{match[3]}"

    return MARKED.sub(table, page)


def _load(results: Path, name: str) -> dict[str, Any]:
    return json.loads((results / name).read_text())


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _outcomes(counts: dict[str, int]) -> str:
    return " / ".join(str(counts.get(k, 0)) for k in ("answer", "unsure", "none"))


def _calibration(report: dict[str, Any]) -> str:
    errors = [r["expected_calibration_error"] for r in report["reliability"] if len(r) == 1]
    return _share(errors[0] if errors else None)


def _questions(report: dict[str, Any]) -> str:
    unanswerable = report["questions"] - report["answerable"]
    return f"{report['answerable']} / {report['two_document']} / {unanswerable}"


def _latency(report: dict[str, Any]) -> str:
    answers = report["answers"]
    return f"{answers['latency_p50_ms'] / 1000:.2f} / {answers['latency_p95_ms'] / 1000:.2f} s"


ANSWER_ROWS: list[tuple[str, str, str | Callable[[dict[str, Any]], str]]] = [
    ("questions (answerable / two-document / unanswerable)", "", _questions),
    ("right file cited first (hit@1)", "", "source_hit@1"),
    ("right file cited (3 chunks per answer)", "≥ 0.90", "source_hit"),
    ("both files cited, two-document questions", "≥ 0.6", "two_document_hit"),
    ("answer states the asked fact (every part's)", "≥ 0.55", "answer_match"),
    ("the answering sentence among the scored candidates", "", "candidate_recall"),
    ('"I don\'t know" on answerable questions (false refusals)', "≤ 0.10", "false_refusals"),
    ("unanswerable questions refused", "≥ 0.80", "refusal_on_unanswerable"),
    ("outcomes, answerable: answer / unsure / none", "",
     lambda r: _outcomes(r["outcomes"]["answerable"])),
    ("outcomes, unanswerable: answer / unsure / none", "",
     lambda r: _outcomes(r["outcomes"]["unanswerable"])),
    ("calibration: expected error of `confidence` vs answerable", "", _calibration),
    ("answers supported by their citations (groundedness checker)", "", "grounded"),
    ("answered through the local model (LiteLLM)", "all", "answered_by_model"),
    ("latency p50 / p95 (TTFT = latency: the answer is sent whole)", "≤ 1.5 / 2.5 s", _latency),
]  # fmt: skip
"""Label, target and the figure: a share under the report's `answers`, or how to write it."""


def _cell(value: str | Callable[[dict[str, Any]], str], report: dict[str, Any]) -> str:
    return _share(report["answers"][value]) if isinstance(value, str) else value(report)


def answers_table(results: Path) -> str:
    reports = {title: _load(results, name) for title, name in ANSWER_SETS.items()}
    heads = " | ".join(f"{title} (`{ANSWER_SETS[title]}`)" for title in reports)
    lines = [
        f"| measure (as served, defaults, rails on) | target (issue 27) | {heads} |",
        "|---|---|" + "---|" * len(reports),
    ]
    for label, target, value in ANSWER_ROWS:
        cells = [label, target, *(_cell(value, report) for report in reports.values())]
        lines.append("|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|")
    return "\n".join(lines) + "\n"


def followups_table(results: Path) -> str:
    report = _load(results, "18f-followups.json")
    lines = [
        "| turn | right file cited, with the conversation | alone "
        "| answer states the fact, with / alone |",
        "|---|---|---|---|",
    ]
    for turn, asked in sorted(report["by_turn"].items(), key=lambda item: int(item[0])):
        with_history, alone = asked["with_history"], asked["alone"]
        lines.append(
            f"| {turn} (n={with_history['source_hit']['n']}) "
            f"| {_share(with_history['source_hit']['share'])} "
            f"| {_share(alone['source_hit']['share'])} "
            f"| {_share(with_history['answer_match']['share'])} / "
            f"{_share(alone['answer_match']['share'])} |"
        )
    return "\n".join(lines) + "\n"


TABLES: dict[str, Callable[[Path], str]] = {
    "answers": answers_table,
    "followups": followups_table,
}
