"""The small interfaces graph nodes depend on; `serving/` supplies the implementations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from graph.routing import Routing

Route = Literal["local", "fallback", "cache", "blocked"]


@dataclass
class Rejection:
    """Filled in by a stream's consumer, with `ChatRequest.cancel`, when its output rails stopped
    the answer before any of it was sent: the chat model may have the fallback answer in its
    place (serving/llm/fallback.py)."""

    rail: str = ""
    """The rail that stopped it; empty: not rejected."""
    ungrounded: bool = False
    """It was stopped as unsupported by the passages (not as harmful)."""
    on_ungrounded: str = "refuse"
    """What the rails policy does with an unsupported answer (`fallback`: the fallback answers)."""

    def __bool__(self) -> bool:
        return bool(self.rail)


@dataclass(frozen=True)
class HandOver:
    """The request comes to the chat model already handed to the fallback (select was unsure):
    why, and what the request spent before (carried into the answer's Generation)."""

    reason: str
    spent: Generation


@dataclass(frozen=True)
class ChatRequest:
    """What the generate node asks of a chat model."""

    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    user: str | None = None
    request_id: str = ""
    route: Literal["local", "fallback"] | None = None
    """Ask one route first (None: local); the fallback for api-only and difficult questions."""
    paid: bool = True
    """May the paid fallback answer at all (False: the caller's budget is spent)."""
    routing: Routing | None = None
    """The routing policy the request runs under (None: local-first, graph/routing.py)."""
    handed_over: HandOver | None = None
    cancel: asyncio.Event | None = field(default=None, compare=False)
    """Set by the caller to stop generation early (the output rails blocked the answer)."""
    rejection: Rejection | None = field(default=None, compare=False)
    """Filled in by the caller when it sets `cancel` before any text was sent."""


@dataclass(frozen=True)
class TextEnd:
    """Yielded by a chat model after an attempt's last text delta: the consumer checks the rest
    of what it holds now, and fills in `ChatRequest.rejection` if it rejects the answer."""


@dataclass(frozen=True)
class Retry:
    """Yielded by a chat model before a second attempt (the fallback answering a rejected local
    answer): the consumer forgets the text before it; a new answer begins."""

    reason: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Generation:
    """A finished model answer and what it took to get it."""

    text: str
    finish_reason: str
    route: Route
    model: str
    usage: Usage
    cost_usd: float
    latency_s: float
    ttft_s: float | None = None
    fallback_reasons: list[str] = field(default_factory=list)

    @property
    def tpot_s(self) -> float | None:
        """Mean time per output token after the first."""
        if self.ttft_s is None or self.usage.completion_tokens < 2:
            return None
        return (self.latency_s - self.ttft_s) / (self.usage.completion_tokens - 1)


def no_generation(text: str = "") -> dict:
    """A generation (as stored in state) for an answer no model was asked for: costs nothing."""
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    return {
        "text": text, "finish_reason": "stop", "route": "local", "model": "none", "usage": usage,
        "cost_usd": 0.0, "latency_s": 0.0, "ttft_s": None, "fallback_reasons": [],
    }  # fmt: skip


class ChatModel(Protocol):
    """A chat model with fallback behind it (serving/llm/fallback.py over LiteLLM's router in
    production)."""

    def stream(self, request: ChatRequest) -> AsyncIterator[str | TextEnd | Retry | Generation]:
        """Yield text deltas as they arrive (with `TextEnd` and `Retry` between attempts), then
        one final `Generation`."""
        ...


@dataclass(frozen=True)
class ScoreRequest:
    """Texts whose likelihood a model is asked for: each pair is (prefix, continuation), and
    the score is the mean log-probability of the continuation's tokens after the prefix."""

    pairs: list[tuple[str, str]]
    request_id: str = ""


@dataclass(frozen=True)
class Scores:
    logprobs: list[float]
    """Mean log-probability per continuation token, one per pair, in order."""
    tokens: list[list[tuple[str, float]]]
    """Each pair's continuation tokens with their log-probabilities."""
    generation: Generation
    """What scoring cost and took: route, model, usage, cost, latency (no text)."""


class ScoringModel(Protocol):
    """A model that scores text by its log-probabilities (the local vLLM through the LiteLLM
    router in production: /v1/completions with echo and logprobs)."""

    async def score(self, request: ScoreRequest) -> Scores:
        """Raise when no model can score (the caller falls back to a lexical choice)."""
        ...


class Passage(Protocol):
    """A retrieved chunk."""

    chunk_id: str
    source: str
    heading: str
    text: str
    score: float | None


class Retrieval(Protocol):
    hits: Sequence[Passage]
    """Best first; `score` is the cosine similarity of the chunk to the query."""
    index_version: int


class Retriever(Protocol):
    """Searches the knowledge base (hybrid Milvus search in production). Synchronous: nodes
    call it in a worker thread."""

    def search(self, query: str, k: int = 5) -> Retrieval: ...

    def index_version(self) -> int:
        """The version of the live index (it changes with every ingestion run)."""
        ...


class CacheLookup(Protocol):
    hit: dict[str, Any] | None
    """The stored answer (answer, answer_mode, citations, passages, question) when it serves."""
    similarity: float | None
    result: str
    """hit | miss | guard_numbers | guard_negation | guard_direction | guard_names"""


class AnswerCache(Protocol):
    """Answers of earlier questions found again for paraphrases (the semantic cache). `scope`
    is what makes every stored answer stale when it changes (index and prompt versions);
    `partition` who may share an answer (the project, and the request parameters that change
    the text)."""

    def lookup(self, question: str, scope: str, partition: str = "") -> CacheLookup: ...

    def store(
        self, question: str, scope: str, answer: dict[str, Any], partition: str = ""
    ) -> None: ...


def ungrounded(blocked: dict[str, Any] | None) -> bool:
    """Whether a rail's block means "not supported by the passages" (its verdict's typed
    `ungrounded` flag), not "harmful": what was already sent stays, and the answer may be
    replaced by retrieved sentences or escalated instead of refused."""
    return bool(blocked) and bool(blocked.get("ungrounded"))  # type: ignore[union-attr]


class RailsVerdicts(Protocol):
    """What the rails decided about one text (`rails.RailsResult` in production): each verdict
    is {name, stage, decision, score, latency_ms, reason, action}, plus `ungrounded: true` on a
    block for want of support (see `ungrounded`)."""

    text: str
    verdicts: list[dict[str, Any]]
    blocked: dict[str, Any] | None
    refusal: str | None
    pii_values: dict[str, str]


class Rails(Protocol):
    """The guardrails around the graph (NeMo Guardrails, rails-only, in production)."""

    @property
    def on_ungrounded(self) -> Literal["refuse", "fallback"]:
        """What to do with an answer the groundedness rail rejects: refuse, or ask the
        fallback model (when the routing policy can reach it)."""
        ...

    async def check_input(
        self, text: str, pii_values: dict[str, str] | None = None
    ) -> RailsVerdicts: ...

    async def check_context(self, texts: list[str]) -> RailsVerdicts:
        """The injection rail over the conversation's other messages (blocked when one holds
        an instruction to the assistant)."""
        ...

    async def check_output(
        self,
        text: str,
        *,
        question: str,
        passages: list[str],
        system_prompt: str,
        preceding: str = "",
    ) -> RailsVerdicts:
        """Check `text`; `preceding` is the end of what was already released before it, so
        a leak split across the boundary (a key cut by a line break, a copied prompt one line
        at a time) is seen whole."""
        ...

    def scan_passages(self, passages: list[dict]) -> tuple[list[dict], list[dict[str, Any]]]: ...

    def mask_pii(self, text: str, values: dict[str, str]) -> tuple[str, dict[str, str]]:
        """Replace PII with placeholders (the same value keeps its placeholder)."""
        ...

    def restore_pii(self, text: str, values: dict[str, str] | None) -> str:
        """Put the user's values back in place of the placeholders `mask_pii` gave out."""
        ...


class Verdict(Protocol):
    supported: bool


class GroundednessJudge(Protocol):
    """Whether an answer is supported by the passages it was given (the groundedness rail's
    checker in production); with rails off, it decides when a generated answer gives way to
    the retrieved sentences (AnswerSettings.extractive = unsupported)."""

    def check(self, answer: str, passages: list[str], question: str) -> Verdict: ...
