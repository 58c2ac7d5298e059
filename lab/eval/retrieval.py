"""`railyard eval retrieval` over a QA file (see evals/README.md): the search alone (dense,
BM25, hybrid), beside `railyard eval`, which scores the answers as served
(lab/eval/answers.py). The corpus is indexed into its own folder under the data dir
(incrementally, so re-runs are quick)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from ingest.graph import Ingestor
from ingest.retriever import HybridRetriever
from lab.harness import corpus_settings
from lab.progress import task
from serving.knowledge import ingest_config
from serving.parts import retrieval_settings
from serving.settings import Settings


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
            with task(f"eval: retrieval ({mode})", len(answerable)) as advance:
                for q in answerable:
                    start = time.perf_counter()
                    hits = retriever.search(q["question"], k=k, mode=mode).hits
                    latencies.append(time.perf_counter() - start)
                    sources = [h.source for h in hits]
                    expected = q.get("sources") or [q["source"]]
                    found = [sources.index(s) + 1 for s in expected if s in sources]
                    ranks.append(min(found) if found else None)
                    advance()
            report[mode] = {
                "hit@1": sum(r == 1 for r in ranks) / len(ranks),
                "hit@3": sum(r is not None and r <= 3 for r in ranks) / len(ranks),
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
        "false_refusals": _share(refused["answerable"]),
        "refusal_on_unanswerable": _share(refused["unanswerable"]),
    }


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _top_scores(retriever: HybridRetriever, qa: list[dict]) -> dict:
    """Best chunk score for answerable and unanswerable questions: what the relevance
    threshold (RAILYARD_RETRIEVAL_MIN_SCORE) separates."""
    scores: dict[str, list[float]] = {"answerable": [], "unanswerable": []}
    for q in qa:
        hits = retriever.search(q["question"], k=1).hits
        key = "answerable" if q["answerable"] else "unanswerable"
        scores[key].append(hits[0].score if hits else 0.0)
    return {k: sorted(round(s, 3) for s in v) for k, v in scores.items()}
