"""remember: put a fresh, allowed answer into the semantic cache for its paraphrases. Only
single-question requests whose answer came from a model or the knowledge base, ran to its end
(not cut by max_tokens or a stop sequence), passed every rail and carries none of the user's own
PII (restored placeholders) are kept, for the asker's project and parameters (its partition)."""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import State, last_user_message
from graph.tracing import SpanTimer

CACHEABLE_MODES = {"selected", "generated", "extractive"}


async def remember(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("remember")
    cache = state.get("cache") or {}
    generation = state.get("generation") or {}
    eligible = (
        "scope" in cache
        and "entry" not in cache
        and state.get("route") in ("local", "fallback")
        and state.get("answer_mode") in CACHEABLE_MODES
        and not state.get("blocked")
        and not state.get("pii_values")
        and generation.get("finish_reason", "stop") == "stop"
        and bool(state.get("answer", "").strip())
    )
    if eligible:
        answer = {
            "answer": state["answer"], "answer_mode": state["answer_mode"],
            "citations": state.get("citations", []), "passages": state.get("passages", []),
            "prompt_version": state.get("prompt_version"),
            # A written answer's length, for later requests with a smaller max_tokens.
            "completion_tokens": (generation.get("usage") or {}).get("completion_tokens", 0)
            if state["answer_mode"] == "generated"
            else 0,
        }  # fmt: skip
        # Embedding the question is memoised: retrieval already paid for it.
        await asyncio.to_thread(
            runtime.context.cache.store, last_user_message(state), cache["scope"], answer,
            cache.get("partition", ""),
        )  # fmt: skip
    return {"spans": [timer.span(stored=eligible)]}
