"""Drift watch over the traces: is the gateway being asked things it cannot answer, more than it
used to? A recent window is compared with a baseline window before it:

- the share of questions left unanswered (`no_context`: the documents hold nothing that
  answers) and refused (`refused`, or `blocked` by a rail), per window and per UTC day;
- the shift of the questions themselves: MiniLM embeddings, the cosine distance between the two
  windows' mean question, and the share of recent questions with no baseline question within
  `NOVEL_SIMILARITY` (a topic users did not ask about before);
- clusters of the recent unanswered questions (agglomerative, cosine, average linkage): what
  users ask that the documents do not cover, biggest first, with examples.

Alerts (webhook) fire when the unanswered share rises, or the question centroid moves, past the
thresholds the operator sets (`railyard drift --max-unanswered-rise --max-shift`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

UNANSWERED = {"no_context"}
REFUSED = {"refused", "blocked"}
NOVEL_SIMILARITY = 0.5
"""A recent question whose best cosine to any baseline question is below this is novel."""
CLUSTER_DISTANCE = 0.5
"""Cosine distance under which unanswered questions group together (average linkage)."""
Embed = Callable[[list[str]], list[list[float]]]


def _shares(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    unanswered = sum(r["outcome"] in UNANSWERED for r in rows)
    refused = sum(r["outcome"] in REFUSED for r in rows)
    return {
        "requests": n,
        "unanswered": unanswered,
        "refused": refused,
        "unanswered_share": round(unanswered / n, 4) if n else None,
        "refused_share": round(refused / n, 4) if n else None,
    }


def _by_day(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    days: dict[str, list[dict]] = {}
    for row in rows:
        days.setdefault(time.strftime("%Y-%m-%d", time.gmtime(row["created"])), []).append(row)
    return [{"day": day, **_shares(found)} for day, found in sorted(days.items())]


def _mean(vectors: list[list[float]]) -> list[float]:
    return [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = (sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5
    return dot / norm if norm else 0.0


def _shift(baseline: list[str], recent: list[str], embed: Embed) -> dict[str, Any]:
    if not baseline or not recent:
        return {"centroid_distance": None, "novel_share": None}
    base, new = embed(baseline), embed(recent)
    novel = sum(max(_cosine(q, b) for b in base) < NOVEL_SIMILARITY for q in new)
    return {
        "centroid_distance": round(1 - _cosine(_mean(base), _mean(new)), 4),
        "novel_share": round(novel / len(new), 4),
    }


def _clusters(questions: list[str], embed: Embed, examples: int = 3) -> list[dict[str, Any]]:
    if not questions:
        return []
    if len(questions) == 1:
        return [{"size": 1, "examples": questions}]
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=CLUSTER_DISTANCE
    ).fit_predict(embed(questions))
    groups: dict[int, list[str]] = {}
    for label, question in zip(labels, questions, strict=True):
        groups.setdefault(int(label), []).append(question)
    ordered = sorted(groups.values(), key=len, reverse=True)
    return [{"size": len(g), "examples": g[:examples]} for g in ordered]


def drift_report(
    baseline: list[dict[str, Any]],
    recent: list[dict[str, Any]],
    embed: Embed,
    *,
    max_unanswered_rise: float | None = None,
    max_shift: float | None = None,
) -> dict[str, Any]:
    """The comparison, and the alerts it raises ([] when within the thresholds)."""
    before, now = _shares(baseline), _shares(recent)
    asked = [r["question"] for r in recent if r["question"]]
    shift = _shift([r["question"] for r in baseline if r["question"]], asked, embed)
    unanswered = [r["question"] for r in recent if r["question"] and r["outcome"] in UNANSWERED]
    report: dict[str, Any] = {
        "baseline": before,
        "recent": now,
        "by_day": _by_day(baseline + recent),
        "shift": shift,
        "unanswered_clusters": _clusters(unanswered, embed),
        "without_question_text": sum(1 for r in baseline + recent if not r["question"]),
    }
    alerts = []
    if (
        max_unanswered_rise is not None
        and before["unanswered_share"] is not None
        and now["unanswered_share"] is not None
        and now["unanswered_share"] - before["unanswered_share"] > max_unanswered_rise
    ):
        alerts.append({
            "kind": "drift_unanswered",
            "message": f"unanswered questions rose from {before['unanswered_share']:.0%} to "
            f"{now['unanswered_share']:.0%} (threshold +{max_unanswered_rise:.0%})",
        })  # fmt: skip
    distance = shift["centroid_distance"]
    if max_shift is not None and distance is not None and distance > max_shift:
        alerts.append({
            "kind": "drift_questions",
            "message": f"the questions moved: centroid distance {distance:.3f} (threshold "
            f"{max_shift:.3f}), {shift['novel_share']:.0%} of recent questions are new topics",
        })  # fmt: skip
    report["alerts"] = alerts
    return report
