"""The request graph: input side → generate → respond, as a LangGraph state machine."""

from graph.graph import RequestGraph, build

__all__ = ["RequestGraph", "build"]
