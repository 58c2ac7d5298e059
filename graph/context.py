"""What the request graph's nodes are given at run time: the parts `serving/` builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from graph.prompt import Prompt
from graph.protocols import AnswerCache, ChatModel, Rails, Retriever
from graph.routing import Routing


@dataclass(frozen=True)
class RetrievalSettings:
    k: int = 4
    """How many chunks to retrieve."""
    min_score: float = 0.35
    """Cosine similarity below which a chunk is not relevant; with none relevant, railyard says
    it does not know instead of calling the model on an empty context."""
    strong_score: float = 0.65
    """A question naming a term the knowledge base never mentions (a place, product or thing
    it does not cover) is answered only if some chunk matches at least this well."""
    context_chunks: int = 3
    """How many of the relevant chunks go into the prompt."""
    timeout_s: float = 10.0
    """Longest wait for the knowledge base before the request fails (503)."""
    extractive: Literal["fallback", "never", "always"] = "fallback"
    """When to answer with the best retrieved sentence instead of the model's text: when the
    model's text is not supported by the context (fallback), never, or always."""


@dataclass(frozen=True)
class Context:
    chat_model: ChatModel
    """Answers prompts; the LiteLLM router (local vLLM first, fallback second) in production."""
    prompt: Prompt
    """The versioned answer prompt."""
    retriever: Retriever | None = None
    """The knowledge base; None answers from the model alone."""
    retrieval: RetrievalSettings = RetrievalSettings()
    rails: Rails | None = None
    """Input, retrieved-content and output guardrails; None runs the graph unguarded."""
    cache: AnswerCache | None = None
    """The semantic answer cache; None answers every question afresh."""
    routing: Routing = field(default_factory=Routing)
    """Which route answers first, and when the fallback model is asked (graph/routing.py)."""
