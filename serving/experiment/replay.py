"""Replay a query set through the real guarded graph under each routing policy, one request at
a time (so latencies are not each other's queueing), streamed (so TTFT is the client's), one
JSON line per (policy, query) appended as it finishes: an interrupted run resumes where it
stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from graph import build
from graph.difficulty import difficulty
from graph.routing import Routing
from graph.state import InputState
from serving.experiment.score import score
from serving.inprocess import Services

RESULTS = "results.jsonl"


@dataclasses.dataclass(frozen=True)
class Setup:
    """What a run's results depend on; a results file from another setup is not resumed."""

    queries: str
    """sha256 of the query file."""
    corpus: str
    prompt: str
    fallback: str
    extractive: str
    answer: str
    max_tokens: int
    max_difficulty: float

    def key(self) -> str:
        return hashlib.sha256(json.dumps(dataclasses.asdict(self)).encode()).hexdigest()[:16]


class ResultsFile:
    def __init__(self, out_dir: Path, setup: Setup) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / RESULTS
        self.key = setup.key()
        self.rows = [json.loads(line) for line in self._lines()]
        stale = {r["setup"] for r in self.rows} - {self.key}
        if stale:
            raise ValueError(
                f"{self.path} holds results of another setup (query file, corpus, prompt, "
                "fallback, answer or extractive mode, max tokens or difficulty threshold "
                "changed): pass --restart to discard them, or --out another folder"
            )

    def _lines(self) -> Iterator[str]:
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    yield line

    def done(self) -> set[tuple[str, str]]:
        return {(r["policy"], r["id"]) for r in self.rows}

    def append(self, row: dict[str, Any]) -> None:
        row = {"setup": self.key, **row}
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        self.rows.append(row)


async def replay(
    built: Services,
    queries: list[dict],
    policies: list[Routing],
    results: ResultsFile,
    *,
    extractive: str,
    answer: str = "generate",
    max_tokens: int,
    embed: Callable[[list[str]], list[list[float]]],
    progress: Callable[[str], None] = lambda policy: None,
) -> None:
    done = results.done()
    retrieval = dataclasses.replace(built.parts["retrieval"], extractive=extractive, answer=answer)
    for policy in policies:
        request_graph = build(built.context(routing=policy, retrieval=retrieval))
        for query in queries:
            if (policy.name, query["id"]) in done:
                progress(policy.name)
                continue
            row = await ask(request_graph, query, max_tokens, built)
            row |= score(query, row, embed)
            results.append({"policy": policy.name, **row})
            progress(policy.name)


async def ask(request_graph, query: dict, max_tokens: int, built: Services) -> dict[str, Any]:
    state = InputState(
        messages=[{"role": "user", "content": query["question"]}],
        params={"max_tokens": max_tokens, "temperature": 0.0},
        trace_id=uuid.uuid4().hex,
    )
    # Each request pays for its own question embedding, as a fresh one would.
    getattr(built.knowledge.ingestor.embedder, "clear_memo", lambda: None)()
    start = time.perf_counter()
    first, final = None, None
    try:
        async for kind, value in request_graph.stream(state):
            if kind == "delta" and first is None and value.strip():
                first = time.perf_counter() - start
            elif kind == "final":
                final = value
    except Exception as e:  # a failed request is a result too (local-only with vLLM down)
        return {
            "id": query["id"], "error": f"{type(e).__name__}: {e}", "answer": "",
            "answer_mode": "error", "route": "error", "model_route": None, "cost_usd": 0.0,
            "latency_ms": (time.perf_counter() - start) * 1000, "ttft_ms": None,
            "fallback_reasons": [], "escalated_after": None, "blocked": None, "rail_blocks": [],
            "difficulty": None, "sources": [], "passages": [], "confidence": None,
        }  # fmt: skip
    latency = time.perf_counter() - start
    generation = final["generation"]
    spans = {s["name"]: s["attributes"] for s in final.get("spans", [])}
    attributes = spans.get("generate", {})
    passages = (final.get("passages") or [])[: built.parts["retrieval"].context_chunks]
    return {
        "id": query["id"],
        "answer": final["answer"],
        "answer_mode": final.get("answer_mode"),
        "route": final["route"],
        "model_route": generation["route"] if generation.get("model") != "none" else None,
        "cost_usd": generation["cost_usd"],
        "prompt_tokens": generation["usage"]["prompt_tokens"],
        "completion_tokens": generation["usage"]["completion_tokens"],
        "latency_ms": latency * 1000,
        "ttft_ms": None if first is None else first * 1000,
        "fallback_reasons": generation.get("fallback_reasons", []),
        "escalated_after": attributes.get("escalated_after"),
        "confidence": spans.get("select", {}).get("confidence"),
        "blocked": (final.get("blocked") or {}).get("name"),
        "rail_blocks": [v["name"] for v in final.get("rails", []) if v.get("decision") == "block"],
        "difficulty": difficulty(query["question"], passages),
        "sources": [c["source"] for c in final.get("citations", [])],
        "passages": [p["text"] for p in passages],
    }
