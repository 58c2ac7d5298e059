"""input_rails: the user's message through the input rails (injection, banned topics, PII
masking). Runs beside retrieve; a blocked request goes to refuse, and only the masked
conversation goes on to the model."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import State
from graph.tracing import SpanTimer


async def input_rails(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("input_rails")
    rails = runtime.context.rails
    messages = [dict(m) for m in state["messages"]]
    last = max(i for i, m in enumerate(messages) if m["role"] == "user")
    result = await rails.check_input(messages[last]["content"])
    update: dict = {"rails": list(result.verdicts), "pii_values": dict(result.pii_values)}
    if result.blocked:
        update |= {"blocked": result.blocked, "refusal": result.refusal}
    else:
        messages[last]["content"] = result.text
        # Earlier turns go to the model too: mask them with the same placeholders.
        values = dict(result.pii_values)
        for message in messages[:last]:
            if message["role"] == "user":
                message["content"], values = rails.mask_pii(message["content"], values)
        update |= {"messages": messages, "pii_values": values}
    span = timer.span(
        blocked=(result.blocked or {}).get("name"),
        masked=sorted(update["pii_values"]),
        verdicts=[(v["name"], v["decision"]) for v in result.verdicts],
    )
    return update | {"spans": [span]}
