"""no_answer: say the knowledge base does not cover the question, without calling a model."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.context import Context
from graph.protocols import no_generation
from graph.state import State
from graph.tracing import SpanTimer


async def no_answer(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("no_answer")
    prompt = runtime.context.prompt
    text = prompt.no_context_answer
    runtime.stream_writer({"delta": text})
    return {
        "generation": no_generation(text),
        "prompt_version": prompt.version_id,
        "streamed": True,
        "answer_mode": "no_context",
        "confidence": 0.0,
        "decision": "none",
        "spans": [timer.span(reason="no relevant chunk")],
    }
