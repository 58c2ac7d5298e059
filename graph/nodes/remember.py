"""remember: put a fresh, allowed answer into the semantic cache for its paraphrases. Only
single-question requests whose answer came from a model or the knowledge base, passed every
rail and carries none of the user's own PII (restored placeholders) are kept."""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from graph.context import Context
from graph.nodes.retrieve import last_user_message
from graph.state import State
from graph.tracing import SpanTimer

CACHEABLE_MODES = {"selected", "generated", "extractive"}


async def remember(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("remember")
    cache = state.get("cache") or {}
    eligible = (
        "scope" in cache
        and "entry" not in cache
        and state.get("route") in ("local", "fallback")
        and state.get("answer_mode") in CACHEABLE_MODES
        and not state.get("blocked")
        and not state.get("pii_values")
        and bool(state.get("answer", "").strip())
    )
    if eligible:
        answer = {
            "answer": state["answer"], "answer_mode": state["answer_mode"],
            "citations": state.get("citations", []), "passages": state.get("passages", []),
            "prompt_version": state.get("prompt_version"),
        }  # fmt: skip
        # Embedding the question is memoised: retrieval already paid for it.
        await asyncio.to_thread(
            runtime.context.cache.store, last_user_message(state), cache["scope"], answer
        )
    return {"spans": [timer.span(stored=eligible)]}
