"""cached: answer with the stored answer of an earlier paraphrase (route `cache`, no model
call); the output rails still check it when the graph is guarded."""

from __future__ import annotations

import hashlib

from langgraph.runtime import Runtime

from graph.context import Context
from graph.protocols import no_generation
from graph.state import State
from graph.tracing import SpanTimer


async def cached(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("cached")
    cache = state["cache"]
    entry = cache["entry"]
    generation = no_generation(entry["answer"]) | {"route": "cache", "model": "cache"}
    unguarded = runtime.context.rails is None
    if unguarded:
        runtime.stream_writer({"delta": entry["answer"]})
    # The stored question is another asker's words: the trace names it by a digest only.
    stored = hashlib.sha256(entry["question"].encode()).hexdigest()[:12]
    span = timer.span(similarity=cache["similarity"], stored_question=stored)
    return {
        "generation": generation,
        "prompt_version": entry["prompt_version"],
        "answer": entry["answer"],
        "answer_mode": entry["answer_mode"],
        "route": "cache",
        "citations": entry["citations"],
        "streamed": unguarded,
        "spans": [span],
    }
