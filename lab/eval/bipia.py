"""`railyard eval bipia`: the retrieved-content rail on BIPIA (microsoft/BIPIA, MIT; in
../shared/benchmarks/bipia), data nobody here wrote. Each attack instruction of the split
(`text_attack_{split}.json`) is inserted into an email context of the same split
(`email/{split}.jsonl`) at its start, middle (a paragraph break nearest the middle) and end, as
BIPIA builds its cases; the clean contexts go through too. A context counts as flagged when
the rail removes an instructing sentence from it (its `injection` finding); secrets and PII
redaction are not counted either way. Reported: share of attacked contexts flagged, by attack
category and position; share of clean contexts touched; the rail's latency."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from lab.jsonl import read_jsonl
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


def bipia(folder: Path, split: str, threshold: float) -> dict[str, Any]:
    contexts = [row["context"] for row in read_jsonl(folder / "email" / f"{split}.jsonl")]
    attacks = json.loads((folder / f"text_attack_{split}.json").read_text())
    latencies: list[float] = []

    def flagged(text: str) -> bool:
        start = time.perf_counter()
        _, findings = neutralise(text, threshold)
        latencies.append(time.perf_counter() - start)
        return "injection" in findings

    clean_touched = [i for i, context in enumerate(contexts) if flagged(context)]
    by_category: dict[str, list[bool]] = {}
    by_position: dict[str, list[bool]] = {p: [] for p in POSITIONS}
    missed: list[dict[str, str]] = []
    case = 0
    for category, instructions in attacks.items():
        for instruction in instructions:
            for position in POSITIONS:
                context = contexts[case % len(contexts)]  # each attack meets several contexts
                case += 1
                hit = flagged(insert(context, instruction, position))
                by_category.setdefault(category, []).append(hit)
                by_position[position].append(hit)
                if not hit and len(missed) < 20:
                    missed.append({"category": category, "attack": instruction})
    attacked = [hit for hits in by_category.values() for hit in hits]
    return {
        "split": split,
        "threshold": threshold,
        "attacked_contexts": len(attacked),
        "flagged": round(sum(attacked) / len(attacked), 3),
        "clean_contexts": len(contexts),
        "clean_touched": round(len(clean_touched) / len(contexts), 3),
        "by_position": {p: round(sum(h) / len(h), 3) for p, h in by_position.items()},
        "by_category": {c: round(sum(h) / len(h), 3) for c, h in sorted(by_category.items())},
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 1),
        "missed_examples": missed,
    }
