"""Two prompt versions side by side, from the traces they answered (and, when given, their
`railyard eval` reports), each figure with a 95 % interval, and a verdict on the candidate.

- Proportions (helpful feedback, answer match, unanswered, refused, blocked): Wilson score
  intervals; their difference: Newcombe's hybrid score interval (method 10 of Newcombe 1998),
  which stays inside [-1, 1] and behaves at small counts where the Wald interval does not.
- Means (latency, cost per request): the normal interval of the difference of means (Welch's
  standard error), fine at the hundreds of requests a canary gathers.

Verdict on the candidate B against the baseline A:
- roll back: B is worse with 95 % confidence on a quality figure (less helpful, fewer eval
  answers matched, more unanswered or blocked), or costs / takes more than the allowed rise;
- promote: nothing worse, and B is shown not worse than A by more than `margin` on feedback
  (and on answer match when eval reports are given), with at least `min_rated` ratings each;
- keep: not enough evidence either way yet (the canary keeps running).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scipy.stats import binomtest, norm

Z95 = float(norm.ppf(0.975))


@dataclass(frozen=True)
class Share:
    hits: int
    n: int

    @property
    def value(self) -> float | None:
        return self.hits / self.n if self.n else None

    def interval(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        ci = binomtest(self.hits, self.n).proportion_ci(confidence_level=0.95, method="wilson")
        return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class Mean:
    values: tuple[float, ...]

    @property
    def value(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None

    def variance(self) -> float:
        n = len(self.values)
        if n < 2:
            return 0.0
        mean = self.value or 0.0
        return sum((v - mean) ** 2 for v in self.values) / (n - 1)

    def interval(self) -> tuple[float, float] | None:
        if not self.values:
            return None
        half = Z95 * math.sqrt(self.variance() / len(self.values))
        return (self.value - half, self.value + half)


def share_difference(b: Share, a: Share) -> tuple[float, float] | None:
    """Newcombe's interval for b - a."""
    if not a.n or not b.n:
        return None
    (la, ua), (lb, ub) = a.interval(), b.interval()
    pa, pb = a.value, b.value
    d = pb - pa
    return (
        d - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2),
        d + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2),
    )


def mean_difference(b: Mean, a: Mean) -> tuple[float, float] | None:
    if not a.values or not b.values:
        return None
    d = b.value - a.value
    half = Z95 * math.sqrt(b.variance() / len(b.values) + a.variance() / len(a.values))
    return (d - half, d + half)


@dataclass
class VersionFigures:
    version: str
    requests: int
    helpful: Share
    unanswered: Share
    refused: Share
    blocked: Share
    latency_ms: Mean
    cost_usd: Mean
    answer_match: Share | None = None

    @classmethod
    def of(cls, version: str, found: dict[str, list], answer_match: Share | None = None):
        outcomes = found["outcome"]
        n = len(outcomes)
        return cls(
            version=version,
            requests=n,
            helpful=Share(sum(s >= 0.5 for s in found["scores"]), len(found["scores"])),
            unanswered=Share(outcomes.count("no_context"), n),
            refused=Share(outcomes.count("refused"), n),
            blocked=Share(outcomes.count("blocked"), n),
            latency_ms=Mean(tuple(found["latency_ms"])),
            cost_usd=Mean(tuple(found["cost_usd"])),
            answer_match=answer_match,
        )


QUALITY = {
    # figure: +1 when higher is better, -1 when lower is better
    "helpful": +1,
    "answer_match": +1,
    "unanswered": -1,
    "blocked": -1,
}
INFORMATIVE = ("refused",)
"""Reported, not judged: the input rails refuse before any prompt is used."""


@dataclass
class Comparison:
    baseline: VersionFigures
    candidate: VersionFigures
    verdict: str
    reasons: list[str] = field(default_factory=list)
    differences: dict[str, tuple[float, float] | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        def figures(v: VersionFigures) -> dict[str, Any]:
            out: dict[str, Any] = {"version": v.version, "requests": v.requests}
            for name in ("helpful", "answer_match", "unanswered", "refused", "blocked"):
                share = getattr(v, name)
                out[name] = None if share is None else {
                    "value": share.value, "n": share.n, "ci95": share.interval()
                }  # fmt: skip
            for name in ("latency_ms", "cost_usd"):
                mean = getattr(v, name)
                out[name] = {"mean": mean.value, "n": len(mean.values), "ci95": mean.interval()}
            return out

        return {
            "baseline": figures(self.baseline),
            "candidate": figures(self.candidate),
            "difference_ci95": self.differences,
            "verdict": self.verdict,
            "reasons": self.reasons,
        }


def compare(
    a: VersionFigures,
    b: VersionFigures,
    *,
    margin: float = 0.05,
    min_rated: int = 30,
    max_cost_rise: float = 0.10,
    max_latency_rise: float = 0.20,
) -> Comparison:
    """The verdict on candidate `b` against baseline `a` (module docstring)."""
    diffs: dict[str, tuple[float, float] | None] = {}
    worse, shown_not_worse, missing = [], [], []
    for name, direction in QUALITY.items():
        sa, sb = getattr(a, name), getattr(b, name)
        if sa is None or sb is None:
            diffs[name] = None
            continue
        diff = share_difference(sb, sa)
        diffs[name] = diff
        if diff is None:
            continue
        low, high = diff if direction > 0 else (-diff[1], -diff[0])  # as "improvement"
        if high < 0:
            worse.append(f"{name}: {b.version} {_pct(sb.value)} vs {a.version} {_pct(sa.value)} "
                         f"(difference {_pct(diff[0])} to {_pct(diff[1])})")  # fmt: skip
        elif name in ("helpful", "answer_match") and low > -margin:
            shown_not_worse.append(name)
    for name in INFORMATIVE:
        diffs[name] = share_difference(getattr(b, name), getattr(a, name))
    for name, allowed in (("cost_usd", max_cost_rise), ("latency_ms", max_latency_rise)):
        ma, mb = getattr(a, name), getattr(b, name)
        diff = mean_difference(mb, ma)
        diffs[name] = diff
        if diff is not None and ma.value and diff[0] > allowed * ma.value:
            worse.append(f"{name}: {b.version} {mb.value:.6g} vs {a.version} {ma.value:.6g}, "
                         f"more than the allowed {allowed:.0%} rise")  # fmt: skip
    if worse:
        return Comparison(a, b, "roll back", worse, diffs)
    needed = ["helpful"] + (["answer_match"] if a.answer_match and b.answer_match else [])
    for name in needed:
        rated = min(getattr(a, name).n, getattr(b, name).n)
        if name == "helpful" and rated < min_rated:
            missing.append(f"helpful: {rated} ratings on the less rated version, {min_rated} "
                           "needed")  # fmt: skip
        elif name not in shown_not_worse:
            missing.append(f"{name}: not yet shown within {margin:.0%} of {a.version}")
    if missing:
        return Comparison(a, b, "keep", missing, diffs)
    reasons = [f"{name}: within {margin:.0%} of {a.version} or better" for name in needed]
    return Comparison(a, b, "promote", reasons, diffs)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
