"""Wiring of the request graph: retrieve → generate (or no_answer) → respond. Rails insert
their nodes before retrieve and after generate without rewiring the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graph.context import Context
from graph.nodes.generate import generate
from graph.nodes.no_answer import no_answer
from graph.nodes.respond import respond
from graph.nodes.retrieve import after_retrieve, retrieve
from graph.state import InputState, State


def compile_graph(
    checkpointer: BaseCheckpointSaver | None = None, *, with_retrieval: bool = True
) -> CompiledStateGraph:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node(generate)
    builder.add_node(respond)
    if with_retrieval:
        builder.add_node(retrieve)
        builder.add_node(no_answer)
        builder.add_edge(START, "retrieve")
        builder.add_conditional_edges("retrieve", after_retrieve, ["generate", "no_answer"])
        builder.add_edge("no_answer", "respond")
    else:
        builder.add_edge(START, "generate")
    builder.add_edge("generate", "respond")
    builder.add_edge("respond", END)
    return builder.compile(checkpointer=checkpointer, name="railyard")


@dataclass
class RequestGraph:
    """The compiled graph bound to its parts; what the endpoint runs per request."""

    compiled: CompiledStateGraph
    context: Context

    def _config(self, state: InputState, thread_id: str | None) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id or state["trace_id"]}}

    async def run(self, state: InputState, *, thread_id: str | None = None) -> State:
        config = self._config(state, thread_id)
        return await self.compiled.ainvoke(state, config, context=self.context)

    async def stream(
        self, state: InputState, *, thread_id: str | None = None
    ) -> AsyncIterator[tuple[str, Any]]:
        """Yield ("delta", text) as text arrives, then ("final", state)."""
        config = self._config(state, thread_id)
        final: Any = None
        async for mode, chunk in self.compiled.astream(
            state, config, context=self.context, stream_mode=["custom", "values"]
        ):
            if mode == "custom" and "delta" in chunk:
                yield "delta", chunk["delta"]
            elif mode == "values":
                final = chunk
        yield "final", final


def build(context: Context, checkpointer: BaseCheckpointSaver | None = None) -> RequestGraph:
    compiled = compile_graph(checkpointer, with_retrieval=context.retriever is not None)
    return RequestGraph(compiled, context)
