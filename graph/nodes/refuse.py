"""refuse: answer a request the input rails blocked with the policy's refusal; no model runs."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.context import Context
from graph.protocols import no_generation
from graph.state import State
from graph.tracing import SpanTimer


async def refuse(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("refuse")
    text = state["refusal"]
    runtime.stream_writer({"delta": text})
    return {
        "generation": no_generation(text),
        "prompt_version": runtime.context.prompt.version_id,
        "answer": text,
        "answer_mode": "refused",
        "route": "blocked",
        "citations": [],
        "streamed": True,
        "spans": [timer.span(rail=state["blocked"]["name"], reason=state["blocked"]["reason"])],
    }
