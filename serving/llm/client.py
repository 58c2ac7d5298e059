"""The only module that imports LiteLLM: a Router over the local vLLM pool and the paid
fallback, one route per call (`FallbackChatModel`, serving/llm/fallback.py, decides which).
Failover inside the local pool, retries and cooldown are LiteLLM's; prices and route attribution
are ours, so every answer carries a cost."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from serving import offline

offline.apply_defaults()  # litellm reads its cost-map switch at import time

import litellm  # noqa: E402
from litellm.integrations.custom_logger import CustomLogger  # noqa: E402

from graph.protocols import (  # noqa: E402
    ChatRequest,
    Generation,
    Route,
    ScoreRequest,
    Scores,
    Usage,
)
from serving.errors import ConfigError, UpstreamError, UpstreamRefused  # noqa: E402
from serving.llm.bills import StreamBills  # noqa: E402
from serving.llm.budget import budget_for  # noqa: E402
from serving.llm.config import RouterConfig, load_router_config  # noqa: E402
from serving.llm.egress import Egress, Restoring  # noqa: E402
from serving.llm.local_servers import LocalServers  # noqa: E402
from serving.llm.received import Received, first_read  # noqa: E402
from serving.llm.routes import FALLBACK, LOCAL, OPENAI_BASE_URL, SCORE, RouteFailed  # noqa: E402
from serving.llm.routes import member as _member  # noqa: E402
from serving.llm.scoring import LocalScorer  # noqa: E402
from serving.settings import Settings  # noqa: E402

log = logging.getLogger(__name__)


class _FailureLog(CustomLogger):
    """Remembers why each request's attempts failed, keyed by our request id. Bounded: an
    entry that no request pops (a failure logged after its request ended) ages out."""

    max_entries = 10_000

    def __init__(self) -> None:
        super().__init__()
        self.reasons: OrderedDict[str, list[str]] = OrderedDict()

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        request_id = metadata.get("railyard_request_id")
        if request_id:
            exc = kwargs.get("exception")
            self.reasons.setdefault(request_id, []).append(_reason(exc))
            while len(self.reasons) > self.max_entries:
                self.reasons.popitem(last=False)

    def pop(self, request_id: str) -> list[str]:
        return self.reasons.pop(request_id, [])


_failures = _FailureLog()


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "error"
    if isinstance(exc, litellm.Timeout):
        return "timeout"
    if isinstance(exc, litellm.APIConnectionError):
        return "connection"
    status = getattr(exc, "status_code", None)
    return f"http_{status}" if status else type(exc).__name__


class RouterChatModel:
    """A `graph.protocols.ChatModel` over a LiteLLM Router: local first, fallback second."""

    def __init__(
        self, settings: Settings, policy: RouterConfig | None = None, egress: Egress | None = None
    ) -> None:
        self.settings = settings
        self.egress = egress
        """Masks what the paid fallback is sent (the rails' names and places); None: as is."""
        self.policy = policy or load_router_config(settings.routing_policy)
        self.prices = {
            LOCAL: self.policy.local.price.per_token(),  # type: ignore[union-attr]
            FALLBACK: self._fallback_price(),
        }
        self.bills = StreamBills()
        """What each stream was billed (a client that hangs up is charged from it)."""
        """Each stream's bill by request id, for a minute (`billed`)."""
        self.budget = budget_for(settings)
        self.local = LocalServers(
            settings.local_urls, settings.local_served_name, self.policy.local.stream_timeout_s
        )
        if _failures not in litellm.callbacks:
            litellm.callbacks.append(_failures)
        self.router = litellm.Router(
            model_list=self._model_list(),
            # No `fallbacks`: LiteLLM hands every error to them (401s and 400s too) and sends the
            # messages as they are; `stream` decides what goes to the fallback and masks it.
            num_retries=self.policy.retries,
            allowed_fails=self.policy.allowed_fails,
            cooldown_time=self.policy.cooldown_s,
            retry_after=0,
            routing_strategy=self.policy.strategy,
            # simple-shuffle: a request that fails on one local server is re-picked across the
            # pool's others before the paid fallback.
            enable_weighted_failover=True,
        )
        self.scorer = LocalScorer(
            self.router, settings.local_urls, self.policy.local.timeout_s,
            lambda usage: self.cost(LOCAL, usage),
        )  # fmt: skip

    def _model_list(self) -> list[dict[str, Any]]:
        s, p = self.settings, self.policy
        key = s.openai_api_key.get_secret_value() if s.openai_api_key else "missing-openai-key"
        pool = []
        for i, url in enumerate(s.local_urls):
            pool += [
                {
                    "model_name": LOCAL,
                    "litellm_params": {
                        "model": f"hosted_vllm/{s.local_served_name}",
                        "api_base": url,
                        "api_key": "not-needed",
                        "timeout": p.local.timeout_s,
                        "stream_timeout": p.local.stream_timeout_s,
                    },
                    "model_info": {"id": _member(LOCAL, i)},
                },
                {
                    "model_name": SCORE,
                    "litellm_params": {
                        "model": f"text-completion-openai/{s.local_served_name}",
                        "api_base": url,
                        "api_key": "not-needed",
                        "timeout": p.local.timeout_s,
                    },
                    "model_info": {"id": _member(SCORE, i)},
                },
            ]
        return [
            *pool,
            {
                "model_name": FALLBACK,
                "litellm_params": {
                    "model": f"openai/{s.fallback_model}",
                    "api_base": s.fallback_base_url or OPENAI_BASE_URL,
                    "api_key": key,
                    "timeout": p.fallback.timeout_s,
                    "stream_timeout": p.fallback.stream_timeout_s,
                },
                "model_info": {"id": FALLBACK},
            },
        ]

    def _fallback_price(self) -> tuple[float, float]:
        if self.policy.fallback.price is not None:
            return self.policy.fallback.price.per_token()
        info = litellm.model_cost.get(self.settings.fallback_model)
        if not info or not info.get("output_cost_per_token"):
            raise ConfigError(
                f"no price known for fallback model {self.settings.fallback_model!r}: "
                "set fallback.price in the router configuration (RAILYARD_ROUTER_CONFIG)"
            )
        return info["input_cost_per_token"], info["output_cost_per_token"]

    def cost(self, route: str, usage: Usage) -> float:
        price_in, price_out = self.prices[route]
        return usage.prompt_tokens * price_in + usage.completion_tokens * price_out

    def _kwargs(self, request: ChatRequest, route: str, request_id: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": route,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "metadata": {"railyard_request_id": request_id},
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        for name in ("temperature", "top_p", "stop", "user"):
            value = getattr(request, name)
            if value is not None:
                kwargs[name] = value
        return kwargs

    async def stream(self, request: ChatRequest) -> AsyncIterator[str | Generation]:
        """One route's answer (`request.route`, local when unset): text deltas, then its
        Generation. LiteLLM fails over inside the local pool; which failures the paid fallback
        answers is `FallbackChatModel`'s (serving/llm/fallback.py). Raises RouteFailed.
        Always streams upstream, so TTFT is measured and a stream that fails before its first
        token can still be handed over; non-streaming clients get the assembled text."""
        request_id = request.request_id or uuid.uuid4().hex
        route = request.route or LOCAL
        kwargs = self._kwargs(request, route, request_id)
        if route == LOCAL:
            await self.local.check_window(
                request.messages, request.max_tokens, self.settings.local_max_model_len
            )
        got = Received(restoring=Restoring())
        response, settled = None, False
        try:
            kwargs, got.restoring = await self._masked(kwargs)
            response, chunks = await self._open(kwargs)
        except Exception as e:
            raise await _failed(e, route, request_id, started=False) from e
        try:
            async for chunk in chunks:
                if delta := got.take(chunk):
                    yield delta
                if request.cancel is not None and request.cancel.is_set():
                    # The output rails stopped the answer: stop paying for tokens. A stream
                    # cut short reports no usage: it is counted below.
                    got.finish = "content_filter"
                    break
                if self.bills.left(request_id):
                    got.finish = "abandoned"  # its client hung up: stop paying too
                    break
            if held := got.flush():
                yield held
            route = _route_of(response, route)
            usage = got.usage or await self._count_usage(route, kwargs["messages"], got.text)
            cost = self.cost(route, usage)
            settled = True  # from here a consumer that leaves is not billed twice
            if route == FALLBACK and self.budget is not None:
                await asyncio.shield(asyncio.to_thread(self.budget.add, cost))  # Redis, shared
        except Exception as e:
            raise await _failed(e, route, request_id, started=bool(got.text)) from e
        finally:
            if response is not None and not settled:
                # The consumer left mid-stream (the client disconnected): what was generated
                # is billed all the same, from a task of its own (this one is being cancelled).
                self._bill_cut_short(request_id, response, kwargs, got.text, got.start, got.ttft)
        generation = Generation(
            text=got.text, finish_reason=got.finish, route=route, model=got.model, usage=usage,
            cost_usd=cost, latency_s=time.perf_counter() - got.start, ttft_s=got.ttft,
            fallback_reasons=_failures.pop(request_id),
        )  # fmt: skip
        self.bills.settled(request_id, generation)
        yield generation

    async def _open(self, kwargs: dict[str, Any]) -> tuple[Any, AsyncIterator[Any]]:
        """The route's stream, its first chunk read (see `first_read`)."""
        response = await self.router.acompletion(**kwargs)
        return response, await first_read(response)

    async def _masked(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], Restoring]:
        """What the paid fallback is sent, and what restores its answer as it streams."""
        if self.egress is None or kwargs["model"] != FALLBACK:
            return kwargs, Restoring()
        messages, restore = await asyncio.to_thread(self.egress, kwargs["messages"])  # NER: CPU
        return kwargs | {"messages": messages}, Restoring(restore)

    def _bill_cut_short(
        self, request_id: str, response: Any, kwargs: dict, text: str, start: float, ttft
    ) -> None:
        route = _route_of(response, kwargs["model"])

        async def bill() -> Generation:
            usage = await self._count_usage(route, kwargs["messages"], text)
            cost = self.cost(route, usage)
            if route == FALLBACK and self.budget is not None:
                await asyncio.to_thread(self.budget.add, cost)  # Redis, shared
            return Generation(
                text=text, finish_reason="abandoned", route=route, model=kwargs["model"],
                usage=usage, cost_usd=cost, latency_s=time.perf_counter() - start, ttft_s=ttft,
                fallback_reasons=_failures.pop(request_id),
            )  # fmt: skip

        self.bills.keep(request_id, asyncio.get_running_loop().create_task(bill()))

    async def _count_usage(self, route: Route, messages: list[dict], text: str) -> Usage:
        """What a stream that reported no usage (cut by the output rails, or a server that
        sends none) was billed: the prompt and the text received, counted by the tokenizer of
        the model that served it: vLLM's /tokenize for the local route (chat template
        applied), LiteLLM's counter (tiktoken, bundled) for the fallback model."""
        if route == LOCAL:
            prompt = await self.local.count_prompt(messages)
            completion = await self.local.count_text(text)
            if prompt is not None and completion is not None:
                return Usage(int(prompt["count"]), completion)
        model = self.settings.fallback_model if route == FALLBACK else ""
        # No local server to ask (it died mid-stream): LiteLLM's default tokenizer estimates.
        prompt = litellm.token_counter(model=model, messages=messages)
        completion = litellm.token_counter(model=model, text=text, count_response_tokens=True)
        return Usage(prompt, completion if text else 0)

    async def score(self, request: ScoreRequest) -> Scores:
        """Mean log-probability of each continuation after its prefix, from the local model
        (serving/llm/scoring.py); no fallback. Raises UpstreamError when the local model does
        not answer, UpstreamRefused when it refuses."""
        request_id = request.request_id or uuid.uuid4().hex
        try:
            return await self.scorer.score(request, request_id)
        except Exception as e:
            _failures.pop(request_id)
            error = UpstreamRefused if _refused(e) else UpstreamError
            raise error(f"the local model could not score: {_reason(e)}") from e

    async def local_health(self) -> bool:
        """True when a local server of the pool answers /health."""
        return any((await self.local_pool_health()).values())

    async def local_pool_health(self) -> dict[str, bool]:
        """Which local servers answer /health, by deployment id (`local`, `local-2`, ...)."""
        found = await self.local.health()
        return {_member(LOCAL, i): ok for i, ok in enumerate(found)}


def _route_of(response: Any, requested: str) -> Route:
    """Which deployment answered. A request to the fallback group is the fallback's: that group
    has no fallbacks of its own, and a stream's `model_id` is not always set (LiteLLM issue
    #40292), which would bill a paid answer as a free local one."""
    if requested == FALLBACK:
        return FALLBACK
    hidden = getattr(response, "_hidden_params", None) or {}
    if not hidden.get("model_id"):
        log.warning("the router did not say which deployment answered; counted as local")
    return FALLBACK if hidden.get("model_id") == FALLBACK else LOCAL


def _refused(error: BaseException) -> bool:
    """A 4xx other than 408 and 429: the server refused this request, not its load."""
    status = getattr(error, "status_code", None)
    return isinstance(status, int) and 400 <= status < 500 and status not in (408, 429)


async def _failed(error: Exception, route: str, request_id: str, *, started: bool) -> RouteFailed:
    """The route's failure, naming why each of its attempts failed: LiteLLM logs each failed
    attempt from a task of its own, so those land first."""
    await asyncio.sleep(0.05)
    refused = _refused(error) and not isinstance(error, litellm.ContextWindowExceededError)
    if refused:
        log.warning("the %s model refused the request (%s)", route, _reason(error))
    reasons = _failures.pop(request_id) or [_reason(error)]
    return RouteFailed(route, reasons, refused=refused, started=started)
