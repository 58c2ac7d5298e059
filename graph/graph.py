"""Wiring of the request graph. Unguarded: retrieve → generate (or no_answer) → respond. With
rails, input_rails runs beside retrieve (its latency hides behind retrieval's), gate joins
them and routes to refuse, no_answer or generate, and output_rails checks what respond settled."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Overwrite

from graph.context import Context
from graph.conversation import with_thread_history
from graph.nodes.cached import cached
from graph.nodes.gate import gate
from graph.nodes.generate import generate
from graph.nodes.input_rails import input_rails
from graph.nodes.no_answer import no_answer
from graph.nodes.output_rails import output_rails
from graph.nodes.refuse import refuse
from graph.nodes.remember import remember
from graph.nodes.respond import respond
from graph.nodes.retrieve import after_retrieve, retrieve
from graph.nodes.select import after_select, select
from graph.prompt import Prompt
from graph.state import InputState, State


def after_input(state: State) -> str:
    return "refuse" if state.get("blocked") else "generate"


def compile_graph(
    checkpointer: BaseCheckpointSaver | None = None,
    *,
    with_retrieval: bool = True,
    with_rails: bool = False,
    with_cache: bool = False,
    with_select: bool = False,
) -> CompiledStateGraph:
    # The input schema is the whole State (not InputState) so each turn can reset the per-turn
    # fields a checkpointed thread would otherwise carry over (see _fresh).
    builder = StateGraph(State, context_schema=Context)
    builder.add_node(generate)
    builder.add_node(respond)
    builder.add_edge("generate", "respond")
    with_cache = with_cache and with_retrieval
    with_select = with_select and with_retrieval
    if with_retrieval:
        builder.add_node(retrieve)
        builder.add_node(no_answer)
        builder.add_edge("no_answer", "respond")
    # Where a request with relevant passages goes: the model chooses sentences (select, which
    # may hand over to generate for the fallback) or writes the answer (generate).
    answer = "select" if with_select else "generate"
    if with_select:
        builder.add_node(select)
        builder.add_conditional_edges("select", after_select, ["generate", "respond"])
    after = {"generate": answer, "no_answer": "no_answer"}
    if with_rails:
        after["refuse"] = "refuse"
    if with_cache:
        builder.add_node(cached)
        builder.add_node(remember)
        builder.add_edge("remember", END)
        after["cached"] = "cached"
    finish = "remember" if with_cache else END
    if with_rails:
        _guarded(builder, after, finish, with_retrieval=with_retrieval, with_cache=with_cache)
    else:
        if with_retrieval:
            builder.add_edge(START, "retrieve")
            builder.add_conditional_edges("retrieve", after_retrieve, after)
        else:
            builder.add_edge(START, "generate")
        if with_cache:
            builder.add_edge("cached", END)
        builder.add_edge("respond", finish)
    return builder.compile(checkpointer=checkpointer, name="railyard")


def _guarded(
    builder: StateGraph, after: dict, finish: str, *, with_retrieval: bool, with_cache: bool
) -> None:
    """The rails' wiring: input rails alongside retrieval, the gate after both, the output
    rails after the answer (or a cached one)."""
    builder.add_node(input_rails)
    builder.add_node(gate)
    builder.add_node(refuse)
    builder.add_node(output_rails)
    starts = ["input_rails", "retrieve"] if with_retrieval else ["input_rails"]
    for node in starts:
        builder.add_edge(START, node)
    builder.add_edge(starts, "gate")
    if with_retrieval:
        builder.add_conditional_edges("gate", after_retrieve, after)
    else:
        builder.add_conditional_edges("gate", after_input, ["refuse", "generate"])
    builder.add_edge("refuse", END)
    builder.add_edge("respond", "output_rails")
    if with_cache:
        builder.add_edge("cached", "output_rails")
    builder.add_edge("output_rails", finish)


@dataclass
class RequestGraph:
    """The compiled graph bound to its parts; what the endpoint runs per request. A turn of a
    thread the client names is checkpointed (`compiled`), once, when it ends (durability
    "exit": the client's raw input, before the rails masked it, is never saved); any other
    request runs `stateless`, leaving nothing behind."""

    compiled: CompiledStateGraph
    context: Context
    stateless: CompiledStateGraph | None = None

    def _graph(self, thread_id: str | None) -> tuple[CompiledStateGraph, dict[str, Any] | None]:
        if thread_id is None and self.stateless is not None:
            return self.stateless, None
        return self.compiled, {"configurable": {"thread_id": thread_id or "default"}}

    def _context(self, prompt: Prompt | None) -> Context:
        """The context with the prompt version this request drew (a canary, an A/B test)."""
        if prompt is None or prompt == self.context.prompt:
            return self.context
        return dataclasses.replace(self.context, prompt=prompt)

    async def _turn(self, state: InputState, thread_id: str | None):
        """The graph, its config and this turn's input: a named thread's earlier turns are read
        back from its checkpoint when the client sends only the new one."""
        compiled, config = self._graph(thread_id)
        if config is not None and compiled.checkpointer is not None:
            saved = (await compiled.aget_state(config)).values or {}
            state = {**state, "messages": with_thread_history(saved, state["messages"])}
        return compiled, config, _fresh(state)

    async def run(
        self, state: InputState, *, thread_id: str | None = None, prompt: Prompt | None = None
    ) -> State:
        compiled, config, turn = await self._turn(state, thread_id)
        return await compiled.ainvoke(
            turn, config, context=self._context(prompt), **_saving(compiled)
        )

    async def stream(
        self, state: InputState, *, thread_id: str | None = None, prompt: Prompt | None = None
    ) -> AsyncIterator[tuple[str, Any]]:
        """Yield ("delta", text) as text arrives, then ("final", state)."""
        compiled, config, turn = await self._turn(state, thread_id)
        final: Any = None
        async for mode, chunk in compiled.astream(
            turn, config, context=self._context(prompt),
            stream_mode=["custom", "values"], **_saving(compiled),
        ):  # fmt: skip
            if mode == "custom" and "delta" in chunk:
                yield "delta", chunk["delta"]
            elif mode == "values":
                final = chunk
        yield "final", final


def _saving(compiled: CompiledStateGraph) -> dict[str, Any]:
    """A checkpointed turn is saved once, when it ends; a stateless run has nothing to save
    (LangGraph warns on every request that durability has no effect without a checkpointer)."""
    return {"durability": "exit"} if compiled.checkpointer is not None else {}


def _fresh(state: InputState) -> dict[str, Any]:
    """A thread's checkpoint carries the last turn's state; per-turn fields start empty."""
    return {
        **state,
        "rails": [], "retrieval_rails": [], "blocked": None, "refusal": "", "pii_values": {},
        "output_checked": False, "answer_mode": "generated", "passages": [], "cache": {},
        "cited": [], "escalate": "", "confidence": None, "decision": None, "baseline": None,
        "quoted": "",
        "spans": Overwrite([]),
    }  # fmt: skip


def build(context: Context, checkpointer: BaseCheckpointSaver | None = None) -> RequestGraph:
    shape = {
        "with_retrieval": context.retriever is not None,
        "with_rails": context.rails is not None,
        "with_cache": context.cache is not None,
        "with_select": context.answer.mode == "select",
    }
    stateless = compile_graph(None, **shape) if checkpointer is not None else None
    return RequestGraph(compile_graph(checkpointer, **shape), context, stateless)
