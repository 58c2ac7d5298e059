"""generate: ask the chat model and stream its text through the hold-back: with output rails,
each sentence is checked before it is sent (graph/holdback.py), and an answer they reject before
any of it was sent is reported to the chat model, which may have the fallback answer instead
(serving/llm/fallback.py decides, under the routing policy of graph/routing.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from langgraph.runtime import Runtime

from graph.context import Context
from graph.holdback import HoldBack
from graph.protocols import (
    ChatRequest,
    Generation,
    HandOver,
    Rejection,
    Retry,
    TextEnd,
    Usage,
    no_generation,
)
from graph.spotlight import unmark
from graph.state import State, asked
from graph.tracing import SpanTimer

log = logging.getLogger("railyard.generate")


async def generate(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("generate")
    context = runtime.context
    prompt = context.prompt
    passages = state.get("passages") or []
    if passages and context.answer.extractive == "always" and not state.get("escalate"):
        return _skipped(timer, prompt.version_id)
    request, difficulty = _request(state, context)
    # Without rails, an answer with retrieved context is held back for respond to check,
    # unless it is never replaced by an extractive one.
    live = context.rails is None and (not passages or context.answer.extractive == "never")
    answer = _Answer(state, context, runtime.stream_writer, live)
    generation = await answer.run(request)
    guard = answer.guard
    retried = answer.retried and answer.retried.removeprefix("rail:")
    escalated = retried or (request.handed_over and request.handed_over.reason)
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
        routing=context.routing.name,
        difficulty=difficulty,
        escalated_after=escalated or None,
    )
    update = {
        "generation": dataclasses.asdict(generation),
        "prompt_version": prompt.version_id,
        # Text the guard released is sent; a refusal or replacement is sent by output_rails.
        "streamed": live or bool(guard and guard.sent),
        "spans": [span],
    }
    if guard:
        verdicts = answer.verdicts + guard.verdicts
        update |= {"rails": state.get("rails", []) + verdicts, "output_checked": True}
        if guard.blocked:
            update |= {"blocked": guard.blocked, "refusal": guard.refusal}
        update["generation"]["text"] = guard.released
    return update


def _request(state: State, context: Context) -> tuple[ChatRequest, float | None]:
    """The chat request, and the question's difficulty when the routing policy uses it."""
    params = state["params"]
    chunks = (state.get("passages") or [])[: context.retrieval.context_chunks]
    routing = context.routing
    escalate = state.get("escalate")
    route, score = routing.first_route(asked(state), chunks, escalated=bool(escalate))
    # select handed over: the fallback answers, and the request pays for the scoring too.
    handed_over = None
    if escalate and escalate != "routing":
        handed_over = HandOver(escalate, _scoring(state))
    request = ChatRequest(
        messages=context.prompt.render(state["messages"], chunks, context.answer.spotlight),
        max_tokens=params["max_tokens"],
        temperature=params.get("temperature", 0.0),
        top_p=params.get("top_p"),
        stop=context.prompt.stops(params.get("stop")),
        user=params.get("user"),
        request_id=state["trace_id"],
        route=route,
        paid=not state.get("local_only"),
        routing=routing,
        handed_over=handed_over,
        cancel=asyncio.Event(),
        rejection=Rejection(),
    )
    return request, score


class _Answer:
    """The chat model's stream through the hold-back: text the rails pass goes to the client (or,
    without rails, straight there when `live`); a rejection is told to the chat model, and a
    `Retry` starts the next answer with a new hold-back."""

    def __init__(self, state: State, context: Context, write, live: bool) -> None:
        self.state, self.context, self.write, self.live = state, context, write, live
        self.guard = self._guard() if context.rails else None
        self.verdicts: list[dict] = []
        """The rails' verdicts on earlier answers (a rejected local one)."""
        self.retried: str | None = None
        self.open = True

    async def run(self, request: ChatRequest) -> Generation:
        generation: Generation | None = None
        trim = _Trim()
        plain = unmark if self.context.answer.spotlight else _as_is
        async for item in self.context.chat_model.stream(request):
            if isinstance(item, Generation):
                generation = dataclasses.replace(item, text=plain(item.text))
            elif isinstance(item, TextEnd):
                await self._close(request)
            elif isinstance(item, Retry):
                self.verdicts += self.guard.verdicts if self.guard else []
                self.guard = self._guard() if self.guard else None
                self.retried, self.open, trim = item.reason, True, _Trim()
            elif (text := trim.feed(plain(item))) and self.open:
                await self._feed(request, text)
        await self._close(request)
        assert generation is not None, "a ChatModel stream must end with a Generation"
        return generation

    async def _feed(self, request: ChatRequest, text: str) -> None:
        if self.guard is None:
            if self.live:
                self.write({"delta": text})
            return
        self.open = await self.guard.feed(text)
        if not self.open:
            self._reject(request)

    async def _close(self, request: ChatRequest) -> None:
        """The end of an answer's text: what the hold-back still holds is checked."""
        if self.guard is not None and self.open:
            self.open = False
            if not await self.guard.close():
                self._reject(request)

    def _reject(self, request: ChatRequest) -> None:
        """The rails stopped the answer: the model stops generating, and learns whether the
        answer was rejected before any of it was sent (which the fallback may then answer)."""
        request.cancel.set()  # type: ignore[union-attr]
        guard = self.guard
        if not guard.sent and request.rejection is not None:  # type: ignore[union-attr]
            request.rejection.rail = guard.blocked.get("name") or ""  # type: ignore[union-attr]
            request.rejection.ungrounded = guard.ungrounded  # type: ignore[union-attr]
            request.rejection.on_ungrounded = self.context.rails.on_ungrounded  # type: ignore[union-attr]

    def _guard(self) -> HoldBack:
        state, context = self.state, self.context
        values = state.get("pii_values") or {}
        chunks = (state.get("passages") or [])[: context.retrieval.context_chunks]
        passages = [p["text"] for p in chunks]
        question = asked(state)

        async def check(text: str, preceding: str = ""):
            return await context.rails.check_output(
                text, question=question, passages=passages, system_prompt=context.prompt.system,
                preceding=preceding,
            )  # fmt: skip

        def restore(text: str) -> str:
            return context.rails.restore_pii(text, values)

        return HoldBack(check, lambda text: self.write({"delta": text}), restore)


def _as_is(text: str) -> str:
    return text


def _scoring(state: State) -> Generation:
    """What select's scoring cost before it handed over (nothing when the local model was not
    reachable)."""
    found = state.get("generation") or {}
    if found.get("model", "none") == "none":
        return Generation("", "stop", "local", "none", Usage(), 0.0, 0.0)
    return Generation(**(found | {"usage": Usage(**found["usage"])}))


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
