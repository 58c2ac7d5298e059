"""railyard's request path in one process, for benchmarks and evaluations: the parts built once
from Settings (knowledge base, router, rails) and chat services over them, with the guardrails
on and off. The HTTP layer is left out; everything under it is what `railyard serve` runs."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph import build
from graph.context import Context
from graph.difficulty import difficulty
from graph.state import InputState
from ingest.text import sentences
from rails import RailsEngine
from serving.chat.protocol import ChatCompletionRequest
from serving.chat.service import MODEL_NAME, ChatService
from serving.knowledge import KnowledgeBase
from serving.parts import Parts
from serving.settings import Settings

log = logging.getLogger("railyard.lab")


@dataclass
class Services:
    parts: Parts
    """What every request graph here is built from (serving/parts.py, as the app builds it)."""
    on: ChatService
    """The guarded graph, as served (the answer cache off: every question is answered)."""
    off: ChatService
    """The same graph without rails."""

    @property
    def knowledge(self) -> KnowledgeBase:
        return self.parts.knowledge

    @property
    def rails(self) -> RailsEngine:
        assert self.parts.rails is not None
        return self.parts.rails

    def context(self, **changes) -> Context:
        """The guarded graph's context (no answer cache), with `changes` applied."""
        return self.parts.context(**({"cache": None} | changes))


@contextlib.asynccontextmanager
async def services(settings: Settings, seed: list[Path] | None = None) -> AsyncIterator[Services]:
    """Index `seed` (or the configured knowledge base) when the index is empty, then yield."""
    parts = Parts.build(settings, rails=True)
    try:
        knowledge = parts.knowledge
        await parts.warm_up()
        if seed and not knowledge.ingestor.manifest.documents():
            summary = await knowledge.ingest(list(seed))
            for failed in summary.get("failed", []):
                log.warning("not indexed: %s (%s)", failed["source"], failed["reason"])
        elif knowledge.needs_seed():
            await knowledge.seed()
        guarded = parts.context(cache=None)
        yield Services(
            parts=parts,
            on=ChatService(build(guarded), settings),
            off=ChatService(build(dataclasses.replace(guarded, rails=None)), settings),
        )
    finally:
        parts.close()


def chat_request(question: str) -> ChatCompletionRequest:
    """A chat completion request for one question, as a client would send it."""
    return ChatCompletionRequest(
        model=MODEL_NAME, messages=[{"role": "user", "content": question}], temperature=0.0
    )


async def run_query(
    request_graph, query: dict, max_tokens: int, built: Services, history: list | None = None
) -> dict[str, Any]:
    """Ask one query of a QA file through `request_graph` (after `history`, the conversation's
    earlier messages, if any) and record what came back: the answer, its route, cost, latency,
    time to first text, rails, citations and passages."""
    state = InputState(
        messages=[*(history or []), {"role": "user", "content": query["question"]}],
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
            "decision": None,
        }  # fmt: skip
    latency = time.perf_counter() - start
    generation = final["generation"]
    spans = {s["name"]: s["attributes"] for s in final.get("spans", [])}
    attributes = spans.get("generate", {})
    passages = (final.get("passages") or [])[: built.parts.retrieval.context_chunks]
    return {
        "id": query["id"],
        "answer": final["answer"],
        "quoted": final.get("quoted") or "",
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
        "confidence": final.get("confidence"),
        "decision": final.get("decision"),
        "blocked": (final.get("blocked") or {}).get("name"),
        "rail_blocks": [v["name"] for v in final.get("rails", []) if v.get("decision") == "block"],
        "difficulty": difficulty(query["question"], passages),
        "sources": [c["source"] for c in final.get("citations", [])],
        "passages": [p["text"] for p in passages],
        "candidates": _candidates(spans.get("select", {}), passages),
    }


def _candidates(select: dict, passages: list[dict]) -> list[str]:
    """The sentences the select step had the model score (its span names them by passage and
    position), for the recall of the answering sentence among them."""
    found = []
    for scored in select.get("scored") or []:
        if scored["passage"] < len(passages):
            said = sentences(passages[scored["passage"]]["text"], min_words=3)
            if scored["position"] < len(said):
                found.append(said[scored["position"]])
    return found


def corpus_settings(settings: Settings, corpus: Path) -> Settings:
    """Settings whose index is `corpus` alone, kept under DATA_DIR/corpora/<key> so evaluations
    and experiments on the same corpus share one index (incremental, so re-runs are quick);
    the answer cache is off so every question is answered afresh."""
    key = hashlib.sha1(str(corpus.resolve()).encode()).hexdigest()[:12]
    return settings.model_copy(
        update={
            "data_dir": settings.data_dir / "corpora" / key,
            "models_dir": settings.resolved_models_dir,
            "knowledge_base": [corpus],
            "cache_enabled": False,
        }
    )


@contextlib.contextmanager
def scratch_settings(
    settings: Settings, corpus: Path, data_dir: Path | None = None
) -> Iterator[Settings]:
    """Settings over their own data dir (a temporary one unless given), seeded from `corpus`
    unless a knowledge base is configured, so a bench can run beside a serving gateway."""
    with tempfile.TemporaryDirectory(prefix="railyard-bench-") as scratch:
        yield settings.model_copy(
            update={
                "data_dir": data_dir or Path(scratch),
                # The converted local model is reused, not converted again in the scratch dir.
                "models_dir": settings.resolved_models_dir,
                "knowledge_base": settings.knowledge_base or [corpus],
            }
        )
