"""respond: settle the final answer (the model's if the context supports it, else the best
retrieved sentence), its route and its citations."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.answering import MIN_NEW_COVERAGE, extractive_answer, support
from graph.context import Context
from graph.nodes.retrieve import last_user_message
from graph.state import State
from graph.tracing import SpanTimer


async def respond(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("respond")
    generation = state["generation"]
    answer = generation["text"].strip()
    passages = state.get("passages") or []
    mode = state.get("answer_mode", "generated")
    used = passages[: runtime.context.retrieval.context_chunks]
    score = None
    policy = runtime.context.retrieval.extractive
    question = last_user_message(state)
    if passages and mode == "generated" and policy != "never":
        score = support(answer, question, "\n".join(p["text"] for p in used))
        if policy == "always" or score < MIN_NEW_COVERAGE:
            extracted = extractive_answer(question, used)
            if extracted:
                answer, index = extracted
                mode = "extractive"
                used = [used[index]] + [p for i, p in enumerate(used) if i != index]
    if not answer:
        # Nothing generated and no sentence shares a word with the question.
        answer, mode, used = runtime.context.prompt.no_context_answer, "no_context", []
    if not state.get("streamed", True):
        runtime.stream_writer({"delta": answer})
    citations = [
        {"source": p["source"], "chunk_id": p["chunk_id"], "score": p["score"]} for p in used
    ]
    return {
        "answer": answer,
        "answer_mode": mode,
        "route": generation["route"],
        "citations": citations,
        "rails": state.get("rails", []),
        "spans": [timer.span(answer_mode=mode, support=score, chars=len(answer))],
    }
