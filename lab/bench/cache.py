"""`railyard bench cache`: the semantic cache on a repeated-paraphrase workload.

evals/cache/paraphrases.jsonl pairs handbook questions with a variant: a paraphrase (should be
served from the cache) or a different question one word away (a changed number, negation,
antonym or subject: must not be). Each question is asked once (answered, then cached), then its
variant. Reported: hit rate on paraphrases, false hits on different questions, and latency of
cached answers next to answered ones, through the guarded request path in one process."""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
from pathlib import Path
from typing import Any

from graph import build
from lab.bench.rails import WARMUP, _timed
from lab.harness import scratch_settings, services
from lab.jsonl import read_jsonl
from lab.progress import tracked
from lab.stats import percentile
from serving.cache import SemanticCache
from serving.chat.service import ChatService
from serving.settings import Settings


async def _run(settings: Settings, pairs: list[dict]) -> dict[str, Any]:
    async with services(settings) as built:
        cache = SemanticCache(
            built.knowledge.ingestor.embedder, threshold=settings.cache_similarity,
            max_entries=settings.cache_max_entries, ttl_s=settings.cache_ttl_s,
        )  # fmt: skip
        context = dataclasses.replace(built.on.graph.context, cache=cache)
        service = ChatService(build(context), settings)
        for pair in pairs[:WARMUP]:
            await _timed(built.on, pair["question"], stream=False)
        answered, cached = [], []
        outcomes: dict[str, list[bool]] = {"paraphrase": [], "different": []}
        wrong: list[str] = []
        for pair in tracked(pairs, "bench: cache pairs"):
            total, _, info = await _timed(service, pair["question"], stream=False)
            answered.append(total)
            total, _, info = await _timed(service, pair["variant"], stream=False)
            hit = info.get("route") == "cache"
            outcomes[pair["kind"]].append(hit)
            if hit != (pair["kind"] == "paraphrase"):
                wrong.append(f"{pair['kind']}: {pair['question']} | {pair['variant']}")
            if hit:
                cached.append(total)
    paraphrases, different = outcomes["paraphrase"], outcomes["different"]
    report: dict[str, Any] = {
        "paraphrases": len(paraphrases),
        "hit_rate": round(sum(paraphrases) / max(1, len(paraphrases)), 3),
        "near_misses": len(different),
        "false_hits": sum(different),
        "wrong": wrong,
        "answered": {"p50_ms": round(statistics.median(answered), 2),
                     "p95_ms": round(percentile(answered, 0.95), 2)},
    }  # fmt: skip
    if cached:
        report["cached"] = {
            "p50_ms": round(statistics.median(cached), 2),
            "p95_ms": round(percentile(cached, 0.95), 2),
        }
    return report


def run(settings: Settings, pairs_file: Path, corpus: Path) -> dict:
    pairs = read_jsonl(pairs_file)
    # The pairs name their corpus: the configured knowledge base is not used.
    with scratch_settings(settings.model_copy(update={"knowledge_base": []}), corpus) as isolated:
        return asyncio.run(_run(isolated, pairs))
