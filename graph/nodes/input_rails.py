"""input_rails: the user's message through the input rails (injection, banned topics, PII
masking), and every other message (the client's system prompt, earlier turns) through the
injection rail. Runs beside retrieve; a blocked request goes to refuse, and only the masked
conversation (every role, and the `user` field) goes on to a model."""

from __future__ import annotations

import asyncio

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import State
from graph.tracing import SpanTimer

BLOCKED_TURN = "[a message the input rails blocked]"


async def input_rails(state: State, runtime: Runtime[Context]) -> dict:
    timer = SpanTimer("input_rails")
    rails = runtime.context.rails
    messages = [dict(m) for m in state["messages"]]
    last = max(i for i, m in enumerate(messages) if m["role"] == "user")
    result = await rails.check_input(messages[last]["content"])
    update: dict = {"rails": list(result.verdicts), "pii_values": dict(result.pii_values)}
    others = [m["content"] for i, m in enumerate(messages) if i != last and m["content"]]
    if others and not result.blocked:
        earlier = await rails.check_context(others)
        update["rails"] += earlier.verdicts
        if earlier.blocked:
            result = earlier
    if result.blocked:
        # A named thread's checkpoint keeps the turn: not the blocked text itself, and the
        # other messages with the user's PII as placeholders.
        messages[last]["content"] = BLOCKED_TURN
        values: dict[str, str] = {}
        for i, message in enumerate(messages):
            if i != last:
                message["content"], values = await asyncio.to_thread(
                    rails.mask_pii, message["content"], values
                )
        update |= {"blocked": result.blocked, "refusal": result.refusal, "messages": messages}
    else:
        messages[last]["content"] = result.text
        # Every other message goes to the model too, and may go to an external fallback: the
        # client's system prompt, earlier turns (assistant turns hold the user's restored
        # values) and the `user` field are masked with the same placeholders.
        values = dict(result.pii_values)
        for i, message in enumerate(messages):
            if i != last:  # Presidio is CPU work: off the event loop
                message["content"], values = await asyncio.to_thread(
                    rails.mask_pii, message["content"], values
                )
        params = dict(state["params"])
        if params.get("user"):
            params["user"], values = await asyncio.to_thread(rails.mask_pii, params["user"], values)
        update |= {"messages": messages, "params": params, "pii_values": values}
    span = timer.span(
        blocked=(result.blocked or {}).get("name"),
        masked=sorted(update["pii_values"]),
        verdicts=[(v["name"], v["decision"]) for v in result.verdicts],
    )
    return update | {"spans": [span]}
