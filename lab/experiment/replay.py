"""Replay a query set through the real guarded graph under each routing policy, one request at
a time (so latencies are not each other's queueing), streamed (so TTFT is the client's), one
JSON line per (policy, query) appended as it finishes: an interrupted run resumes where it
stopped, unless the setup or railyard's code changed since.

The policies are interleaved question by question, in an order that rotates with each
question: a slow spell of the machine, a warming cache or a fallback outage lands on every
policy alike instead of on whichever ran during it.
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
    code: str = dataclasses.field(default_factory=lambda: code_version())
    """Hash of railyard's own source: results of other code are not resumed."""

    def key(self) -> str:
        return hashlib.sha256(json.dumps(dataclasses.asdict(self)).encode()).hexdigest()[:16]


PACKAGES = ("graph", "rails", "ingest", "serving", "storage", "lab")
ROOT = Path(__file__).resolve().parents[2]


def code_version() -> str:
    """sha256 (first 12) of railyard's source files (Python, YAML, Colang, prompts), by path
    and content: changes with any edit, committed or not."""
    digest = hashlib.sha256()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix in (".py", ".yaml", ".yml", ".co", ".jinja", ".json") and (
                "__pycache__" not in path.parts
            ):
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


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
                "fallback, answer or extractive mode, max tokens, difficulty threshold or "
                "railyard's code changed): pass --restart to discard them, or --out another folder"
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
    answering = dataclasses.replace(built.parts.answer, extractive=extractive, mode=answer)
    graphs = [
        (policy.name, build(built.context(routing=policy, answer=answering))) for policy in policies
    ]
    for i, query in enumerate(queries):
        for name, request_graph in interleaved(graphs, i):
            if (name, query["id"]) in done:
                progress(name)
                continue
            row = await run_query(request_graph, query, max_tokens, built)
            row |= score(query, row, embed)
            results.append({"policy": name, **row})
            progress(name)


def interleaved(items: list, turn: int) -> list:
    """The items rotated by `turn`: each question starts with the next policy."""
    if not items:
        return []
    k = turn % len(items)
    return items[k:] + items[:k]
