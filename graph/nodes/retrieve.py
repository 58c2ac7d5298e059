"""retrieve: find the chunks that answer the question, with scores, for the prompt and citations."""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from graph.context import Context, RetrievalSettings
from graph.protocols import Passage, Retrieval
from graph.state import State
from graph.tracing import SpanTimer


def last_user_message(state: State) -> str:
    return next(m["content"] for m in reversed(state["messages"]) if m["role"] == "user")


async def retrieve(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("retrieve")
    settings = runtime.context.retrieval
    result = await asyncio.to_thread(
        runtime.context.retriever.search, last_user_message(state), settings.k
    )
    relevant = relevant_hits(result, settings)
    passages = [
        {"chunk_id": h.chunk_id, "source": h.source, "heading": h.heading, "text": h.text,
         "score": round(h.score or 0.0, 4)}
        for h in relevant
    ]  # fmt: skip
    scanned: list[dict] = []
    if runtime.context.rails is not None and passages:
        # Retrieved text is data, not instructions: neutralise it before it reaches the prompt.
        passages, scanned = runtime.context.rails.scan_passages(passages)
    span = timer.span(
        neutralised=[v["reason"] for v in scanned],
        index_version=result.index_version,
        hits=[{"chunk_id": h.chunk_id, "score": round(h.score or 0.0, 4)} for h in result.hits],
        relevant=len(relevant),
        unknown_terms=list(result.unknown_terms),
    )
    update = {"passages": passages, "index_version": result.index_version, "spans": [span]}
    return update | ({"retrieval_rails": scanned} if runtime.context.rails is not None else {})


def relevant_hits(result: Retrieval, settings: RetrievalSettings) -> list[Passage]:
    """Chunks similar enough to answer from; none when the question names something the
    knowledge base never mentions and no chunk is a strong match."""
    top = max((h.score or 0.0 for h in result.hits), default=0.0)
    if result.unknown_terms and top < settings.strong_score:
        return []
    return [h for h in result.hits if (h.score or 0.0) >= settings.min_score]


def after_retrieve(state: State) -> str:
    """Refuse what the input rails blocked; generate only when something relevant was found."""
    if state.get("blocked"):
        return "refuse"
    return "generate" if state.get("passages") else "no_answer"
