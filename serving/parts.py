"""The composition root: Settings → the concrete parts (the LiteLLM router, the knowledge base,
the rails engine, the answer cache, the routing policy, keys and limits) → the request graph's
`Context`; `Parts.open` starts what a serving gateway runs on top (the trace store, budgets,
the local model's supervisor, checkpoints, the chat service). The app only mounts endpoints on
them; the lab's in-process harness and the evaluations build their graphs from here too, so
what is measured is what serves."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import graph
from graph import routing
from graph.context import AnswerSettings, Context, RetrievalSettings
from graph.prompt import Prompt
from graph.routing import Routing
from rails import RailsEngine
from rails.groundedness.checker import GroundednessChecker
from serving.access import KeyStore, RateLimiter, SharedRateLimiter
from serving.access.budgets import Budgets, ledger_for
from serving.access.keys import key_source
from serving.cache import SemanticCache
from serving.chat.checkpoints import checkpoint_database, checkpointer
from serving.chat.service import ChatService
from serving.chat.threads import ThreadRetention
from serving.database import open_database
from serving.knowledge import KnowledgeBase
from serving.llm.client import RouterChatModel
from serving.llm.fallback import FallbackChatModel
from serving.local_model.launch import prompt_style
from serving.local_model.supervisor import LocalModelSupervisor
from serving.observability import Observer, TraceStore
from serving.observability.alerts import Alerter
from serving.observability.metrics import Metrics
from serving.prompts import RolloutStore, ServedPrompts
from serving.settings import Settings
from serving.shared_cache import RedisAnswers

log = logging.getLogger("railyard.cache")


@dataclass
class Parts:
    settings: Settings
    chat_model: RouterChatModel
    """Chat and scoring, one route per call, through LiteLLM (the graph's chat model is a
    `FallbackChatModel` over it, under the context's routing policy)."""
    prompt: Prompt
    """The prompt file's version: what the lab's graphs answer with."""
    prompts: ServedPrompts
    """The released versions and the rollout the gateway draws from per request."""
    knowledge: KnowledgeBase
    retrieval: RetrievalSettings
    answer: AnswerSettings
    routing: Routing
    rails: RailsEngine | None
    """None when RAILYARD_RAILS_ENABLED is off."""
    cache: SemanticCache | None
    """None when RAILYARD_CACHE_ENABLED is off."""
    metrics: Metrics | None = None
    alerts: Alerter | None = None
    keys: KeyStore | None = field(default=None)
    """The API keys (a file or the database); None: no keys configured."""
    limiter: RateLimiter | SharedRateLimiter | None = None

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
        on_check = metrics.rails_checked if metrics is not None else None
        rails_engine = (
            RailsEngine(settings.rails_dir, embed=embed, on_check=on_check) if guarded else None
        )
        # The rails mask what the paid fallback is sent (names, places); rails off: sent as is.
        egress = rails_engine.mask_for_fallback if rails_engine is not None else None
        return cls(
            settings=settings,
            chat_model=RouterChatModel(settings, egress=egress),
            prompt=Prompt.load(settings.prompt_file),
            prompts=ServedPrompts.from_settings(settings),
            knowledge=knowledge,
            retrieval=retrieval_settings(settings),
            answer=answer_settings(settings),
            routing=routing_policy(settings),
            rails=rails_engine,
            cache=answer_cache(settings, knowledge),
            metrics=metrics,
            alerts=alerts,
            keys=KeyStore(source) if (source := key_source(settings)) is not None else None,
            limiter=rate_limiter(settings),
        )

    @classmethod
    def served(cls, settings: Settings) -> Parts:
        """The parts of a serving gateway: every part, with its metrics and alerts."""
        return cls.build(settings, metrics=Metrics(), alerts=alerter(settings))

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Served]:
        """Start what a serving gateway runs on these parts, and stop it after."""
        settings = self.settings
        alerts = self.alerts or alerter(settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        traces = TraceStore(open_database(settings, "traces.sqlite"), settings.trace_retention_days)
        budgets = self._budgets(traces, alerts)
        supervisor = LocalModelSupervisor(settings) if settings.managed_local else None
        if supervisor is not None:
            supervisor.start()
        await self.warm_up()
        seeding = await seed(self)
        otel, threads_db = otel_exporter(settings), checkpoint_database(settings)
        try:
            async with checkpointer(settings) as saver:
                observer = Observer(
                    traces, self.metrics or Metrics(), alerts, content=settings.trace_content,
                    otel=otel,
                )  # fmt: skip
                threads = ThreadRetention(threads_db, saver, settings.thread_retention_days)
                await threads.prune()
                self.prompts.follow(RolloutStore(traces.database))
                chat = ChatService(
                    graph.build(self.context(), saver),
                    settings, observer, threads, budgets, self.prompts,
                )  # fmt: skip
                # What start-up built (models, policies, compiled graphs: millions of objects)
                # lives as long as the process: keep it out of the collector's full passes, each
                # of which would otherwise hold the GIL, and stall the event loop, for seconds.
                gc.collect()
                gc.freeze()
                yield Served(traces=traces, chat=chat)
        finally:
            if seeding is not None:
                seeding.cancel()
            if supervisor is not None:
                await supervisor.stop()
            if otel is not None:
                otel.close()
            self.close()
            traces.close()
            threads_db.close()

    def _budgets(self, traces: TraceStore, alerts: Alerter) -> Budgets:
        """The callers' budgets and the fallback's, seeded from what today's traces spent."""
        if (budget := self.chat_model.budget) is not None:
            budget.seed(traces.fallback_cost(since=budget.day_start()))
        ledger = ledger_for(
            self.settings.redis_url, lambda since: traces.spend_by_caller(since=since)
        )
        observe = self.metrics.observe_budget if self.metrics else None
        return Budgets(ledger, alert=alerts.send, observe=observe)

    def context(self, **changes) -> Context:
        """The request graph's context over these parts, with `changes` applied (for example
        `rails=None` for an unguarded graph, another `routing`)."""
        context = Context(
            chat_model=FallbackChatModel(self.chat_model),
            scorer=self.chat_model,
            prompt=self.prompt,
            retriever=self.knowledge.retriever,
            retrieval=self.retrieval,
            answer=self.answer,
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


@dataclass
class Served:
    """What a serving gateway runs on its parts while it is up (`Parts.open`)."""

    traces: TraceStore
    chat: ChatService


def alerter(settings: Settings) -> Alerter:
    return Alerter(
        settings.alert_webhook_url,
        window_s=settings.alert_window_s,
        min_requests=settings.alert_min_requests,
        error_rate=settings.alert_error_rate,
        fallback_rate=settings.alert_fallback_rate,
        shape=settings.alert_webhook_format,
    )


def rate_limiter(settings: Settings) -> RateLimiter | SharedRateLimiter:
    """Requests and tokens per key per minute: counted in Redis when replicas share one."""
    if settings.redis_url:
        return SharedRateLimiter(
            settings.redis_url, settings.rate_limit_rpm, settings.rate_limit_tpm
        )
    return RateLimiter(settings.rate_limit_rpm, settings.rate_limit_tpm)


def otel_exporter(settings: Settings):
    """The OpenTelemetry exporter when RAILYARD_OTLP_ENDPOINT is set."""
    if not settings.otlp_endpoint:
        return None
    from serving.observability.otel import OtelExporter

    models = {"local": settings.local_served_name, "fallback": settings.fallback_model}
    return OtelExporter(
        settings.otlp_endpoint, models, settings.otlp_service_name, settings.otlp_export_interval_s
    )


def retrieval_settings(settings: Settings) -> RetrievalSettings:
    """Retrieval knobs for the graph (what is found)."""
    return RetrievalSettings(
        k=settings.retrieval_k,
        # select decides "nothing relevant" with the answerability model after the model has
        # looked; a model that writes answers (generate) gets no passage below 0.35, as before.
        min_score=settings.retrieval_min_score
        if settings.retrieval_min_score is not None
        else (0.0 if answer_mode(settings) == "select" else 0.35),
        context_chunks=settings.retrieval_context_chunks,
        timeout_s=settings.retrieval_timeout_s,
    )


def answer_settings(settings: Settings) -> AnswerSettings:
    """Answer knobs for the graph (what is answered with what was found)."""
    return AnswerSettings(
        mode=answer_mode(settings),
        extractive=settings.retrieval_extractive,
        candidates=settings.answer_candidates,
        spotlight=settings.answer_spotlight,
        min_confidence=settings.answer_min_confidence,
        unsure_confidence=settings.answer_unsure_confidence,
    )


def answer_mode(settings: Settings) -> str:
    """Answer mode 'auto' is 'select' for a completion-style (base) model and 'generate' for a
    chat model."""
    if settings.answer_mode != "auto":
        return settings.answer_mode
    return "select" if prompt_style(settings) == "completion" else "generate"


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
