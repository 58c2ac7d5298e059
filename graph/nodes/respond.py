"""respond: settle the final answer (the model's choice or text; the best retrieved sentences
when a generated text is not supported by the context; the policy's refusal when a rail
stopped it), its route and citations (the passages the answer quotes first, then the rest of
the context it was given)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.answering import extractive_answer
from graph.context import Context
from graph.protocols import ungrounded
from graph.state import State, asked
from graph.tracing import SpanTimer


async def respond(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("respond")
    context = runtime.context
    generation = state["generation"]
    answer = generation["text"].strip()
    passages = state.get("passages") or []
    used = passages[: context.retrieval.context_chunks]
    mode = state.get("answer_mode", "generated")
    route = generation["route"]
    cited = state.get("cited") or []
    update: dict = {}
    blocked = state.get("blocked")
    soft = ungrounded(blocked)
    if blocked and not soft:
        answer, mode, route, used = state["refusal"], "refused", "blocked", []
    elif mode == "generated" and used and _replace(state, context, answer, used, soft):
        # The model's text is not supported (or was never asked for): the best retrieved
        # sentences answer instead, and the output rails check them (output_checked off).
        found = extractive_answer(asked(state), used)
        if found:
            answer, mode = found[0], "extractive"
            cited = [used[i]["chunk_id"] for i in found[1]]
            update = {"blocked": None, "refusal": "", "output_checked": False}
        elif soft:
            answer, mode, route, used = state["refusal"], "refused", "blocked", []
    elif soft and not answer:
        answer, mode, route, used = state["refusal"], "refused", "blocked", []
    if not answer or mode == "no_context":
        # Nothing generated, no sentence shares a word with the question, or the model found
        # no passage that explains the question: nothing to cite.
        answer, mode, used = answer or context.prompt.no_context_answer, "no_context", []
    if not state.get("streamed", True) and context.rails is None:
        runtime.stream_writer({"delta": answer})
    first = [p for p in used if p["chunk_id"] in cited]
    first.sort(key=lambda p: cited.index(p["chunk_id"]))
    ordered = first + [p for p in used if p["chunk_id"] not in cited]
    citations = [
        {"source": p["source"], "chunk_id": p["chunk_id"], "score": p["score"]} for p in ordered
    ]
    return update | {
        "answer": answer,
        "answer_mode": mode,
        "route": route,
        "cited": cited,
        "citations": citations,
        "spans": [timer.span(answer_mode=mode, chars=len(answer))],
    }


def _replace(state: State, context: Context, answer: str, used: list[dict], ungrounded: bool):
    """Whether a generated answer gives way to the retrieved sentences: never under
    extractive=never; always under extractive=always; under extractive=unsupported when the
    output rails found it unsupported before any of it was sent, or, without rails, when the
    context's groundedness judge finds it unsupported."""
    policy = context.answer.extractive
    if policy == "never" or state.get("streamed"):
        return False
    if policy == "always" or not answer:
        return True
    if ungrounded:
        return True
    if state.get("output_checked") or context.groundedness is None:
        return False
    question = asked(state)
    return not context.groundedness.check(answer, [p["text"] for p in used], question).supported
