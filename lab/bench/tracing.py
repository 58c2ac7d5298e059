"""`railyard bench tracing`: what tracing and metrics add to a request, with vs without, same run.

Two chat services share one graph (guardrails on, as served): one with the observer (trace built,
metrics updated, trace queued for the SQLite writer thread), one without. Requests alternate
between them; the writer's commits happen on its own thread, as in serving, so the figure is
what a client waits for, plus whatever the writer's CPU use costs the request path."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path
from typing import Any

from lab.bench.rails import WARMUP, _timed
from lab.harness import scratch_settings, services
from lab.jsonl import questions as read_questions
from lab.progress import tracked
from lab.stats import percentile
from serving.chat.service import ChatService
from serving.database import open_database
from serving.observability import Metrics, Observer, TraceStore
from serving.settings import Settings


async def _run(settings: Settings, questions: list[str], rounds: int) -> dict[str, Any]:
    async with services(settings) as built:
        store = TraceStore(open_database(settings, "traces.sqlite"))
        try:
            sides = {
                "traced": ChatService(built.on.graph, settings, Observer(store, Metrics())),
                "untraced": ChatService(built.on.graph, settings),
            }
            samples: dict[str, list[float]] = {"traced": [], "untraced": []}
            warmups = questions[:WARMUP]
            asked = warmups + questions * rounds
            for i, question in tracked(enumerate(asked), "bench: tracing on/off"):
                order = ["traced", "untraced"] if i % 2 == 0 else ["untraced", "traced"]
                for side in order:
                    total, _, _ = await _timed(sides[side], question, stream=False)
                    if i >= len(warmups):
                        samples[side].append(total)
            store.flush()
            stored = len(store.search(limit=100_000))
        finally:
            store.close()
    report: dict[str, Any] = {"requests_per_side": len(samples["traced"]), "traces_stored": stored}
    for side, values in samples.items():
        report[side] = {
            "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(percentile(values, 0.95), 2),
        }
    report["added_p50_ms"] = round(report["traced"]["p50_ms"] - report["untraced"]["p50_ms"], 2)
    report["added_p95_ms"] = round(report["traced"]["p95_ms"] - report["untraced"]["p95_ms"], 2)
    return report


def run(settings: Settings, qa_file: Path, corpus: Path, *, limit: int, rounds: int) -> dict:
    with scratch_settings(settings, corpus) as isolated:
        return asyncio.run(_run(isolated, read_questions(qa_file, limit), rounds))
