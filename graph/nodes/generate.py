"""generate: ask the chat model (through the router) and stream its text as it arrives; with
output rails, each sentence is checked before it is sent (see holdback.py)."""

from __future__ import annotations

import asyncio
import dataclasses

from langgraph.runtime import Runtime

from graph.context import Context
from graph.holdback import HoldBack
from graph.nodes.retrieve import last_user_message
from graph.protocols import ChatRequest, Generation, no_generation
from graph.state import State
from graph.tracing import SpanTimer
from rails.pii.detector import Masker


async def generate(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("generate")
    context = runtime.context
    prompt = context.prompt
    passages = state.get("passages") or []
    if passages and context.retrieval.extractive == "always":
        return _skipped(timer, prompt.version_id)
    request = _request(state, context)
    guard = _guard(state, context, runtime.stream_writer) if context.rails else None
    # Without rails, an answer with retrieved context is held back for respond to check,
    # unless it is never replaced by an extractive one.
    live = guard is None and (not passages or context.retrieval.extractive == "never")
    generation = await _run(context, request, guard, runtime.stream_writer if live else None)
    if guard and guard.ungrounded and not guard.sent and _on_fail(context) == "fallback":
        # Escalate: the fallback model answers the same prompt, checked the same way.
        first = guard.verdicts
        request = dataclasses.replace(request, route="fallback", cancel=asyncio.Event())
        guard = _guard(state, context, runtime.stream_writer)
        generation = await _run(context, request, guard, None)
        guard.verdicts = first + guard.verdicts
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
        prompt_hash=prompt.content_hash,
        fallback_reasons=generation.fallback_reasons,
        held_back=guard is not None,
        stopped_by=(guard.blocked or {}).get("name") if guard else None,
    )
    update = {
        "generation": dataclasses.asdict(generation),
        "prompt_version": prompt.version_id,
        # Text the guard released is sent; a refusal or replacement is sent by output_rails.
        "streamed": live or bool(guard and guard.sent),
        "spans": [span],
    }
    if guard:
        update |= {"rails": state.get("rails", []) + guard.verdicts, "output_checked": True}
        if guard.blocked:
            update |= {"blocked": guard.blocked, "refusal": guard.refusal}
        update["generation"]["text"] = guard.sent
    return update


def _request(state: State, context: Context) -> ChatRequest:
    params = state["params"]
    chunks = (state.get("passages") or [])[: context.retrieval.context_chunks]
    return ChatRequest(
        messages=context.prompt.render(state["messages"], chunks),
        max_tokens=params["max_tokens"],
        temperature=params.get("temperature", 0.0),
        top_p=params.get("top_p"),
        stop=context.prompt.stops(params.get("stop")),
        user=params.get("user"),
        request_id=state["trace_id"],
        cancel=asyncio.Event(),
    )


def _guard(state: State, context: Context, write) -> HoldBack:
    values = state.get("pii_values") or {}
    passages = [
        p["text"] for p in (state.get("passages") or [])[: context.retrieval.context_chunks]
    ]
    question = last_user_message(state)

    async def check(text: str):
        return await context.rails.check_output(
            text, question=question, passages=passages, system_prompt=context.prompt.system
        )

    return HoldBack(check, lambda text: write({"delta": text}), Masker(values).restore)


async def _run(context: Context, request: ChatRequest, guard: HoldBack | None, write) -> Generation:
    generation: Generation | None = None
    trim = _Trim()
    open_ = True
    async for item in context.chat_model.stream(request):
        if isinstance(item, Generation):
            generation = item
        elif (text := trim.feed(item)) and open_:
            if guard is not None:
                open_ = await guard.feed(text)
                if not open_:
                    request.cancel.set()
            elif write is not None:
                write({"delta": text})
    if guard is not None and open_:
        await guard.close()
    assert generation is not None, "a ChatModel stream must end with a Generation"
    return generation


def _on_fail(context: Context) -> str:
    return str(context.rails.policy.get("groundedness", {}).get("on_fail", "refuse"))


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
