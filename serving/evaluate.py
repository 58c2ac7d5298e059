"""`railyard eval retrieval | answers` over a QA file (see evals/README.md).

The corpus is indexed into its own folder under the data dir (incrementally, so re-runs are
quick); answers run through the real request graph and router against the local model.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from dataclasses import replace
from pathlib import Path

from ingest.graph import Ingestor
from ingest.retriever import HybridRetriever
from serving.inprocess import corpus_settings
from serving.knowledge import ingest_config, retrieval_settings
from serving.settings import Settings

REFUSAL = "i don't know"


def load_qa(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def eval_ingestor(settings: Settings, corpus: Path) -> Ingestor:
    ingestor = Ingestor(ingest_config(corpus_settings(settings, corpus)))
    ingestor.run([corpus])
    return ingestor


def retrieval(settings: Settings, qa: list[dict], corpus: Path, k: int = 5) -> dict:
    ingestor = eval_ingestor(settings, corpus)
    try:
        retriever = HybridRetriever(ingestor.store, ingestor.manifest, ingestor.embedder)
        answerable = [q for q in qa if q["answerable"]]
        report: dict = {"questions": len(answerable)}
        for mode in ("dense", "bm25", "hybrid"):
            ranks, latencies = [], []
            for q in answerable:
                start = time.perf_counter()
                hits = retriever.search(q["question"], k=k, mode=mode).hits
                latencies.append(time.perf_counter() - start)
                sources = [h.source for h in hits]
                ranks.append(sources.index(q["source"]) + 1 if q["source"] in sources else None)
            report[mode] = {
                "hit@1": sum(r == 1 for r in ranks) / len(ranks),
                f"hit@{k}": sum(r is not None for r in ranks) / len(ranks),
                "mrr": sum(1 / r for r in ranks if r) / len(ranks),
                "p50_ms": statistics.median(latencies) * 1000,
            }
        report["top_score"] = _top_scores(retriever, qa)
        report["refusal_gate"] = _gate(retriever, qa, retrieval_settings(settings))
        return report
    finally:
        ingestor.close()


def _gate(retriever: HybridRetriever, qa: list[dict], gate) -> dict:
    """How often retrieval alone says "I don't know" (the retrieve node's rule)."""
    from graph.nodes.retrieve import relevant_hits

    refused: dict[str, list[bool]] = {"answerable": [], "unanswerable": []}
    for q in qa:
        result = retriever.search(q["question"], k=gate.k)
        key = "answerable" if q["answerable"] else "unanswerable"
        refused[key].append(not relevant_hits(result, gate))
    return {
        "false_refusals": sum(refused["answerable"]) / len(refused["answerable"]),
        "refusal_on_unanswerable": sum(refused["unanswerable"]) / len(refused["unanswerable"]),
    }


def _top_scores(retriever: HybridRetriever, qa: list[dict]) -> dict:
    """Best chunk score for answerable and unanswerable questions: what the relevance
    threshold (RAILYARD_RETRIEVAL_MIN_SCORE) separates."""
    scores: dict[str, list[float]] = {"answerable": [], "unanswerable": []}
    for q in qa:
        hits = retriever.search(q["question"], k=1).hits
        key = "answerable" if q["answerable"] else "unanswerable"
        scores[key].append(hits[0].score if hits else 0.0)
    return {k: sorted(round(s, 3) for s in v) for k, v in scores.items()}


async def answers(settings: Settings, qa: list[dict], corpus: Path, variants: list[str]) -> dict:
    import graph
    from graph.context import Context
    from graph.prompt import Prompt
    from graph.state import InputState
    from serving.router.router import RouterChatModel

    ingestor = eval_ingestor(settings, corpus)
    try:
        base = Context(
            chat_model=RouterChatModel(settings),
            prompt=Prompt.load(settings.prompt_file),
            retriever=HybridRetriever(ingestor.store, ingestor.manifest, ingestor.embedder),
            retrieval=retrieval_settings(settings),
        )
        report: dict = {"prompt_version": base.prompt.version_id}
        for variant in variants:
            context = replace(base, retrieval=replace(base.retrieval, extractive=variant))
            request_graph = graph.build(context)
            rows = []
            for q in qa:
                state = InputState(
                    messages=[{"role": "user", "content": q["question"]}],
                    params={"max_tokens": 64, "temperature": 0.0},
                    trace_id=uuid.uuid4().hex,
                )
                start = time.perf_counter()
                final = await request_graph.run(state)
                rows.append(_score(q, final, time.perf_counter() - start))
            report[variant] = _summarise(rows)
        return report
    finally:
        ingestor.close()


def _score(q: dict, final: dict, seconds: float) -> dict:
    answer = final["answer"]
    refused = answer.lower().startswith(REFUSAL)
    matched = any(ref.lower() in answer.lower() for ref in q["reference"])
    return {
        "answerable": q["answerable"],
        "matched": matched,
        "refused": refused,
        "mode": final.get("answer_mode"),
        "route": final["route"],
        "seconds": seconds,
    }


def _summarise(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    return {
        "answer_match": sum(r["matched"] for r in answerable) / len(answerable),
        "false_refusals": sum(r["refused"] for r in answerable) / len(answerable),
        "refusal_on_unanswerable": sum(r["refused"] for r in unanswerable) / len(unanswerable),
        "extractive_share": sum(r["mode"] == "extractive" for r in answerable) / len(answerable),
        "p50_s": statistics.median(r["seconds"] for r in rows),
    }
