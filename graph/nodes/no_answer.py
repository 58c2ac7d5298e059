"""no_answer: say the knowledge base does not cover the question, without calling a model."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import State
from graph.tracing import SpanTimer


async def no_answer(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("no_answer")
    prompt = runtime.context.prompt
    text = prompt.no_context_answer
    runtime.stream_writer({"delta": text})
    generation = {
        "text": text, "finish_reason": "stop", "route": "local", "model": "none",
        "usage": {"prompt_tokens": 0, "completion_tokens": 0}, "cost_usd": 0.0,
        "latency_s": 0.0, "ttft_s": None, "fallback_reasons": [],
    }  # fmt: skip
    return {
        "generation": generation,
        "prompt_version": prompt.version_id,
        "streamed": True,
        "answer_mode": "no_context",
        "spans": [timer.span(reason="no relevant chunk")],
    }
