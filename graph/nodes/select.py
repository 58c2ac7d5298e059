"""select: the model (through the router, local first) chooses the retrieved sentences that
answer the question, and the calibrated answerability model (graph/answerability.py) says how
likely they answer it. Three outcomes: confident, the sentences in document order with their
citations; unsure, the closest passage, said plainly to be possibly not the answer (or the
fallback model, when one is configured); nothing relevant, "I don't know" with the nearest
page where the search agrees on one. Without a model, the lexical choice answers."""

from __future__ import annotations

import dataclasses
import logging

from langgraph.runtime import Runtime

from graph import answerability
from graph.answerability import agree
from graph.answering import compose, extractive_answer
from graph.context import Context
from graph.errors import ModelRefused
from graph.protocols import no_generation
from graph.selection import choose
from graph.state import State, asked, earlier_context, last_user_message
from graph.tracing import SpanTimer

log = logging.getLogger("railyard.select")


async def select(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("select")
    context = runtime.context
    settings = context.answer
    question = asked(state)
    context_turns = earlier_context(state)
    passages = (state.get("passages") or [])[: context.retrieval.context_chunks]
    done = {"prompt_version": context.prompt.version_id, "streamed": False}
    if context.routing.first == "fallback":
        # api-only: the fallback model answers every question.
        return done | _escalate("routing", timer, None)
    try:
        if context.scorer is None:
            raise LookupError("no scoring model configured")
        choice = await choose(
            context.scorer, last_user_message(state) if context_turns else question, passages,
            limit=settings.candidates, request_id=state["trace_id"], embed=context.embed,
            template=context.prompt.score_template, context=context_turns,
        )  # fmt: skip
    except Exception as e:  # the local model is down or not configured
        log.warning("scoring failed (%s); answering without the model", e)
        # A request the local server refused would be paid for nothing on the fallback.
        if context.routing.falls_back_on("unsure") and not isinstance(e, ModelRefused):
            return done | _escalate("local_unavailable", timer, None)
        found = extractive_answer(question, passages)
        text, cited = found or ("", [])
        generation = no_generation(text) | {"fallback_reasons": ["scorer_unavailable"]}
        span = timer.span(model=None, chosen=cited, error=type(e).__name__)
        return done | _answer(generation, "extractive", passages, cited, span)
    generation = dataclasses.asdict(choice.generation)
    model = answerability.load()
    signals = [dataclasses.replace(s, baseline=state.get("baseline")) for s in choice.signals]
    features = [s.vector() for s in signals]
    probabilities = [model.probability(f) for f in features] or [0.0]
    confidence, decision = _decide(model, probabilities, settings)
    span = _span(generation, choice, confidence, decision, features)
    done |= {"confidence": round(confidence, 4), "decision": decision}
    # Unsure: the fallback model, when configured, may know better than the closest passage;
    # nothing relevant in the handbook is not worth a paid call.
    if decision == "unsure" and context.routing.falls_back_on("unsure"):
        return done | _escalate("low_confidence", timer, generation, **span)
    generation["ttft_s"] = generation["latency_s"]
    if decision == "none":
        generation["text"] = _dont_know(context, passages)
        return done | {
            "generation": generation,
            "answer_mode": "no_context",
            "spans": [timer.span(**span, answered=False)],
        }
    if decision == "unsure":
        quote, cited = compose(choice.chosen)
        source = passages[cited[0]]["source"] if cited else ""
        generation["text"] = context.prompt.unsure_answer.format(passage=quote, source=source)
        update = _answer(generation, "closest", passages, cited, timer.span(**span))
        return done | update | {"quoted": quote}
    text, cited = compose(choice.chosen)
    generation["text"] = text
    return done | _answer(generation, "selected", passages, cited, timer.span(**span, chosen=cited))


def _span(generation: dict, choice, confidence: float, decision: str, features) -> dict:
    return dict(
        model=generation["model"], route=generation["route"],
        prompt_tokens=generation["usage"]["prompt_tokens"], cost_usd=generation["cost_usd"],
        latency_s=generation["latency_s"], confidence=round(confidence, 4), decision=decision,
        best_gain=choice.confidence, features=features, scored=choice.scored,
        unexplained=choice.unexplained,
    )  # fmt: skip


def _decide(model, probabilities: list[float], settings) -> tuple[float, str]:
    """The answer's confidence and decision: every part must be answered for a confident
    answer; "I don't know" only when no part is."""
    confidence = min(probabilities)
    decision = model.decide(confidence, settings.min_confidence, settings.unsure_confidence)
    best = model.decide(max(probabilities), settings.min_confidence, settings.unsure_confidence)
    if decision == "none" and best != "none":
        decision = "unsure"
    return confidence, decision


def _dont_know(context: Context, passages: list[dict]) -> str:
    """ "I don't know", naming the nearest page when dense and keyword search agree on it."""
    text = context.prompt.no_context_answer
    if agree(passages):
        text = f"{text} {context.prompt.topic_hint.format(source=passages[0]['source'])}"
    return text


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
