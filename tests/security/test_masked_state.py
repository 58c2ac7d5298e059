"""Security review 2: what a named thread's checkpoint and the paid fallback see of the user's
own PII. The rails mask it into placeholders; the client's answer has the values put back, but
the checkpoint keeps the masked answer, and a broken local stream's text, which the client
already has unmasked, is masked again before the fallback continues it. Real parts: NeMo
Guardrails with Presidio, the LiteLLM router, the fallback stand-in, LangGraph's SQLite saver."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

import graph
from graph.context import AnswerSettings, Context
from graph.prompt import Prompt
from graph.routing import policy
from rails import PACKAGED, RailsEngine
from serving.llm.client import RouterChatModel
from serving.llm.fallback import FallbackChatModel
from serving.settings import DEFAULT_PROMPT, Settings
from tests.conftest import set_fault
from tests.support.processes import fault_server

EMAIL = "thread.owner@example.com"


@pytest.fixture(scope="module")
async def rails(embedder) -> RailsEngine:
    engine = RailsEngine(PACKAGED, embed=embedder.embed)
    await engine.warm_up()
    return engine


async def test_a_threads_checkpoint_keeps_the_answer_masked(rails, fallback_server, tmp_path):
    settings = Settings(
        local_base_url="http://127.0.0.1:9/v1",  # nothing listens: api-only never asks it
        fallback_base_url=fallback_server.url + "/v1",
        openai_api_key="sk-test",
        data_dir=tmp_path,
    )
    context = Context(
        chat_model=FallbackChatModel(RouterChatModel(settings)),
        prompt=Prompt.load(DEFAULT_PROMPT),
        rails=rails,
        routing=policy("api-only"),
        answer=AnswerSettings(mode="generate", extractive="never"),
    )
    # The stand-in echoes the (masked) question: the answer holds the user's placeholder.
    turn = {
        "messages": [{"role": "user", "content": f"Please confirm my address {EMAIL} for leave."}],
        "params": {"max_tokens": 32},
        "trace_id": "masked-turn",
    }
    database = tmp_path / "checkpoints.sqlite"
    async with AsyncSqliteSaver.from_conn_string(str(database)) as saver:
        request_graph = graph.build(context, saver)
        events = [e async for e in request_graph.stream(turn, thread_id="owner")]
    final = events[-1][1]
    streamed = "".join(text for kind, text in events if kind == "delta")
    assert EMAIL in graph.state.reply(final) and EMAIL in streamed  # the client's copy
    assert EMAIL not in final["answer"] and "<EMAIL_ADDRESS_1>" in final["answer"]
    with sqlite3.connect(database) as db:
        stored = b"".join(
            bytes(value) for table in ("checkpoints", "writes")
            for row in db.execute(f"SELECT * FROM {table}")
            for value in row if isinstance(value, bytes | str)
            for value in [value.encode() if isinstance(value, str) else value]
        )  # fmt: skip
    assert b"EMAIL_ADDRESS_1" in stored
    assert EMAIL.encode() not in stored


async def test_a_taken_over_streams_text_is_masked_before_the_fallback_sees_it(
    rails, fallback_server, tmp_path
):
    """The local server dies mid-answer after writing the user's address: the client read it
    with the value restored, and the fallback, asked to continue, is sent the model's own text,
    the placeholder in place. (The local route here is a second stand-in, which echoes the
    masked question and drops its connection after eight words.)"""
    local = fault_server("breaking-local", tmp_path).start().wait("/health", 60)
    try:
        set_fault(local, "break_stream", after=8)
        settings = Settings(
            local_base_url=local.url + "/v1",
            fallback_base_url=fallback_server.url + "/v1",
            openai_api_key="sk-test",  # pragma: allowlist secret
            data_dir=tmp_path,
        )
        context = Context(
            chat_model=FallbackChatModel(RouterChatModel(settings)),
            prompt=Prompt.load(DEFAULT_PROMPT),
            rails=rails,
            answer=AnswerSettings(mode="generate", extractive="never"),
        )
        turn = {
            "messages": [{"role": "user", "content": f"My address is {EMAIL}; leave policy?"}],
            "params": {"max_tokens": 32},
            "trace_id": "taken-over-turn",
        }
        events = [e async for e in graph.build(context).stream(turn)]
    finally:
        local.stop()
    final = events[-1][1]
    assert final["generation"]["route"] == "fallback"
    assert final["generation"]["fallback_reasons"][0] == "local_stream_broken"
    async with httpx.AsyncClient(timeout=10) as http:
        asked = (await http.get(fallback_server.url + "/_requests")).json()["data"][-1]
    continued = next(m["content"] for m in reversed(asked["messages"]) if m["role"] == "assistant")
    assert "<EMAIL_ADDRESS_1>" in continued and EMAIL not in str(asked)
    streamed = "".join(text for kind, text in events if kind == "delta")
    assert EMAIL in streamed  # the client's copy has the value back
