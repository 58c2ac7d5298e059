"""Exact cost (issue 18 item 6): a stream the output rails cut reports no usage; it is billed
with the tokens the served model's tokenizer counts (vLLM's /tokenize for the local route), the
same count vLLM reports for the stream it finishes, so cost = tokens x price to the token."""

from __future__ import annotations

import asyncio

import pytest

from graph.protocols import ChatRequest, Generation
from serving.llm.client import LOCAL, RouterChatModel
from serving.settings import Settings

QUESTION = [{"role": "user", "content": "How much sick leave do employees earn every pay period?"}]


@pytest.fixture
def router(vllm_url, fallback_server, tmp_path) -> RouterChatModel:
    settings = Settings(
        local_base_url=vllm_url,
        fallback_base_url=fallback_server.url + "/v1",
        openai_api_key="sk-test",  # pragma: allowlist secret
        data_dir=tmp_path,
    )
    return RouterChatModel(settings)


async def answer(router: RouterChatModel, cut_after: int | None = None) -> Generation:
    cancel = asyncio.Event()
    request = ChatRequest(messages=QUESTION, max_tokens=24, temperature=0.0, cancel=cancel)
    deltas = 0
    async for item in router.stream(request):
        if isinstance(item, Generation):
            return item
        deltas += 1
        if deltas == cut_after:
            cancel.set()  # as the output rails do when they block the answer
    raise AssertionError("the stream ended without a Generation")


async def test_a_cut_local_stream_is_billed_as_vllm_bills_the_whole_one(router):
    whole = await answer(router)
    cut = await answer(router, cut_after=4)
    assert whole.route == cut.route == LOCAL
    assert cut.finish_reason == "content_filter"
    # The same prompt: the count vLLM reported for the finished stream, not zero.
    assert cut.usage.prompt_tokens == whole.usage.prompt_tokens > 0
    # Greedy decoding: the cut text is the start of the whole one, and is billed by its tokens.
    assert whole.text.startswith(cut.text) and len(cut.text) < len(whole.text)
    assert 4 <= cut.usage.completion_tokens < whole.usage.completion_tokens
    assert await router.local.count_text(whole.text) == whole.usage.completion_tokens
    assert cut.cost_usd == pytest.approx(router.cost(LOCAL, cut.usage), rel=1e-12)
    assert cut.cost_usd > 0
