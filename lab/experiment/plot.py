"""The experiment's picture: cost against quality, and latency, one mark per policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(summaries: dict[str, dict[str, Any]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    names = list(summaries)
    fig, (quality, share, latency) = plt.subplots(1, 3, figsize=(15, 4.4))
    for i, name in enumerate(names):
        s = summaries[name]
        x, y = s["cost_per_1k_requests_usd"], s["answer_match"] or 0.0
        quality.scatter(x, y, s=60)
        # Staggered labels: policies with the same figures would print over each other.
        quality.annotate(
            name, (x, y), textcoords="offset points", xytext=(6, 6 + 11 * i), fontsize=9
        )
    quality.set_xlabel("cost per 1,000 requests (USD)")
    quality.set_ylabel("answer match (answerable questions)")
    quality.set_ylim(-0.05, 1.15)
    quality.grid(alpha=0.3)
    quality.set_title("cost vs quality")
    positions = range(len(names))
    share.bar(list(positions), [100 * (summaries[n]["fallback_rate"] or 0) for n in names])
    share.set_xticks(list(positions), names, rotation=20, ha="right", fontsize=9)
    share.set_ylabel("model calls answered by the fallback (%)")
    share.set_ylim(0, 105)
    share.grid(axis="y", alpha=0.3)
    share.set_title("traffic sent to the API")
    p50 = [summaries[n]["latency_p50_ms"] or 0 for n in names]
    p95 = [summaries[n]["latency_p95_ms"] or 0 for n in names]
    latency.bar([p - 0.2 for p in positions], p50, width=0.4, label="p50")
    latency.bar([p + 0.2 for p in positions], p95, width=0.4, label="p95")
    latency.set_xticks(list(positions), names, rotation=20, ha="right", fontsize=9)
    latency.set_ylabel("request latency (ms)")
    latency.set_ylim(0, 1.25 * max([*p95, 1]))
    latency.legend(loc="upper left", ncols=2)
    latency.grid(axis="y", alpha=0.3)
    latency.set_title("latency")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
