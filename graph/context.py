"""What the request graph's nodes are given at run time: the parts `serving/` builds."""

from __future__ import annotations

from collections.abc import Callable
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
    min_score: float = 0.0
    """Cosine similarity below which a chunk is not relevant (none: no absolute gate; the
    answerability model decides from signals that transfer between corpora)."""
    context_chunks: int = 3
    """How many of the relevant chunks go into the prompt."""
    timeout_s: float = 10.0
    """Longest wait for the knowledge base before the request fails (503)."""


@dataclass(frozen=True)
class AnswerSettings:
    """How the answer is made from the passages (RAILYARD_ANSWER_*, RAILYARD_RETRIEVAL_EXTRACTIVE):
    the graph's retrieval settings say what is found, these what is answered with it."""

    mode: Literal["select", "generate"] = "select"
    """How the model answers from the passages: `select` (it scores the passages' sentences
    by how well each explains the question, and the answer is the best ones, quoted and cited;
    right for a small base model) or `generate` (it writes the answer, which the output rails
    check; right for an instruct model)."""
    extractive: Literal["unsupported", "never", "always"] = "unsupported"
    """Generated answers: when to answer with the best retrieved sentences instead of the
    model's text: when the model's text is not supported by the context (unsupported), never, or
    always (no model call; for measurements only)."""
    candidates: int = 6
    """select: how many candidate sentences the model scores per question part."""
    min_confidence: float | None = None
    """select: the answerability model's probability (0..1) at or above which the chosen
    sentences are the answer; below it the closest passage is offered as possibly not
    answering, or the fallback model asked when one is configured. None: the fitted model's
    own threshold (graph/answerability.json)."""
    spotlight: bool = True
    """Generated answers: the passages datamarked in the prompt as data, not instructions
    (graph/spotlight.py), and the marks taken out of the model's text."""
    unsure_confidence: float | None = None
    """select: the probability below which the answer is "I don't know" instead of the
    closest passage. None: the fitted model's own threshold."""


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
    answer: AnswerSettings = AnswerSettings()
    rails: Rails | None = None
    """Input, retrieved-content and output guardrails; None runs the graph unguarded."""
    groundedness: GroundednessJudge | None = None
    """Without rails: judges whether a generated answer is supported by its context (when not,
    the retrieved sentences answer instead); None keeps the model's text."""
    cache: AnswerCache | None = None
    """The semantic answer cache; None answers every question afresh."""
    routing: Routing = field(default_factory=Routing)
    embed: Callable[[list[str]], list[list[float]]] | None = None
    """Sentence embeddings (MiniLM, normalised): select finds candidate sentences by meaning
    and reads the answerability signals with it; None chooses candidates by words alone."""
    """Which route answers first, and when the fallback model is asked (graph/routing.py)."""
