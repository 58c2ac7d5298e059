"""respond: shape the final answer, its route and its citations for the endpoint."""

from __future__ import annotations

from graph.state import State
from graph.tracing import SpanTimer


async def respond(state: State) -> dict:
    timer = SpanTimer("respond")
    generation = state["generation"]
    answer = generation["text"].strip()
    return {
        "answer": answer,
        "route": generation["route"],
        "citations": state.get("citations", []),
        "rails": state.get("rails", []),
        "spans": [timer.span(chars=len(answer))],
    }
