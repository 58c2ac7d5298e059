"""The seed KPIs against their targets, from the traces of real traffic (the console's Spend &
quality page, `GET /v1/kpis`). The same five KPIs are Prometheus recording rules with alerts in
deploy/prometheus/slos.yml (docs/slos.md); tests/deploy/test_slos.py keeps the targets equal."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

GROUNDEDNESS = "check groundedness"


@dataclass(frozen=True)
class Target:
    label: str
    bound: float
    above: bool
    """True: the KPI must stay above `bound`; False: below it."""
    unit: str


TARGETS: dict[str, Target] = {
    "cache_hit_ratio": Target("Cache hit ratio", 0.40, True, "ratio"),
    "latency_p95_seconds": Target("Request latency p95", 2.0, False, "seconds"),
    "ttft_p95_seconds": Target("Time to first token p95", 0.8, False, "seconds"),
    "faithfulness_ratio": Target("Supported answers", 0.95, True, "ratio"),
    "retrieval_recall": Target("Eval set recall@5", 0.90, True, "ratio"),
}


def kpis(rows: list[dict[str, Any]], recall: float | None) -> list[dict[str, Any]]:
    """Each KPI's value over `rows` (traces: outcome, latency_ms, body), the number of traces
    it is taken on, its target and whether it is met (None: nothing to judge it on yet);
    `recall` is the eval set's source_hit@5 on the serving index, None without an eval set."""
    bodies = [json.loads(r["body"]) for r in rows]
    lookups = [_cache(b) for b in bodies]
    lookups = [hit for hit in lookups if hit is not None]
    latencies = [r["latency_ms"] / 1000 for r in rows if r["outcome"] != "error"]
    ttfts = [t / 1000 for b in bodies if (t := (b.get("generation") or {}).get("ttft_ms"))]
    checked = [b for b in bodies if any(_grounded(v) for v in b.get("rails") or [])]
    stopped = [b for b in checked if (b.get("blocked") or {}).get("name") == GROUNDEDNESS]
    values = {
        "cache_hit_ratio": (_share(sum(lookups), len(lookups)), len(lookups)),
        "latency_p95_seconds": (_p95(latencies), len(latencies)),
        "ttft_p95_seconds": (_p95(ttfts), len(ttfts)),
        "faithfulness_ratio": (_share(len(checked) - len(stopped), len(checked)), len(checked)),
        "retrieval_recall": (recall, None),
    }
    out = []
    for name, target in TARGETS.items():
        value, n = values[name]
        met = (
            None
            if value is None
            else (value > target.bound if target.above else value < target.bound)
        )
        out.append({"name": name, **asdict(target), "value": value, "n": n, "met": met})
    return out


def _cache(body: dict) -> bool | None:
    """Whether the request was answered from the cache; None when the cache was not asked."""
    for span in body.get("spans") or []:
        if span["name"] == "retrieve":
            lookup = (span.get("attributes") or {}).get("cache")
            return None if lookup in (None, "skipped") else lookup == "hit"
    return None


def _grounded(verdict: dict) -> bool:
    return verdict.get("name") == GROUNDEDNESS and verdict.get("score") is not None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _p95(values: list[float]) -> float | None:
    """The nearest-rank 95th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)], 4)
