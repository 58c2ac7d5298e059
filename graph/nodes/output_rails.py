"""output_rails: check an answer the stream did not already check (an extractive answer, a
refusal-free non-model answer) with the output rails, then send it."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.context import Context
from graph.protocols import ungrounded
from graph.state import State, asked
from graph.tracing import SpanTimer


async def output_rails(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("output_rails")
    context = runtime.context
    answer = state["answer"]
    rails = state.get("rails", []) + state.get("retrieval_rails", [])
    update: dict = {"rails": rails}
    checked = state.get("output_checked") or state["answer_mode"] in ("refused", "no_context")
    # An unsure answer's own words ("may not answer exactly this") are railyard's, not a claim
    # about the documents: the rails check the passage it quotes.
    quoted = state.get("quoted") if state["answer_mode"] == "closest" else None
    if not checked:
        chunks = (state.get("passages") or [])[: context.retrieval.context_chunks]
        result = await context.rails.check_output(
            quoted or answer,
            question=asked(state),
            passages=[p["text"] for p in chunks],
            system_prompt=context.prompt.system,
        )
        update["rails"] = rails + result.verdicts
        if result.blocked:
            update |= {"blocked": result.blocked, "refusal": result.refusal}
            update |= {"answer": result.refusal, "answer_mode": "refused", "citations": []}
            if not ungrounded(result.blocked):
                update["route"] = "blocked"
        else:
            update["answer"] = answer.replace(quoted, result.text) if quoted else result.text
    # The state keeps the answer masked, as the conversation is (a named thread's checkpoint
    # holds placeholders only); the client's copy has the user's own values put back.
    update["answer"] = final = update.get("answer", answer)
    update["reply"] = context.rails.restore_pii(final, state.get("pii_values"))
    blocked = update.get("blocked") or state.get("blocked") or {}
    hard_block = blocked.get("stage") == "output" and not ungrounded(blocked)
    # A hard block is not sent as text: a stream ends with an error event instead.
    if not state.get("streamed", True) and not hard_block:
        runtime.stream_writer({"delta": update["reply"]})
    span = timer.span(checked=not checked, blocked=(update.get("blocked") or {}).get("name"))
    return update | {"spans": [span]}
