"""The request graph: input side → generate → respond, as a LangGraph state machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graph.graph import RequestGraph, build

__all__ = ["RequestGraph", "build"]


def __getattr__(name: str):
    # Imported on first use, so that light modules (graph.routing, graph.protocols) do not pull
    # in LangGraph: the CLI reads routing policy names without building a graph.
    if name in __all__:
        from graph import graph

        return getattr(graph, name)
    raise AttributeError(f"module 'graph' has no attribute {name!r}")
