"""`railyard eval` (no sub-command): a corpus and a QA file, answered as `railyard serve` answers
with the same settings: its answer mode, routing mode, retrieval, prompt and models, rails on,
the model called, no answer cache. Every figure comes from the responses: retrieval from their
citations, answers scored by the one scorer (lab/scoring.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph import build
from lab.harness import corpus_settings, run_query, services
from lab.progress import task
from lab.scoring import score, summarise
from serving.settings import Settings

ANSWER_FIGURES = (
    "source_hit@1", "source_hit", "two_document_hit", "answer_match", "grounded",
    "false_refusals", "refusal_on_unanswerable", "answered_by_model", "latency_p50_ms",
    "latency_p95_ms", "ttft_p50_ms", "cost_usd", "routes", "fallback_reasons", "rail_blocks",
)  # fmt: skip


async def evaluate(
    settings: Settings, qa: list[dict], corpus: Path, *, max_tokens: int = 96
) -> dict[str, Any]:
    rows = []
    async with services(corpus_settings(settings, corpus)) as built:
        policy, answer = built.parts.routing, built.parts.retrieval
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
    return {
        "corpus": str(corpus),
        "questions": len(qa),
        "answerable": sum(q["answerable"] for q in qa),
        "two_document": sum(len(q.get("sources") or []) > 1 for q in qa),
        "routing": policy.name,
        "answer_mode": answer.answer,
        "prompt_version": prompt_version,
        "answer_matched": {"hits": sum(matched), "n": len(matched)},
        "min_confidence": answer.min_confidence,
        "answers": {name: answers[name] for name in ANSWER_FIGURES},
        "confidence": _confidence(rows),
        "failures": [
            {"id": r["id"], "answer": r["answer"][:200], "cited": r["sources"][:3]}
            for r in rows
            if r["refused"] != (not r["answerable"]) or r["matched"] is False
        ],
    }


def _confidence(rows: list[dict]) -> dict[str, list[float]]:
    """The select step's confidence per question, answerable and not: what the threshold
    (RAILYARD_ANSWER_MIN_CONFIDENCE) separates."""
    found: dict[str, list[float]] = {"answerable": [], "unanswerable": []}
    for row in rows:
        if row.get("confidence") is not None:
            key = "answerable" if row["answerable"] else "unanswerable"
            found[key].append(row["confidence"])
    return {key: sorted(values) for key, values in found.items()}
