"""`railyard eval` (no sub-command): the evaluations brought together on one QA file.

Retrieval (hybrid search, as served): hit@1, hit@k and MRR of the expected source. Answers:
every question through the real guarded graph as `railyard serve` would answer it (its routing
mode and answer mode, rails on, no answer cache), scored like the fallback experiment: reference
match, groundedness of the answers given, refusal on unanswerable questions, false refusals.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from graph import build, routing
from serving.evaluate import retrieval
from serving.experiment.replay import ask
from serving.experiment.score import score, summarise
from serving.inprocess import corpus_settings, services
from serving.knowledge import retrieval_settings
from serving.settings import Settings

ANSWER_FIGURES = (
    "answer_match", "source_hit", "grounded", "false_refusals", "refusal_on_unanswerable",
    "latency_p50_ms", "latency_p95_ms", "cost_usd", "routes", "rail_blocks",
)  # fmt: skip


ANSWER_FIGURES = (
    "answer_match", "source_hit", "grounded", "false_refusals", "refusal_on_unanswerable",
    "latency_p50_ms", "latency_p95_ms", "cost_usd", "routes", "rail_blocks",
)  # fmt: skip


async def evaluate(
    settings: Settings,
    qa: list[dict],
    corpus: Path,
    *,
    extractive: str | None = None,
    max_tokens: int = 96,
    k: int = 5,
) -> dict[str, Any]:
    found = retrieval(settings, qa, corpus, k=k)
    extractive = extractive or retrieval_settings(settings).extractive
    policy = routing.policy(settings.routing_mode, settings.routing_max_difficulty)
    rows = []
    async with services(corpus_settings(settings, corpus)) as built:
        answer_settings = dataclasses.replace(built.parts["retrieval"], extractive=extractive)
        request_graph = build(built.context(routing=policy, retrieval=answer_settings))
        embed = built.knowledge.ingestor.embedder.embed
        for query in qa:
            row = await ask(request_graph, query, max_tokens, built)
            rows.append(row | score(query, row, embed))
    answers = summarise(rows)
    hybrid = found["hybrid"]
    return {
        "questions": len(qa),
        "answerable": sum(q["answerable"] for q in qa),
        "routing": policy.name,
        "extractive": extractive,
        "retrieval": {
            "hit@1": hybrid["hit@1"],
            f"hit@{k}": hybrid[f"hit@{k}"],
            "mrr": round(hybrid["mrr"], 3),
        },
        "answers": {name: answers[name] for name in ANSWER_FIGURES},
        "retrieval_modes": {mode: found[mode] for mode in ("dense", "bm25", "hybrid")},
        "failures": [
            {"id": r["id"], "answer": r["answer"][:200]}
            for r in rows
            if r["answerable"] and (r["refused"] or r["matched"] is False)
        ],
    }
