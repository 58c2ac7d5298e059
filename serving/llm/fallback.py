"""Where fallback is decided and carried out: `FallbackChatModel`, the graph's `ChatModel`, asks
the local route and hands the request to the paid fallback when the routing policy
(graph/routing.py) allows it and the budgets do:

- **error**: the local route fails before its first token (down, slow, stalled, overloaded,
  failing after LiteLLM tried the pool's other servers); never a request it refused (a 4xx:
  the fallback would only be paid to be refused too).
- **broken stream**: the local stream breaks after it started; the fallback continues the text
  already streamed, and the consumer's hold-back goes on checking it as one answer.
- **rejected**: the consumer's output rails stopped a local answer before any of it was sent
  (`ChatRequest.rejection`); the fallback answers the same prompt, after a `Retry`.
- **unsure**: select handed the question over (`ChatRequest.handed_over`); the fallback
  answers it, and the scoring it cost is carried into the answer.

Two budget vetoes: a caller whose own budget is spent (`ChatRequest.paid` false) is answered
locally; once the fallback's daily budget is spent nothing is handed to it, and a request routed
to it is refused (429). Every hand-over is named in the answer's `fallback_reasons`, and what
each attempt cost is carried into the one `Generation` the request is billed.

The pattern is pydantic-ai's `FallbackModel` (one model object that tries its models in turn),
with the routing policy as its list; the mechanics of one route are `RouterChatModel`'s."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator

from graph.protocols import ChatRequest, Generation, Retry, TextEnd
from graph.routing import Routing, escalated, joined, take_over
from serving.errors import BudgetExhausted, UpstreamError, UpstreamRefused
from serving.llm.client import RouterChatModel
from serving.llm.routes import FALLBACK, LOCAL, RouteFailed

log = logging.getLogger(__name__)


class FallbackChatModel:
    """A `graph.protocols.ChatModel`: the local route first, the paid fallback when the request's
    routing policy (`ChatRequest.routing`) says so (the module docstring lists when)."""

    def __init__(self, routes: RouterChatModel) -> None:
        self.routes = routes

    @property
    def bills(self):
        """What each stream was billed (`RouterChatModel.bills`), for clients that hang up."""
        return self.routes.bills

    async def stream(
        self, request: ChatRequest
    ) -> AsyncIterator[str | TextEnd | Retry | Generation]:
        attempt = await self._first(request)
        async for item in self._answer(request, attempt):
            if isinstance(item, Generation):
                generation = item
            else:
                yield item
        yield TextEnd()  # the consumer checks what it holds, and may reject the answer
        if (reason := await self._escalation(request, generation)) is not None:
            yield Retry(reason)
            first = generation
            async for item in self._answer(request, dataclasses.replace(attempt, route=FALLBACK)):
                if isinstance(item, Generation):
                    generation = escalated(first, item, reason)
                else:
                    yield item
            yield TextEnd()
        if (handed := request.handed_over) is not None:
            generation = escalated(handed.spent, generation, handed.reason)
        if request.request_id:
            self.routes.bills.settled(request.request_id, generation)
        yield generation

    async def _answer(
        self, request: ChatRequest, attempt: ChatRequest
    ) -> AsyncIterator[str | Generation]:
        """One answer: the attempt's route, handed to the fallback when it fails (before its
        first token, or mid-stream: then the fallback continues the text already sent)."""
        sent, reasons = "", []
        while True:
            text = ""
            try:
                async for item in self.routes.stream(attempt):
                    if isinstance(item, Generation):
                        generation = item
                        continue
                    if sent and not text:  # a continuation, joined to what went before
                        item = joined(sent, item)[len(sent) :]
                    text += item
                    yield item
                break
            except RouteFailed as failed:
                sent += text
                attempt = await self._after_failure(request, attempt, failed, sent, reasons)
                reasons += ["local_stream_broken"] if failed.started else failed.reasons
        yield dataclasses.replace(
            generation,
            text=sent + text,
            fallback_reasons=[*reasons, *generation.fallback_reasons],
        )

    async def _first(self, request: ChatRequest) -> ChatRequest:
        """The first attempt: the route asked (or handed over to), unless a budget vetoes it."""
        wanted = FALLBACK if request.route == FALLBACK or request.handed_over else LOCAL
        if wanted == FALLBACK and not request.paid:
            wanted = LOCAL  # the caller's own budget is spent: the local model answers
        if wanted == FALLBACK and await self._spent():
            budget = self.routes.budget
            raise BudgetExhausted(
                f"The fallback's budget for today (${budget.usd_per_day:g}, "
                "RAILYARD_FALLBACK_BUDGET_USD_PER_DAY) is spent; it resets at midnight UTC.",
                retry_after=budget.seconds_to_reset(),
            )
        return dataclasses.replace(request, route=wanted)

    async def _after_failure(
        self,
        request: ChatRequest,
        attempt: ChatRequest,
        failed: RouteFailed,
        sent: str,
        earlier: list[str],
    ) -> ChatRequest:
        """The fallback's attempt after the local route failed, or the request's error (naming
        why every route tried failed, `earlier` first)."""
        failure = "broken_stream" if failed.started else "error"
        if (
            attempt.route == LOCAL
            and not failed.refused
            and _routing(request).falls_back_on(failure)
            and await self._may_pay(request)
        ):
            if not failed.started:
                return dataclasses.replace(attempt, route=FALLBACK)
            log.warning(
                "local stream failed after %d chars (%s); the fallback takes over",
                len(sent), ", ".join(failed.reasons),
            )  # fmt: skip
            return take_over(attempt, sent)
        tried = ", ".join([*earlier, *failed.reasons])
        if failed.refused and attempt.route == LOCAL:
            raise UpstreamRefused(
                f"the local model refused the request ({tried}); a refused request is not "
                "handed to the paid fallback"
            ) from failed
        routes = "local and fallback" if earlier else attempt.route
        raise UpstreamError(f"no model route could answer ({routes} failed: {tried})") from failed

    async def _escalation(self, request: ChatRequest, generation: Generation) -> str | None:
        """Why the fallback answers in place of a local answer the output rails rejected before
        any of it was sent, when the policy escalates it; None: the answer (or its rejection)
        stands."""
        rejection = request.rejection
        if not rejection or generation.route != LOCAL:
            return None
        if not _routing(request).escalates_rejected(
            generation, ungrounded=rejection.ungrounded, on_ungrounded=rejection.on_ungrounded
        ):
            return None
        if not await self._may_pay(request):
            return None
        if request.cancel is not None:
            request.cancel.clear()  # the same event stops the fallback's answer
        return f"rail:{rejection.rail}"

    async def _may_pay(self, request: ChatRequest) -> bool:
        """Whether the paid fallback may take this request over: the caller's budget and the
        fallback's daily budget both allow it."""
        return request.paid and not await self._spent()

    async def _spent(self) -> bool:
        """The fallback's daily budget is spent (read from a thread: it may be in Redis)."""
        budget = self.routes.budget
        if budget is None:
            return False
        return await asyncio.to_thread(lambda: budget.exhausted)


def _routing(request: ChatRequest) -> Routing:
    return request.routing or Routing()
