"""Answer quality of one replayed query, and each policy's totals.

- reference match: any of the query's reference facts appears in the answer (case-insensitive);
  with `reference_all`, one fact of each group (every part of a two-part question);
- source hit: the expected file is among the response's citations (`railyard.citations`); for
  two-document questions, both files (two-document hit);
- groundedness: the output rails' own checker run on the final answer against the chunks that
  were in the prompt (share of answers supported; refusals are not scored);
- refusal: the answer declines (a rail's refusal, "I don't know", no context).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any

from lab.stats import percentile
from rails.groundedness.checker import HEDGE, GroundednessChecker

REFUSING_MODES = {"refused", "no_context", "error"}
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def refused(row: dict[str, Any]) -> bool:
    return row["answer_mode"] in REFUSING_MODES or bool(HEDGE.match(row["answer"].strip()))


def score(query: dict, row: dict[str, Any], embed: Callable) -> dict[str, Any]:
    """The one scorer of answers (`railyard eval` and `railyard experiment fallback`)."""
    answer = row["answer"]
    declined = refused(row)
    grounded = None
    if not declined and row["passages"]:
        checker = GroundednessChecker(embed=embed)
        # An unsure answer's own words are railyard's: the passage it quotes is the claim.
        claim = row.get("quoted") or answer
        grounded = checker.check(claim, row["passages"], query["question"]).supported
    cited = row["sources"]
    expected = query.get("sources") or ([query["source"]] if query.get("source") else [])
    rank = next((i + 1 for i, s in enumerate(cited) if s in expected), None)
    candidates = row.get("candidates")
    return {
        "answerable": query.get("answerable", True),
        "matched": _matched(query, answer),
        # Any scored candidate sentence states a reference fact (recall of the answering
        # sentence among the candidates; None when nothing was scored).
        "candidate_hit": any(_matched(query, c) for c in candidates) if candidates else None,
        "source_hit": rank is not None if expected else None,
        "source_rank": rank,
        "all_sources_hit": all(s in cited for s in expected) if len(expected) > 1 else None,
        "refused": declined,
        "grounded": grounded,
    }


def _matched(query: dict, answer: str) -> bool | None:
    """Any reference fact in the answer; with `reference_all` (a question of several parts),
    one fact of every group."""
    text = normalised(answer)
    groups = query.get("reference_all") or ([query["reference"]] if query.get("reference") else [])
    if not groups:
        return None
    return all(any(normalised(r) in text for r in group) for group in groups)


def normalised(text: str) -> str:
    """Lower case, straight quotes, single spaces: the validation sets' matching rule."""
    text = text.translate(QUOTES).lower()
    return " ".join(text.split())


def _share(flags: list[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return round(sum(known) / len(known), 3) if known else None


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One policy's figures over its rows."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    asked = [r for r in rows if r.get("model_route")]
    latencies = [r["latency_ms"] for r in rows if r["route"] != "error"]
    ttfts = [r["ttft_ms"] for r in rows if r.get("ttft_ms") is not None]
    escalated = [r for r in rows if r.get("escalated_after")]
    reasons = Counter(reason for r in rows for reason in r.get("fallback_reasons", []))
    cost = sum(r["cost_usd"] for r in rows)
    return {
        "requests": len(rows),
        "errors": sum(r["route"] == "error" for r in rows),
        "cost_usd": cost,
        "cost_per_1k_requests_usd": 1000 * cost / len(rows) if rows else 0.0,
        "latency_p50_ms": _round(statistics.median(latencies) if latencies else None),
        "latency_p95_ms": _round(percentile(latencies, 0.95) if latencies else None),
        "ttft_p50_ms": _round(statistics.median(ttfts) if ttfts else None),
        "routes": dict(Counter(r["route"] for r in rows)),
        "model_calls": len(asked),
        "fallback_rate": _share([r["model_route"] == "fallback" for r in asked]),
        "escalation_rate": round(len(escalated) / len(rows), 3) if rows else None,
        "fallback_reasons": dict(reasons),
        "answer_match": _share([r["matched"] for r in answerable]),
        "candidate_recall": _share([r.get("candidate_hit") for r in answerable]),
        "source_hit": _share([r["source_hit"] for r in answerable]),
        "source_hit@1": _share([r.get("source_rank") == 1 for r in answerable]),
        "two_document_hit": _share([r.get("all_sources_hit") for r in answerable]),
        "answered_by_model": _share(
            [r.get("model_route") is not None for r in rows if not r["refused"]]
        ),
        "grounded": _share([r["grounded"] for r in rows]),
        "false_refusals": _share([r["refused"] for r in answerable]),
        "refusal_on_unanswerable": _share([r["refused"] for r in unanswerable]),
        "rail_blocks": dict(Counter(b for r in rows for b in r.get("rail_blocks", []))),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def difficulty_auc(rows: list[dict[str, Any]]) -> float | None:
    """How well the difficulty score ranks the answerable questions the local model failed
    (no reference match) above those it answered: 0.5 is chance, 1.0 perfect."""
    scored = [
        (r["difficulty"], not r["matched"])
        for r in rows
        if r["answerable"] and r["matched"] is not None and r["difficulty"] is not None
    ]
    failed = [d for d, bad in scored if bad]
    passed = [d for d, bad in scored if not bad]
    if not failed or not passed:
        return None
    wins = sum((f > p) + 0.5 * (f == p) for f in failed for p in passed)
    return round(wins / (len(failed) * len(passed)), 3)
