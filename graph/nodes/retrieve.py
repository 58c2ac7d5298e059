"""retrieve: find the chunks that answer the question, with scores, for the prompt and citations."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from langgraph.runtime import Runtime

from graph.answering import question_parts
from graph.context import Context, RetrievalSettings
from graph.errors import RetrievalUnavailable
from graph.protocols import Passage, Retrieval
from graph.state import State, asked, earlier_context, last_user_message
from graph.tracing import SpanTimer

log = logging.getLogger("railyard.retrieve")


def cache_scope(state: State, context: Context) -> str | None:
    """Where a cached answer may serve this request: single-question requests (no history, no
    client system prompt) under the live index and the current prompt; None when not cacheable."""
    if context.cache is None or [m["role"] for m in state["messages"]] != ["user"]:
        return None
    prompt = context.prompt
    version = context.retriever.index_version()
    return f"index@{version}|{prompt.version_id}#{prompt.content_hash}"


def cache_partition(state: State) -> str:
    """Who may share a cached answer: the same project asking with the same parameters that
    change the text (stop sequences, sampling). max_tokens is checked against the stored
    answer's length instead, so a shorter limit never gets a longer answer."""
    params = state["params"]
    shared = {
        "project": state.get("project", "default"), "stop": params.get("stop"),
        "temperature": params.get("temperature"), "top_p": params.get("top_p"),
    }  # fmt: skip
    return json.dumps(shared, sort_keys=True)


def _cache_lookup(state: State, context: Context) -> dict:
    scope = cache_scope(state, context)
    if scope is None:
        return {"result": "skipped"}
    partition = cache_partition(state)
    found = context.cache.lookup(last_user_message(state), scope, partition)
    cache = {
        "result": found.result, "similarity": found.similarity, "scope": scope,
        "partition": partition,
    }  # fmt: skip
    hit = found.hit
    if hit is not None and (hit.get("completion_tokens") or 0) > state["params"]["max_tokens"]:
        return cache | {"result": "guard_length"}
    return cache | ({"entry": hit} if hit is not None else {})


async def retrieve(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("retrieve")
    context = runtime.context
    settings = context.retrieval
    cache = await asyncio.to_thread(_cache_lookup, state, context)
    if "entry" in cache:
        # A paraphrase of an answered question: its (already neutralised) chunks come back.
        span = timer.span(cache="hit", similarity=cache["similarity"])
        return {"passages": cache["entry"]["passages"], "cache": cache, "spans": [span]}
    # A follow-up is searched as one request with the turns it leans on; a message that
    # stands alone is searched part by part.
    parts = [asked(state)] if earlier_context(state) else question_parts(asked(state))
    results = [await _search(context, part) for part in parts]
    result = results[0] if len(results) == 1 else _merged(results, settings.k)
    relevant = relevant_hits(result, settings)
    passages = [
        {"chunk_id": h.chunk_id, "source": h.source, "heading": h.heading, "text": h.text,
         "score": round(h.score or 0.0, 4), "dense_rank": getattr(h, "dense_rank", None),
         "text_rank": getattr(h, "text_rank", None)}
        for h in relevant
    ]  # fmt: skip
    scanned: list[dict] = []
    if runtime.context.rails is not None and passages:
        # Retrieved text is data, not instructions: neutralise it before it reaches the prompt.
        passages, scanned = runtime.context.rails.scan_passages(passages)
    span = timer.span(
        cache=cache["result"],
        neutralised=[v["reason"] for v in scanned],
        index_version=result.index_version,
        hits=[{"chunk_id": h.chunk_id, "score": round(h.score or 0.0, 4)} for h in result.hits],
        relevant=len(relevant),
        parts=len(parts),
    )
    baseline = getattr(result, "baseline", None)
    update = {
        "passages": passages, "index_version": result.index_version, "cache": cache,
        "baseline": None if baseline is None else round(baseline, 4), "spans": [span],
    }  # fmt: skip
    return update | ({"retrieval_rails": scanned} if runtime.context.rails is not None else {})


async def _search(context: Context, question: str) -> Retrieval:
    """The retriever's hits, or RetrievalUnavailable when it fails or outlasts its timeout (a
    Milvus server that is down must not hang the request)."""
    settings = context.retrieval
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(context.retriever.search, question, settings.k), settings.timeout_s
        )
    except TimeoutError as e:
        raise RetrievalUnavailable(
            f"the knowledge base did not answer within {settings.timeout_s:g} s"
        ) from e
    except Exception as e:
        log.exception("retrieval failed")
        raise RetrievalUnavailable(f"the knowledge base failed: {type(e).__name__}") from e


def relevant_hits(result: Retrieval, settings: RetrievalSettings) -> list[Passage]:
    """Chunks similar enough to the question to answer from (dense cosine at least `min_score`,
    0 by default: no absolute gate, whose scale differs between corpora and between the
    documents' wording and a user's). Whether they answer it is the answer step's call
    (graph/nodes/select.py: the model's scores and the calibrated answerability model)."""
    return [h for h in result.hits if (h.score or 0.0) >= settings.min_score]


@dataclass(frozen=True)
class _Merged:
    hits: list[Passage]
    index_version: int


def _merged(results: list[Retrieval], k: int) -> _Merged:
    """One ranking from each part's: the parts' best hits in turn (part 1's first, part 2's
    first, part 1's second, ...), each chunk once, so every part reaches the prompt."""
    seen: dict[str, Passage] = {}
    for rank in range(max(len(r.hits) for r in results)):
        for result in results:
            if rank < len(result.hits):
                seen.setdefault(result.hits[rank].chunk_id, result.hits[rank])
    return _Merged(list(seen.values())[: k + len(results)], results[0].index_version)


def after_retrieve(state: State) -> str:
    """Refuse what the input rails blocked; generate only when something relevant was found."""
    if state.get("blocked"):
        return "refuse"
    if "entry" in (state.get("cache") or {}):
        return "cached"
    return "generate" if state.get("passages") else "no_answer"
