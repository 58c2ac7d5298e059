"""The request graph on its real parts: the LiteLLM router in front of the real vLLM server,
with conversation threads checkpointed to SQLite."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

import graph
from graph.context import Context
from graph.prompt import Prompt
from graph.state import InputState
from serving.llm.client import RouterChatModel
from serving.llm.fallback import FallbackChatModel
from serving.settings import DEFAULT_PROMPT, Settings


def question(trace_id: str) -> InputState:
    return InputState(
        messages=[{"role": "user", "content": "What color is the sky on a clear day?"}],
        params={"max_tokens": 24, "temperature": 0.0},
        trace_id=trace_id,
    )


@pytest.fixture
async def request_graph(vllm_url, fallback_server, tmp_path):
    settings = Settings(
        local_base_url=vllm_url,
        fallback_base_url=fallback_server.url + "/v1",
        openai_api_key="sk-test",
        data_dir=tmp_path,
    )
    context = Context(
        chat_model=FallbackChatModel(RouterChatModel(settings)), prompt=Prompt.load(DEFAULT_PROMPT)
    )
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
        yield graph.build(context, saver)


async def test_runs_generate_then_respond_with_spans(request_graph):
    state = await request_graph.run(question("trace-1"))
    assert state["answer"] and state["answer"] == state["answer"].strip()
    assert state["route"] == "local"
    assert state["prompt_version"] == Prompt.load(DEFAULT_PROMPT).version_id
    assert [span["name"] for span in state["spans"]] == ["generate", "respond"]
    generate = state["spans"][0]["attributes"]
    assert generate["route"] == "local"
    assert generate["prompt_tokens"] > 0 and generate["completion_tokens"] > 0
    assert 0 < generate["ttft_s"] < state["spans"][0]["latency_ms"] / 1000
    assert generate["cost_usd"] > 0
    assert generate["fallback_reasons"] == []


async def test_stream_yields_the_same_text_then_the_final_state(request_graph):
    plain = await request_graph.run(question("trace-2"))
    events = [event async for event in request_graph.stream(question("trace-3"))]
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "final" and set(kinds[:-1]) == {"delta"}
    assert "".join(value for kind, value in events[:-1]) == plain["answer"]
    assert events[-1][1]["answer"] == plain["answer"]


async def test_threads_are_checkpointed(request_graph):
    await request_graph.run(question("trace-4"), thread_id="thread-a")
    snapshot = await request_graph.compiled.aget_state({"configurable": {"thread_id": "thread-a"}})
    assert snapshot.values["trace_id"] == "trace-4"
    assert snapshot.values["answer"]
