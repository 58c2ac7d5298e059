"""`railyard bench rails`: what the default guardrails add to a request, rails on vs off.

One process builds railyard's parts once (knowledge base, router, rails engine) and two request
graphs over them: one guarded, one not. Each question goes through both, in alternating order,
non-streamed and streamed, so the difference is the rails' own cost (the HTTP layer is the same
for both and left out). The index lives in its own data dir (a temporary one by default, seeded
from the knowledge base) so the bench can run beside a serving gateway.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from lab.harness import Services, chat_request, scratch_settings, services
from lab.jsonl import questions as read_questions
from lab.progress import tracked
from lab.stats import percentile
from serving.chat.service import ChatService
from serving.settings import Settings

WARMUP = 5


def _summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values_ms), 2),
        "p95_ms": round(percentile(values_ms, 0.95), 2),
    }


async def _timed(service: ChatService, question: str, stream: bool) -> tuple[float, float, dict]:
    request = chat_request(question)
    start = time.perf_counter()
    if not stream:
        response = await service.complete(request, trace_id=f"bench-{time.time_ns()}")
        elapsed = (time.perf_counter() - start) * 1000
        return elapsed, elapsed, response.railyard.model_dump()
    first, info = None, {}
    async for chunk in service.stream(request, trace_id=f"bench-{time.time_ns()}"):
        choices = chunk.get("choices") or []
        if first is None and choices and choices[0].get("delta", {}).get("content"):
            first = (time.perf_counter() - start) * 1000
        info = chunk.get("railyard") or info
    elapsed = (time.perf_counter() - start) * 1000
    return elapsed, first if first is not None else elapsed, info


async def _run(settings: Settings, questions: list[str], rounds: int, cold: bool) -> dict[str, Any]:
    async with services(settings) as built:
        return await _measure(built, questions, rounds, cold)


async def _measure(built: Services, questions: list[str], rounds: int, cold: bool) -> dict:
    sides = {"on": built.on, "off": built.off}
    results: dict[str, dict[str, list]] = {
        f"{side}_{mode}": {"total": [], "first": []}
        for side in sides
        for mode in ("complete", "stream")
    }
    clear_memo = getattr(built.knowledge.ingestor.embedder, "clear_memo", lambda: None)
    verdict_ms: dict[str, list[float]] = {}
    modes: Counter[str] = Counter()
    blocked = 0
    warmups = questions[:WARMUP]
    asked = warmups + [q for _ in range(rounds) for q in questions]
    for i, question in tracked(enumerate(asked), "bench: rails on/off"):
        order = ["on", "off"] if i % 2 == 0 else ["off", "on"]
        for stream, side in ((s, side) for s in (False, True) for side in order):
            # Each request pays for its own question embedding (the memo would let the second
            # side of a pair reuse the first's).
            clear_memo()
            if cold:
                built.rails.clear_caches()
            total, first, info = await _timed(sides[side], question, stream)
            if i < len(warmups):
                continue
            key = f"{side}_{'stream' if stream else 'complete'}"
            results[key]["total"].append(total)
            results[key]["first"].append(first)
            if side == "on" and not stream:
                modes[info.get("answer_mode", "?")] += 1
                blocked += info.get("route") == "blocked"
                for verdict in info.get("rails", []):
                    verdict_ms.setdefault(verdict["name"], []).append(verdict["latency_ms"])
    report: dict[str, Any] = {
        "requests_per_side": len(results["on_complete"]["total"]),
        "chunk_scan_cache": "cleared before each request" if cold else "warm as in serving",
    }
    for mode in ("complete", "stream"):
        on, off = results[f"on_{mode}"], results[f"off_{mode}"]
        report[mode] = {"rails_on": _summary(on["total"]), "rails_off": _summary(off["total"])}
        for q in ("p50_ms", "p95_ms"):
            report[mode][f"added_{q}"] = round(
                report[mode]["rails_on"][q] - report[mode]["rails_off"][q], 2
            )
        if mode == "stream":
            report[mode]["ttft_added_p50_ms"] = round(
                statistics.median(on["first"]) - statistics.median(off["first"]), 2
            )
    report["verdict_ms_p50"] = {
        name: round(statistics.median(v), 2) for name, v in sorted(verdict_ms.items())
    }
    report["answer_modes"] = dict(modes)
    report["blocked"] = blocked
    return report


def run(
    settings: Settings,
    qa_file: Path,
    corpus: Path,
    *,
    limit: int = 40,
    rounds: int = 2,
    data_dir: Path | None = None,
    cold: bool = False,
) -> dict:
    questions = read_questions(qa_file, limit)
    with scratch_settings(settings, corpus, data_dir) as isolated:
        return asyncio.run(_run(isolated, questions, rounds, cold))
