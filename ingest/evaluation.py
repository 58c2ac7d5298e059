"""The index checked after each ingestion run that changed it: the eval set's questions are
searched on the new index (the retriever the gateway answers from, no model call, seconds) and
the figures recorded per index version in the manifest's database; a drop from the previous
version past the threshold is reported for an alert (an ingestion that deleted or broke the
documents a team relies on)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest.retriever import HybridRetriever

FIGURES = ("source_hit@1", "source_hit@5", "mrr")


def evaluate(retriever: HybridRetriever, qa: list[dict[str, Any]], k: int = 5) -> dict[str, Any]:
    """Source hit@1, hit@k and MRR over the answerable questions (each names its `source`, or
    `sources`: any of them counts)."""
    answerable = [
        q for q in qa if q.get("answerable", True) and (q.get("source") or q.get("sources"))
    ]
    ranks = []
    for q in answerable:
        wanted = set(q.get("sources") or [q["source"]])
        hits = [h.source for h in retriever.search(q["question"], k=k).hits]
        ranks.append(next((i + 1 for i, s in enumerate(hits) if s in wanted), None))
    n = len(ranks) or 1
    return {
        "questions": len(ranks),
        "source_hit@1": round(sum(r == 1 for r in ranks) / n, 4),
        f"source_hit@{k}": round(sum(r is not None for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def read_eval_set(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def drops(previous: dict[str, Any], current: dict[str, Any], threshold: float) -> dict[str, float]:
    """The figures that fell by more than `threshold` (absolute), with their fall."""
    found = {}
    for name in FIGURES:
        if name in previous and name in current and previous[name] - current[name] > threshold:
            found[name] = round(previous[name] - current[name], 4)
    return found
