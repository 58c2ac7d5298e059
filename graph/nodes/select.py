"""select: the model (through the router, local first) chooses the retrieved sentences that
answer the question, and the answer quotes them in document order with their citations. A
question the documents do not answer well enough is declined, or asked of the fallback model
when one is configured; without a model, the lexical choice answers."""

from __future__ import annotations

import dataclasses
import logging

from langgraph.runtime import Runtime

from graph.answering import compose, extractive_answer
from graph.context import Context
from graph.nodes.retrieve import last_user_message
from graph.protocols import no_generation
from graph.selection import choose
from graph.state import State
from graph.tracing import SpanTimer

log = logging.getLogger("railyard.select")


async def select(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("select")
    context = runtime.context
    settings = context.retrieval
    question = last_user_message(state)
    passages = (state.get("passages") or [])[: settings.context_chunks]
    done = {"prompt_version": context.prompt.version_id, "streamed": False}
    if context.routing.first == "fallback":
        # api-only: the fallback model answers every question.
        return done | _escalate("routing", timer, None)
    try:
        if context.scorer is None:
            raise LookupError("no scoring model configured")
        choice = await choose(context.scorer, question, passages,
                              limit=settings.candidates, request_id=state["trace_id"])  # fmt: skip
    except Exception as e:  # the local model is down or not configured
        log.warning("scoring failed (%s); answering without the model", e)
        if context.routing.falls_back_on("unsure"):
            return done | _escalate("local_unavailable", timer, None)
        found = extractive_answer(question, passages)
        text, cited = found or ("", [])
        generation = no_generation(text) | {"fallback_reasons": ["scorer_unavailable"]}
        span = timer.span(model=None, chosen=cited, error=type(e).__name__)
        return done | _answer(generation, "extractive", passages, cited, span)
    generation = dataclasses.asdict(choice.generation)
    span = dict(
        model=generation["model"], route=generation["route"],
        prompt_tokens=generation["usage"]["prompt_tokens"], cost_usd=generation["cost_usd"],
        latency_s=generation["latency_s"], confidence=choice.confidence,
        min_confidence=settings.min_confidence, scored=choice.scored,
        unexplained=choice.unexplained,
    )  # fmt: skip
    if choice.confidence < settings.min_confidence or choice.unexplained:
        if context.routing.falls_back_on("unsure"):
            return done | _escalate("low_confidence", timer, generation, **span)
        generation["text"] = context.prompt.no_context_answer
        return done | {
            "generation": generation,
            "answer_mode": "no_context",
            "spans": [timer.span(**span, answered=False)],
        }
    text, cited = compose(choice.chosen)
    generation |= {"text": text, "ttft_s": generation["latency_s"]}
    return done | _answer(generation, "selected", passages, cited, timer.span(**span, chosen=cited))


def _answer(generation: dict, mode: str, passages: list[dict], cited: list[int], span) -> dict:
    return {
        "generation": generation,
        "answer_mode": mode,
        "cited": [passages[i]["chunk_id"] for i in cited],
        "spans": [span],
    }


def _escalate(reason: str, timer: SpanTimer, scoring: dict | None, **attributes) -> dict:
    """Hand the question to generate, which asks the fallback model; the request pays for the
    scoring too (generate adds it to the fallback's answer)."""
    # Nothing scored is nothing paid (and no earlier turn's generation is carried over).
    generation = scoring or no_generation()
    return {
        "escalate": reason,
        "generation": generation,
        "spans": [timer.span(**attributes, escalated=reason)],
    }


def after_select(state: State) -> str:
    return "generate" if state.get("escalate") else "respond"
