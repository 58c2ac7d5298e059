"""`railyard eval bipia`: the retrieved-content rail on BIPIA (microsoft/BIPIA, MIT; in
../shared/benchmarks/bipia), data nobody here wrote. Each attack instruction of the split
(`text_attack_{split}.json`) is inserted into an email context of the same split
(`email/{split}.jsonl`) at its start, middle (a paragraph break nearest the middle) and end, as
BIPIA builds its cases; the clean contexts go through too. A context counts as flagged when
the rail removes an instructing sentence from it (its `injection` finding); secrets and PII
redaction are not counted either way. Reported: share of attacked contexts flagged, by attack
category and position; share of clean contexts touched; the rail's latency; with a corpus, the
share of its chunks (as ingested) that would lose a sentence. The text attacks are BIPIA's
attacks on text tasks (email QA); its code attacks, written for code QA, can be inserted too."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from ingest.embedder import MiniLMEmbedder
from lab.jsonl import read_jsonl
from lab.progress import task
from lab.train.directive import corpus_chunks
from rails.retrieval.scan import neutralise

POSITIONS = ("start", "middle", "end")


def insert(context: str, attack: str, position: str) -> str:
    if position == "start":
        return f"{attack}\n\n{context}"
    if position == "end":
        return f"{context}\n\n{attack}"
    middle = len(context) // 2
    breaks = [i for i in range(len(context)) if context.startswith("\n", i)] or [middle]
    cut = min(breaks, key=lambda i: abs(i - middle))
    return f"{context[:cut]}\n\n{attack}\n\n{context[cut:]}"


def bipia(
    folder: Path,
    split: str,
    threshold: float,
    kind: str = "text",
    corpus: Path | None = None,
    task_model: bool = False,
) -> dict[str, Any]:
    contexts = [row["context"] for row in read_jsonl(folder / "email" / f"{split}.jsonl")]
    attacks = json.loads((folder / f"{kind}_attack_{split}.json").read_text())
    latencies: list[float] = []
    embedder = MiniLMEmbedder()
    embed = embedder.embed if task_model else None

    def flagged(text: str) -> bool:
        start = time.perf_counter()
        _, findings = neutralise(text, threshold, embed=embed)
        latencies.append(time.perf_counter() - start)
        return "injection" in findings

    clean_touched = [i for i, context in enumerate(contexts) if flagged(context)]
    by_category: dict[str, list[bool]] = {}
    by_position: dict[str, list[bool]] = {p: [] for p in POSITIONS}
    missed: list[dict[str, str]] = []
    case = 0
    total = sum(len(instructions) for instructions in attacks.values()) * len(POSITIONS)
    with task("eval: BIPIA attacks", total) as advance:
        for category, instructions in attacks.items():
            for instruction in instructions:
                for position in POSITIONS:
                    context = contexts[case % len(contexts)]  # each attack meets several
                    case += 1
                    hit = flagged(insert(context, instruction, position))
                    by_category.setdefault(category, []).append(hit)
                    by_position[position].append(hit)
                    if not hit and len(missed) < 20:
                        missed.append({"category": category, "attack": instruction})
                    advance()
    attacked = [hit for hits in by_category.values() for hit in hits]
    report: dict[str, Any] = {
        "split": split,
        "attacks": f"{kind}_attack_{split}.json",
        "threshold": threshold,
        "task_model": task_model,
        "attacked_contexts": len(attacked),
        "flagged": round(sum(attacked) / len(attacked), 3),
        "clean_contexts": len(contexts),
        "clean_touched": round(len(clean_touched) / len(contexts), 3),
        "by_position": {p: round(sum(h) / len(h), 3) for p, h in by_position.items()},
        "by_category": {c: round(sum(h) / len(h), 3) for c, h in sorted(by_category.items())},
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 1),
        "missed_examples": missed,
    }
    if corpus is not None:
        report["corpus"] = _corpus_touched(corpus, embedder, flagged, threshold, embed)
    return report


def _corpus_touched(corpus: Path, embedder, flagged, threshold: float, embed) -> dict[str, Any]:
    """How many of a clean corpus's chunks the rail would change, with examples of what."""
    chunks = corpus_chunks(corpus, embedder)
    touched = [chunk for chunk in chunks if flagged(chunk)]
    return {
        "folder": corpus.name,
        "chunks": len(chunks),
        "touched": round(len(touched) / len(chunks), 4),
        "removed_examples": [
            removed
            for chunk in touched[:10]
            for removed in neutralise(chunk, threshold, embed=embed)[1]["injection"]
        ],
    }
