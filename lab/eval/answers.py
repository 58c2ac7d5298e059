"""`railyard eval` (no sub-command): a corpus and a QA file, answered as `railyard serve` answers
with the same settings: its answer mode, routing mode, retrieval, prompt and models, rails on,
the model called, no answer cache. Every figure comes from the responses: retrieval from their
citations, answers scored by the one scorer (lab/scoring.py).
"""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path
from typing import Any

from graph import build
from lab.harness import corpus_settings, run_query, services
from lab.progress import task
from lab.report import provenance
from lab.scoring import score, summarise
from serving.settings import Settings

ANSWER_FIGURES = (
    "source_hit@1", "source_hit", "two_document_hit", "answer_match", "grounded",
    "false_refusals", "refusal_on_unanswerable", "answered_by_model", "candidate_recall",
    "latency_p50_ms",
    "latency_p95_ms", "ttft_p50_ms", "cost_usd", "routes", "fallback_reasons", "rail_blocks",
)  # fmt: skip


async def evaluate(
    settings: Settings, qa: list[dict], corpus: Path, *, max_tokens: int = 96
) -> dict[str, Any]:
    rows = []
    async with services(corpus_settings(settings, corpus)) as built:
        policy, answer = built.parts.routing, built.parts.answer
        prompt_version = built.parts.prompt.version_id
        request_graph = build(built.context())
        embed = built.knowledge.ingestor.embedder.embed
        with task("eval: answers", len(qa)) as advance:
            for query in qa:
                row = await run_query(request_graph, query, max_tokens, built)
                rows.append(row | score(query, row, embed))
                advance()
    answers = summarise(rows)
    matched = [r["matched"] for r in rows if r["answerable"] and r["matched"] is not None]
    return provenance(settings) | {
        "corpus": str(corpus),
        "questions": len(qa),
        "answerable": sum(q["answerable"] for q in qa),
        "two_document": sum(len(q.get("sources") or []) > 1 for q in qa),
        "routing": policy.name,
        "answer_mode": answer.mode,
        "prompt_version": prompt_version,
        "answer_matched": {"hits": sum(matched), "n": len(matched)},
        "min_confidence": answer.min_confidence,
        "answers": {name: answers[name] for name in ANSWER_FIGURES},
        "outcomes": _outcomes(rows),
        "reliability": reliability(rows),
        "confidence": _confidence(rows),
        "failures": [
            {"id": r["id"], "answer": r["answer"][:200], "cited": r["sources"][:3]}
            for r in rows
            if r["refused"] != (not r["answerable"]) or r["matched"] is False
        ],
    }


def _outcomes(rows: list[dict]) -> dict[str, dict[str, int]]:
    """How many answerable and unanswerable questions got each of the three outcomes."""
    found: dict[str, dict[str, int]] = {"answerable": {}, "unanswerable": {}}
    for row in rows:
        key = "answerable" if row["answerable"] else "unanswerable"
        decision = row.get("decision") or row.get("answer_mode") or "error"
        found[key][decision] = found[key].get(decision, 0) + 1
    return found


def reliability(rows: list[dict], edges=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0)) -> list[dict]:
    """The calibration of `confidence` (how likely the handbook answers the question): per
    bin, the mean confidence beside the observed share of answerable questions, and of
    questions whose answer states the reference fact; the expected calibration error (against
    answerable) as the last row."""
    scored = [
        (r["confidence"], bool(r["answerable"]), bool(r["answerable"] and r["matched"]))
        for r in rows
        if r.get("confidence") is not None
    ]
    table, error = [], 0.0
    for low, high in itertools.pairwise(edges):
        inside = [s for s in scored if low <= s[0] < high or (high == 1.0 and s[0] == 1.0)]
        if not inside:
            continue
        predicted = statistics.fmean(p for p, _, _ in inside)
        answerable = statistics.fmean(a for _, a, _ in inside)
        error += len(inside) / len(scored) * abs(predicted - answerable)
        table.append(
            {"bin": f"{low:.1f}-{high:.1f}", "n": len(inside),
             "mean_confidence": round(predicted, 3), "observed_answerable": round(answerable, 3),
             "observed_correct": round(statistics.fmean(c for _, _, c in inside), 3)}
        )  # fmt: skip
    return table + ([{"expected_calibration_error": round(error, 3)}] if scored else [])


def _confidence(rows: list[dict]) -> dict[str, list[float]]:
    """The calibrated confidence per question, answerable and not: what the thresholds
    (graph/answerability.json) separate."""
    found: dict[str, list[float]] = {"answerable": [], "unanswerable": []}
    for row in rows:
        if row.get("confidence") is not None:
            key = "answerable" if row["answerable"] else "unanswerable"
            found[key].append(row["confidence"])
    return {key: sorted(values) for key, values in found.items()}


async def evaluate_followups(
    settings: Settings, conversations: list[dict], corpus: Path, *, max_tokens: int = 96
) -> dict[str, Any]:
    """Conversations of several user turns, each turn asked after the earlier turns and their
    answers (as a client sends them), and again alone (the control: what the turn's own words
    find). Per turn index: the expected file cited first and among the citations, and the
    reference fact in the answer."""
    by_turn: dict[str, dict[str, dict[str, list[bool]]]] = {}
    async with services(corpus_settings(settings, corpus)) as built:
        request_graph = build(built.context())
        embed = built.knowledge.ingestor.embedder.embed
        turns = sum(len(c["turns"]) for c in conversations)
        with task("eval: follow-ups", 2 * turns) as advance:
            for conversation in conversations:
                history: list[dict] = []
                for index, turn in enumerate(conversation["turns"], start=1):
                    query = {"id": conversation["id"], **turn, "answerable": True,
                             "reference": turn["must_contain_any"]}  # fmt: skip
                    for mode, earlier in (("with_history", history), ("alone", [])):
                        row = await run_query(request_graph, query, max_tokens, built, earlier)
                        scored = score(query, row, embed)
                        figures = by_turn.setdefault(str(index), {}).setdefault(mode, {})
                        for name, value in (("source_hit@1", scored["source_rank"] == 1),
                                            ("source_hit", bool(scored["source_hit"])),
                                            ("answer_match", bool(scored["matched"]))):  # fmt: skip
                            figures.setdefault(name, []).append(value)
                        if mode == "with_history":
                            answer = row["answer"]
                        advance()
                    history = [*history, {"role": "user", "content": turn["question"]},
                               {"role": "assistant", "content": answer}]  # fmt: skip
    return provenance(settings) | {
        "corpus": str(corpus),
        "conversations": len(conversations),
        "by_turn": {
            turn: {
                mode: {
                    name: {"share": round(sum(v) / len(v), 3), "n": len(v)}
                    for name, v in figures.items()
                }
                for mode, figures in modes.items()
            }
            for turn, modes in sorted(by_turn.items())
        },
    }
