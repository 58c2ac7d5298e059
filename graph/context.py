"""What the request graph's nodes are given at run time: the parts `serving/` builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from graph.prompt import Prompt
from graph.protocols import (
    AnswerCache,
    ChatModel,
    GroundednessJudge,
    Rails,
    Retriever,
    ScoringModel,
)
from graph.routing import Routing


@dataclass(frozen=True)
class RetrievalSettings:
    k: int = 4
    """How many chunks to retrieve."""
    min_score: float = 0.35
    """Cosine similarity below which a chunk is not relevant; with none relevant, railyard says
    it does not know instead of calling the model on an empty context."""
    context_chunks: int = 3
    """How many of the relevant chunks go into the prompt."""
    timeout_s: float = 10.0
    """Longest wait for the knowledge base before the request fails (503)."""
    extractive: Literal["fallback", "never", "always"] = "fallback"
    """Generated answers: when to answer with the best retrieved sentences instead of the
    model's text: when the model's text is not supported by the context (fallback), never, or
    always (no model call; for measurements only)."""
    answer: Literal["select", "generate"] = "select"
    """How the model answers from the passages: `select` (it scores the passages' sentences
    by how well each explains the question, and the answer is the best ones, quoted and cited;
    right for a small base model) or `generate` (it writes the answer, which the output rails
    check; right for an instruct model)."""
    candidates: int = 6
    """select: how many candidate sentences the model scores per question part."""
    min_confidence: float = 0.9
    """select: how much better (mean log-probability per question token) the best sentence
    explains the question than no passage at all; below it the question counts as not
    answered by the documents ("I don't know", or the fallback model when one is
    configured)."""


@dataclass(frozen=True)
class Context:
    chat_model: ChatModel
    """Answers prompts; the LiteLLM router (local vLLM first, fallback second) in production."""
    prompt: Prompt
    """The versioned answer prompt."""
    scorer: ScoringModel | None = None
    """Scores candidate sentences for `select` answers (the same router, local model first);
    None chooses them lexically."""
    retriever: Retriever | None = None
    """The knowledge base; None answers from the model alone."""
    retrieval: RetrievalSettings = RetrievalSettings()
    rails: Rails | None = None
    """Input, retrieved-content and output guardrails; None runs the graph unguarded."""
    groundedness: GroundednessJudge | None = None
    """Without rails: judges whether a generated answer is supported by its context (when not,
    the retrieved sentences answer instead); None keeps the model's text."""
    cache: AnswerCache | None = None
    """The semantic answer cache; None answers every question afresh."""
    routing: Routing = field(default_factory=Routing)
    """Which route answers first, and when the fallback model is asked (graph/routing.py)."""
