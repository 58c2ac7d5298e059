"""The composition root: Settings → the concrete parts (the LiteLLM router, the knowledge base,
the rails engine, the answer cache, the routing policy) → the request graph's `Context`. The
app, the lab's in-process harness and the evaluations all build their graphs from here, so what
is measured is what serves."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass

from graph import routing
from graph.context import Context, RetrievalSettings
from graph.prompt import Prompt
from graph.routing import Routing
from rails import RailsEngine
from rails.groundedness.checker import GroundednessChecker
from serving.cache import SemanticCache
from serving.knowledge import KnowledgeBase
from serving.llm.client import RouterChatModel
from serving.local_model.launch import prompt_style
from serving.observability.alerts import Alerter
from serving.observability.metrics import Metrics
from serving.prompts import ServedPrompts
from serving.settings import Settings
from serving.shared_cache import RedisAnswers

log = logging.getLogger("railyard.cache")


@dataclass
class Parts:
    settings: Settings
    chat_model: RouterChatModel
    """Chat, and scoring for select answers, through LiteLLM (local vLLM first)."""
    prompt: Prompt
    """The prompt file's version: what the lab's graphs answer with."""
    prompts: ServedPrompts
    """The released versions and the rollout the gateway draws from per request."""
    knowledge: KnowledgeBase
    retrieval: RetrievalSettings
    routing: Routing
    rails: RailsEngine | None
    """None when RAILYARD_RAILS_ENABLED is off."""
    cache: SemanticCache | None
    """None when RAILYARD_CACHE_ENABLED is off."""

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        metrics: Metrics | None = None,
        alerts: Alerter | None = None,
        rails: bool | None = None,
    ) -> Parts:
        """Every part, built now so configuration mistakes fail before anything starts;
        `rails` overrides RAILYARD_RAILS_ENABLED."""
        knowledge = KnowledgeBase(settings, metrics=metrics, alerts=alerts)
        guarded = settings.rails_enabled if rails is None else rails
        embed = knowledge.ingestor.embedder.embed
        rails_engine = RailsEngine(settings.rails_dir, embed=embed) if guarded else None
        # The rails mask what the paid fallback is sent (names, places); rails off: sent as is.
        egress = rails_engine.mask_for_fallback if rails_engine is not None else None
        return cls(
            settings=settings,
            chat_model=RouterChatModel(settings, egress=egress),
            prompt=Prompt.load(settings.prompt_file),
            prompts=ServedPrompts.from_settings(settings),
            knowledge=knowledge,
            retrieval=retrieval_settings(settings),
            routing=routing_policy(settings),
            rails=rails_engine,
            cache=answer_cache(settings, knowledge),
        )

    def context(self, **changes) -> Context:
        """The request graph's context over these parts, with `changes` applied (for example
        `rails=None` for an unguarded graph, another `routing`)."""
        context = Context(
            chat_model=self.chat_model,
            scorer=self.chat_model,
            prompt=self.prompt,
            retriever=self.knowledge.retriever,
            retrieval=self.retrieval,
            rails=self.rails,
            groundedness=GroundednessChecker(),
            cache=self.cache,
            routing=self.routing,
            embed=self.knowledge.ingestor.embedder.embed,
        )
        return dataclasses.replace(context, **changes)

    async def warm_up(self) -> None:
        """Load the embedder and the rails now rather than on the first question."""
        await self.knowledge.warm_up()
        if self.rails is not None:
            await self.rails.warm_up()

    def close(self) -> None:
        self.knowledge.close()


def retrieval_settings(settings: Settings) -> RetrievalSettings:
    """Retrieval and answer knobs for the graph. Answer mode 'auto' is 'select' for a
    completion-style (base) model and 'generate' for a chat model."""
    answer = settings.answer_mode
    if answer == "auto":
        answer = "select" if prompt_style(settings) == "completion" else "generate"
    return RetrievalSettings(
        k=settings.retrieval_k,
        # select decides "nothing relevant" with the answerability model after the model has
        # looked; a model that writes answers (generate) gets no passage below 0.35, as before.
        min_score=settings.retrieval_min_score
        if settings.retrieval_min_score is not None
        else (0.0 if answer == "select" else 0.35),
        context_chunks=settings.retrieval_context_chunks,
        timeout_s=settings.retrieval_timeout_s,
        extractive=settings.retrieval_extractive,
        answer=answer,
        candidates=settings.answer_candidates,
        spotlight=settings.answer_spotlight,
        min_confidence=settings.answer_min_confidence,
        unsure_confidence=settings.answer_unsure_confidence,
    )


def routing_policy(settings: Settings) -> Routing:
    """The configured routing mode; unsure answers escalate when a fallback is configured."""
    return routing.policy(
        settings.routing_mode,
        settings.routing_max_difficulty,
        fallback_configured=settings.fallback_configured,
    )


def answer_cache(settings: Settings, knowledge: KnowledgeBase) -> SemanticCache | None:
    if not settings.cache_enabled:
        return None
    return SemanticCache(
        knowledge.ingestor.embedder,
        threshold=settings.cache_similarity,
        max_entries=settings.cache_max_entries,
        ttl_s=settings.cache_ttl_s,
        shared=shared_answers(settings),
    )


def shared_answers(settings: Settings) -> RedisAnswers | None:
    """The replicas' shared answers: Redis, signed with the cache key; none without either."""
    if not settings.redis_url:
        return None
    if settings.cache_signing_key is None:
        log.warning(
            "RAILYARD_CACHE_SIGNING_KEY is not set: cached answers are not shared through Redis "
            "(an unsigned entry could be written there by anyone who reaches it)"
        )
        return None
    key = settings.cache_signing_key.get_secret_value().encode()
    return RedisAnswers(settings.redis_url, settings.cache_max_entries, settings.cache_ttl_s, key)


async def seed(parts: Parts) -> asyncio.Task | None:
    """Index the configured knowledge base in the background when the index is empty."""
    if not parts.knowledge.needs_seed():
        return None
    return asyncio.create_task(parts.knowledge.seed())
