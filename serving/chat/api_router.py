"""HTTP edge of /v1/chat/completions: parse, call the service, stream or return JSON."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from serving.chat.protocol import ChatCompletionRequest, ChatCompletionResponse
from serving.chat.serving import ChatService, new_trace_id
from serving.errors import APIError

router = APIRouter()
TRACE_HEADER = "X-Railyard-Trace-Id"


@router.post("/v1/chat/completions", response_model=ChatCompletionResponse)
async def create_chat_completion(
    body: ChatCompletionRequest,
    request: Request,
    x_railyard_thread_id: Annotated[str | None, Header()] = None,
):
    service: ChatService = request.app.state.chat
    trace_id = new_trace_id()
    headers = {TRACE_HEADER: trace_id}
    if not body.stream:
        response = await service.complete(body, trace_id, x_railyard_thread_id)
        return JSONResponse(response.model_dump(), headers=headers)

    chunks = service.stream(body, trace_id, x_railyard_thread_id)
    # Wait for the first chunk before answering 200, so early failures are plain HTTP errors.
    first = await anext(chunks)

    async def events():
        yield {"data": json.dumps(first)}
        try:
            async for chunk in chunks:
                yield {"data": json.dumps(chunk)}
        except APIError as e:
            yield {"data": json.dumps(e.body())}
        yield {"data": "[DONE]"}

    return EventSourceResponse(events(), headers=headers, ping=15)
