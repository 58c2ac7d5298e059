"""HTTP edge of /v1/chat/completions: who is asking and whether they may (API key, rate
limits), then call the service within the request timeout, and stream or return JSON. And
GET /v1/passages/{chunk_id}: the passage a citation points at."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from serving.access import Caller
from serving.access.dependency import identify, require_key
from serving.access.limits import Ticket, estimate_tokens
from serving.chat.protocol import ChatCompletionRequest, ChatCompletionResponse
from serving.chat.service import ChatService
from serving.errors import APIError, NotFound, RequestTimeout, error_body
from serving.observability.ids import new_trace_id

log = logging.getLogger(__name__)
router = APIRouter()
TRACE_HEADER = "X-Railyard-Trace-Id"


def admit(request: Request, caller: Caller, body: ChatCompletionRequest) -> Ticket:
    settings = request.app.state.settings
    max_tokens = body.max_completion_tokens or body.max_tokens or settings.max_completion_tokens
    # Over the ceiling is the service's 400 (max_tokens), not a rate limit.
    max_tokens = min(max_tokens, settings.max_completion_tokens)
    messages = [{"content": m.text()} for m in body.messages]
    return request.app.state.limiter.admit(
        caller.key_id, estimate_tokens(messages, max_tokens), caller.rpm, caller.tpm
    )


def _admitted(request: Request, authorization: str | None, body: ChatCompletionRequest):
    caller = identify(request, authorization)
    return caller, admit(request, caller, body)


def _timeout(seconds: float) -> RequestTimeout:
    return RequestTimeout(
        f"The request took longer than {seconds:g} s (RAILYARD_REQUEST_TIMEOUT_S) and was stopped."
    )


@router.post("/v1/chat/completions", response_model=ChatCompletionResponse)
async def create_chat_completion(
    body: ChatCompletionRequest,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_railyard_thread_id: Annotated[str | None, Header()] = None,
    x_railyard_prompt_version: Annotated[str | None, Header()] = None,
):
    service: ChatService = request.app.state.chat
    # The key table (a database) and the shared rate limits (Redis) are read from a thread: a
    # slow store holds this request, not every request the event loop serves.
    caller, ticket = await asyncio.to_thread(_admitted, request, authorization, body)
    limiter = request.app.state.limiter
    timeout_s = request.app.state.settings.request_timeout_s
    deadline = time.monotonic() + timeout_s
    traces = request.app.state.traces
    trace_id = traces.mint() if traces is not None else new_trace_id()
    headers = {TRACE_HEADER: trace_id}
    if not body.stream:
        try:
            async with asyncio.timeout(timeout_s):
                response = await service.complete(
                    body, trace_id, x_railyard_thread_id, caller, x_railyard_prompt_version
                )
        except TimeoutError:
            raise _timeout(timeout_s) from None
        await asyncio.to_thread(limiter.settle, ticket, response.usage.total_tokens)
        return JSONResponse(response.model_dump(), headers=headers)

    chunks = service.stream(body, trace_id, x_railyard_thread_id, caller, x_railyard_prompt_version)
    # Wait for the first chunk before answering 200, so early failures are plain HTTP errors.
    try:
        async with asyncio.timeout(timeout_s):
            first = await anext(chunks)
    except TimeoutError:
        await chunks.aclose()
        raise _timeout(timeout_s) from None
    settle = functools.partial(limiter.settle, ticket)
    events = _events(first, chunks, trace_id, deadline, timeout_s, settle)
    # On SIGTERM, in-flight streams run to their end (up to the grace period) instead of being
    # cut when uvicorn starts shutting down.
    grace = request.app.state.settings.shutdown_grace_s
    return EventSourceResponse(
        events, headers=headers, ping=15, shutdown_event=anyio.Event(),
        shutdown_grace_period=grace,
    )  # fmt: skip


async def _events(first: dict, chunks, trace_id: str, deadline: float, timeout_s: float, settle):
    """The stream's server-sent events: its chunks, an error event when it fails after the
    first (headers and text are already out), then [DONE]. A client that hangs up leaves this
    generator unfinished: the service's stream is closed then (not when it is collected), so
    the graph stops and what was spent is charged and traced (ChatService.stream); shielded,
    as the disconnect cancels us."""
    try:
        yield {"data": json.dumps(first)}
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                async for chunk in chunks:
                    if usage := chunk.get("usage"):
                        await asyncio.to_thread(settle, usage["total_tokens"])
                    yield {"data": json.dumps(chunk)}
        except TimeoutError:
            await chunks.aclose()
            yield {"data": json.dumps(_timeout(timeout_s).body())}
        except APIError as e:
            yield {"data": json.dumps(e.body())}
        except Exception:
            # The client learns of the failure from an error event (as OpenAI's API sends
            # one) instead of a stream that just stops.
            log.exception("stream %s failed after its first chunk", trace_id)
            await chunks.aclose()
            yield {"data": json.dumps(error_body("Internal server error.", "server_error"))}
        yield {"data": "[DONE]"}
    finally:
        with anyio.CancelScope(shield=True):
            await chunks.aclose()


@router.get("/v1/passages/{chunk_id}", dependencies=[Depends(require_key)])
async def passage(
    request: Request,
    chunk_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}-[0-9a-f]{12}-[0-9]{4,}$")],
) -> dict:
    """The text of a chunk a citation names, with its source file, heading and position. The
    knowledge base is shared by every project, so every key may read what it cites, but only as
    the chat path shows it: neutralised by the retrieval rail (secrets and PII redacted,
    injected instructions removed) when the rails are on."""
    store = request.app.state.knowledge.ingestor.store
    hit = await asyncio.to_thread(store.passage, chunk_id)
    if hit is None:
        raise NotFound(
            f"No passage with id '{chunk_id}' in the index (re-ingested since it was cited?).",
            param="chunk_id", code="passage_not_found",
        )  # fmt: skip
    text = hit.text
    if (rails := request.app.state.rails) is not None:
        # As the retrieve node does (the rail's memo is not shared across threads).
        [cleaned], _ = rails.scan_passages([{"text": text}])
        text = cleaned["text"]
    return {
        "object": "passage", "chunk_id": hit.chunk_id, "source": hit.source,
        "heading": hit.heading, "position": hit.position, "text": text,
    }  # fmt: skip
