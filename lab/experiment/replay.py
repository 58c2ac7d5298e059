"""Replay a query set through the real guarded graph under each routing policy, one request at
a time (so latencies are not each other's queueing), streamed (so TTFT is the client's), one
JSON line per (policy, query) appended as it finishes: an interrupted run resumes where it
stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from graph import build
from graph.routing import Routing
from lab.harness import Services, run_query
from lab.scoring import score

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
    retrieval = dataclasses.replace(built.parts.retrieval, extractive=extractive, answer=answer)
    for policy in policies:
        request_graph = build(built.context(routing=policy, retrieval=retrieval))
        for query in queries:
            if (policy.name, query["id"]) in done:
                progress(policy.name)
                continue
            row = await run_query(request_graph, query, max_tokens, built)
            row |= score(query, row, embed)
            results.append({"policy": policy.name, **row})
            progress(policy.name)
