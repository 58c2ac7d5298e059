"""respond: settle the final answer (the model's if the context supports it, else the best
retrieved sentence, or the policy's refusal when a rail stopped it), its route and citations."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.answering import MIN_NEW_COVERAGE, extractive_answer, support
from graph.context import Context
from graph.holdback import SOFT_ACTIONS
from graph.nodes.retrieve import last_user_message
from graph.state import State
from graph.tracing import SpanTimer


async def respond(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("respond")
    context = runtime.context
    generation = state["generation"]
    answer = generation["text"].strip()
    passages = state.get("passages") or []
    mode = state.get("answer_mode", "generated")
    route = generation["route"]
    used = passages[: context.retrieval.context_chunks]
    score = None
    policy = context.retrieval.extractive
    question = last_user_message(state)
    blocked = state.get("blocked")
    ungrounded = bool(blocked) and blocked.get("action") in SOFT_ACTIONS
    if blocked and not ungrounded:
        answer, mode, route, used = state["refusal"], "refused", "blocked", []
    elif ungrounded and not answer:
        on_fail = context.rails.policy.get("groundedness", {}).get("on_fail", "refuse")
        extracted = extractive_answer(question, used) if on_fail == "extractive" else None
        if extracted:
            answer, index = extracted
            mode, used = "extractive", [used[index]]
        else:
            answer, mode, route, used = state["refusal"], "refused", "blocked", []
    elif passages and mode == "generated" and policy != "never" and not state.get("output_checked"):
        score = support(answer, question, "\n".join(p["text"] for p in used))
        if policy == "always" or score < MIN_NEW_COVERAGE:
            extracted = extractive_answer(question, used)
            if extracted:
                answer, index = extracted
                mode = "extractive"
                used = [used[index]] + [p for i, p in enumerate(used) if i != index]
    if not answer:
        # Nothing generated and no sentence shares a word with the question.
        answer, mode, used = context.prompt.no_context_answer, "no_context", []
    if not state.get("streamed", True) and context.rails is None:
        runtime.stream_writer({"delta": answer})
    citations = [
        {"source": p["source"], "chunk_id": p["chunk_id"], "score": p["score"]} for p in used
    ]
    return {
        "answer": answer,
        "answer_mode": mode,
        "route": route,
        "citations": citations,
        "spans": [timer.span(answer_mode=mode, support=score, chars=len(answer))],
    }
