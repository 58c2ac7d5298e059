"""Security review 2: what a named thread's checkpoint and the paid fallback see of the user's
own PII. The rails mask it into placeholders; the client's answer has the values put back, but
the checkpoint keeps the masked answer, and a broken local stream's text, which the client
already has unmasked, is masked again before the fallback continues it. Real parts: NeMo
Guardrails with Presidio, the LiteLLM router, the fallback stand-in, LangGraph's SQLite saver."""

from __future__ import annotations

import sqlite3

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

import graph
from graph.context import Context, RetrievalSettings
from graph.nodes.generate import _masked
from graph.prompt import Prompt
from graph.protocols import ChatRequest
from graph.routing import policy, take_over
from rails import PACKAGED, RailsEngine
from serving.llm.client import RouterChatModel
from serving.settings import DEFAULT_PROMPT, Settings

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
        chat_model=RouterChatModel(settings),
        prompt=Prompt.load(DEFAULT_PROMPT),
        rails=rails,
        routing=policy("api-only"),
        retrieval=RetrievalSettings(answer="generate", extractive="never"),
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


async def test_a_taken_over_streams_text_is_masked_before_the_fallback_sees_it(rails):
    checked = await rails.check_input(f"My address is {EMAIL}; what is the leave policy?")
    state = {"pii_values": dict(checked.pii_values)}
    context = Context(chat_model=None, prompt=Prompt.load(DEFAULT_PROMPT), rails=rails)  # type: ignore[arg-type]
    sent = f"I will write to {EMAIL} about"  # what the client already read, values restored
    request = ChatRequest(messages=[{"role": "user", "content": checked.text}], max_tokens=16)
    continued = take_over(request, _masked(state, context, sent))
    upstream = " ".join(m["content"] for m in continued.messages)
    assert continued.route == "fallback"
    assert EMAIL not in upstream
    assert "I will write to <EMAIL_ADDRESS_1> about" in upstream
