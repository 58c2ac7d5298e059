"""A stream that fails after its first chunk ends with an OpenAI-style error event, so the
`openai` client raises instead of taking a cut answer for a whole one (issue 15, item 15).

The HTTP edge is the real one (serving/chat/api_router.py, the limiter, the settings); the chat
service behind it answers one chunk and then fails the way a bug would."""

from __future__ import annotations

import httpx
import openai
import pytest
from fastapi import FastAPI

from serving.access.limits import RateLimiter
from serving.chat.api_router import router
from serving.settings import Settings


class FailsMidStream:
    async def stream(self, body, trace_id, thread_id=None, caller=None, prompt_version=None):
        yield {
            "id": trace_id, "object": "chat.completion.chunk", "created": 0, "model": "railyard",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Sick leave"},
                         "finish_reason": None}],
        }  # fmt: skip
        raise RuntimeError("a bug after the first chunk")


@pytest.fixture
def client(tmp_path):
    settings = Settings(data_dir=tmp_path)
    app = FastAPI()
    app.include_router(router)
    app.state.settings, app.state.keys, app.state.chat = settings, None, FailsMidStream()
    app.state.traces = None  # trace ids minted without a store's tag
    app.state.limiter = RateLimiter(settings.rate_limit_rpm, settings.rate_limit_tpm)
    transport = httpx.ASGITransport(app=app)
    http = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")
    return openai.AsyncOpenAI(
        base_url="http://127.0.0.1/v1",
        api_key="unused",  # pragma: allowlist secret
        http_client=http,
        max_retries=0,
    )


async def test_an_unexpected_failure_mid_stream_is_an_error_event(client):
    stream = await client.chat.completions.create(
        model="railyard", messages=[{"role": "user", "content": "Sick leave?"}], stream=True
    )
    received = []
    with pytest.raises(openai.APIError, match="Internal server error"):
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content)
    assert received == ["Sick leave"]
