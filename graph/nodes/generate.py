"""generate: ask the chat model (through the router) and stream its text as it arrives."""

from __future__ import annotations

import dataclasses

from langgraph.runtime import Runtime

from graph.context import Context
from graph.protocols import ChatRequest, Generation, no_generation
from graph.state import State
from graph.tracing import SpanTimer


async def generate(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("generate")
    prompt = runtime.context.prompt
    params = state["params"]
    passages = state.get("passages") or []
    if passages and runtime.context.retrieval.extractive == "always":
        return _skipped(timer, prompt.version_id)
    context_chunks = runtime.context.retrieval.context_chunks
    request = ChatRequest(
        messages=prompt.render(state["messages"], passages[:context_chunks]),
        max_tokens=params["max_tokens"],
        temperature=params.get("temperature", 0.0),
        top_p=params.get("top_p"),
        stop=prompt.stops(params.get("stop")),
        user=params.get("user"),
        request_id=state["trace_id"],
    )
    # With retrieved context the answer is checked against it before anything is sent.
    live = not passages or runtime.context.retrieval.extractive == "never"
    generation: Generation | None = None
    trim = _Trim()
    async for item in runtime.context.chat_model.stream(request):
        if isinstance(item, Generation):
            generation = item
        elif (text := trim.feed(item)) and live:
            runtime.stream_writer({"delta": text})
    assert generation is not None, "a ChatModel stream must end with a Generation"
    span = timer.span(
        model=generation.model,
        route=generation.route,
        prompt_tokens=generation.usage.prompt_tokens,
        completion_tokens=generation.usage.completion_tokens,
        cost_usd=generation.cost_usd,
        ttft_s=generation.ttft_s,
        tpot_s=generation.tpot_s,
        temperature=request.temperature,
        prompt_version=prompt.version_id,
        fallback_reasons=generation.fallback_reasons,
    )
    return {
        "generation": dataclasses.asdict(generation),
        "prompt_version": prompt.version_id,
        "streamed": live,
        "spans": [span],
    }


def _skipped(timer: SpanTimer, prompt_version: str) -> dict:
    """The answer will be the best retrieved sentence: no model is asked."""
    return {
        "generation": no_generation(),
        "prompt_version": prompt_version,
        "streamed": False,
        "spans": [timer.span(skipped="extractive answer")],
    }


class _Trim:
    """Streams text stripped at both ends, as the final answer is: leading whitespace is
    dropped, trailing whitespace held back until more text follows it."""

    def __init__(self) -> None:
        self.started = False
        self.pending = ""

    def feed(self, delta: str) -> str:
        text = self.pending + (delta if self.started else delta.lstrip())
        self.started = self.started or bool(text)
        body = text.rstrip()
        self.pending = text[len(body) :]
        return body
