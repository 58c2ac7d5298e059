"""gate: where input_rails and retrieve meet; the edge after it sends the request to refuse,
no_answer or generate."""

from __future__ import annotations

from graph.state import State
from graph.tracing import SpanTimer


async def gate(state: State) -> dict:
    timer = SpanTimer("gate")
    blocked = state.get("blocked")
    return {"spans": [timer.span(blocked=bool(blocked), passages=len(state.get("passages") or []))]}
