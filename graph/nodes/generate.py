"""generate: ask the chat model (through the router) and stream its text as it arrives; with
output rails, each sentence is checked before it is sent (see holdback.py). When the local
model fails, the routing policy (graph/routing.py) decides whether the fallback answers."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from langgraph.runtime import Runtime

from graph.context import Context
from graph.errors import ModelRefused, PromptTooLong
from graph.holdback import HoldBack
from graph.protocols import ChatRequest, Generation, Usage, no_generation
from graph.routing import escalated as after
from graph.routing import take_over
from graph.spotlight import unmark
from graph.state import State, asked
from graph.tracing import SpanTimer

log = logging.getLogger("railyard.generate")


async def generate(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("generate")
    context = runtime.context
    prompt = context.prompt
    passages = state.get("passages") or []
    if passages and context.retrieval.extractive == "always" and not state.get("escalate"):
        return _skipped(timer, prompt.version_id)
    request, difficulty = _request(state, context)
    guard = _guard(state, context, runtime.stream_writer) if context.rails else None
    # Without rails, an answer with retrieved context is held back for respond to check,
    # unless it is never replaced by an extractive one.
    live = guard is None and (not passages or context.retrieval.extractive == "never")
    writer = _Writer(runtime.stream_writer) if live else None
    prefix = ""
    try:
        generation = await _run(context, request, guard, writer)
    except (PromptTooLong, ModelRefused):
        raise  # refused as asked: no route is paid to absorb it
    except Exception as e:
        # The local stream broke (vLLM died mid-answer): the fallback answers instead, or, when
        # text already reached the client, continues it. A broken fallback's error stands.
        if not context.routing.takes_over(request):
            raise
        prefix = writer.text if writer else (guard.sent if guard else "")
        log.warning(
            "local stream failed after %d chars (%s); the fallback takes over", len(prefix), e
        )
        prefix = _masked(state, context, prefix)  # the client has it with its values back
        request = take_over(request, prefix)
        checked = guard.verdicts if guard else []
        guard = _guard(state, context, runtime.stream_writer) if context.rails else None
        writer = _Writer(runtime.stream_writer, joined_to=prefix) if live else None
        generation = await _run(context, request, guard, writer)
        if guard:
            guard.verdicts = checked + guard.verdicts
        generation = dataclasses.replace(
            generation,
            text=_join(prefix, generation.text),
            fallback_reasons=["local_stream_broken", *generation.fallback_reasons],
        )
    escalated = None
    if state.get("escalate") and state["escalate"] != "routing":
        # select handed over: the fallback answered instead of the local model's choice, and
        # the request pays for the local scoring too.
        escalated = state["escalate"]
        generation = after(_scoring(state), generation, escalated)
    elif guard and _rejected(context, generation, guard):
        # Escalate: the fallback model answers the same prompt, checked the same way, and
        # the request pays for both answers.
        escalated, first, verdicts = guard.blocked.get("name"), generation, guard.verdicts
        request = dataclasses.replace(request, route="fallback", cancel=asyncio.Event())
        guard = _guard(state, context, runtime.stream_writer)
        generation = after(first, await _run(context, request, guard, None), f"rail:{escalated}")
        guard.verdicts = verdicts + guard.verdicts
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
        escalated_after=escalated,
    )
    update = {
        "generation": dataclasses.asdict(generation),
        "prompt_version": prompt.version_id,
        # Text the guard released is sent; a refusal or replacement is sent by output_rails.
        "streamed": live or bool(prefix or (guard and guard.sent)),
        "spans": [span],
    }
    if guard:
        update |= {"rails": state.get("rails", []) + guard.verdicts, "output_checked": True}
        if guard.blocked:
            update |= {"blocked": guard.blocked, "refusal": guard.refusal}
        update["generation"]["text"] = _join(prefix, guard.released)
    return update


def _request(state: State, context: Context) -> tuple[ChatRequest, float | None]:
    """The chat request, and the question's difficulty when the routing policy uses it."""
    params = state["params"]
    chunks = (state.get("passages") or [])[: context.retrieval.context_chunks]
    routing = context.routing
    route, score = routing.first_route(asked(state), chunks, escalated=bool(state.get("escalate")))
    request = ChatRequest(
        messages=context.prompt.render(state["messages"], chunks, context.retrieval.spotlight),
        max_tokens=params["max_tokens"],
        temperature=params.get("temperature", 0.0),
        top_p=params.get("top_p"),
        stop=context.prompt.stops(params.get("stop")),
        user=params.get("user"),
        request_id=state["trace_id"],
        route=route,
        fallbacks=routing.falls_back_on("error"),
        paid=not state.get("local_only"),
        cancel=asyncio.Event(),
    )
    return request, score


def _guard(state: State, context: Context, write) -> HoldBack:
    values = state.get("pii_values") or {}
    passages = [
        p["text"] for p in (state.get("passages") or [])[: context.retrieval.context_chunks]
    ]
    question = asked(state)

    async def check(text: str, preceding: str = ""):
        return await context.rails.check_output(
            text, question=question, passages=passages, system_prompt=context.prompt.system,
            preceding=preceding,
        )  # fmt: skip

    def restore(text: str) -> str:
        return context.rails.restore_pii(text, values)

    return HoldBack(check, lambda text: write({"delta": text}), restore)


async def _run(context: Context, request: ChatRequest, guard: HoldBack | None, write) -> Generation:
    generation: Generation | None = None
    trim = _Trim()
    open_ = True
    plain = unmark if context.retrieval.spotlight else _as_is
    async for item in context.chat_model.stream(request):
        if isinstance(item, Generation):
            generation = dataclasses.replace(item, text=plain(item.text))
        elif (text := trim.feed(plain(item))) and open_:
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


def _as_is(text: str) -> str:
    return text


def _masked(state: State, context: Context, text: str) -> str:
    """Text the client already has (PII restored), masked again before it goes upstream."""
    if context.rails is None:
        return text
    return context.rails.mask_pii(text, state.get("pii_values") or {})[0]


def _join(prefix: str, text: str) -> str:
    if not prefix or not text:
        return prefix + text
    return prefix + ("" if prefix[-1].isspace() or text[0] in ".,;:!?)" else " ") + text


class _Writer:
    """The stream writer, remembering the text that went out; a writer continuing earlier
    text puts a space between the two when one is needed."""

    def __init__(self, write, joined_to: str = "") -> None:
        self.write = write
        self.joined_to = joined_to
        self.text = ""

    def __call__(self, chunk: dict) -> None:
        delta = chunk["delta"]
        if not self.text and self.joined_to:
            delta = _join(self.joined_to, delta)[len(self.joined_to) :]
        self.text += delta
        self.write({"delta": delta})


def _rejected(context: Context, generation: Generation, guard: HoldBack) -> bool:
    """Whether the routing policy sends a local answer the output rails stopped before any of it
    was sent to the fallback."""
    if not guard.blocked or guard.sent:
        return False
    return context.routing.escalates_rejected(
        generation, ungrounded=guard.ungrounded, on_ungrounded=context.rails.on_ungrounded
    )


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
