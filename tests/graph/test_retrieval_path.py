"""The request graph with retrieval, on real parts: the test knowledge base in milvus-lite, the
MiniLM embedder, the LiteLLM router and the real vLLM model."""

from __future__ import annotations

from dataclasses import replace

import pytest

import graph
from graph.answering import support
from graph.context import Context, RetrievalSettings
from graph.prompt import Prompt
from graph.state import InputState
from ingest.configuration import IngestConfig
from ingest.graph import Ingestor
from ingest.retriever import HybridRetriever
from serving.router.router import RouterChatModel
from serving.settings import DEFAULT_PROMPT, Settings
from tests.support.knowledge import write_corpus


@pytest.fixture(scope="module")
def context(vllm_url, fallback_server, tmp_path_factory, embedder):
    tmp = tmp_path_factory.mktemp("retrieval")
    ingestor = Ingestor(IngestConfig(data_dir=tmp / "index"), embedder=embedder)
    ingestor.run([write_corpus(tmp / "kb")])
    settings = Settings(
        local_base_url=vllm_url,
        fallback_base_url=fallback_server.url + "/v1",
        openai_api_key="sk-test",
        data_dir=tmp,
    )
    yield Context(
        chat_model=RouterChatModel(settings),
        prompt=Prompt.load(DEFAULT_PROMPT),
        retriever=HybridRetriever(ingestor.store, ingestor.manifest, embedder),
        retrieval=RetrievalSettings(),
    )
    ingestor.close()


def ask(question: str, trace_id: str = "t") -> InputState:
    return InputState(
        messages=[{"role": "user", "content": question}],
        params={"max_tokens": 48, "temperature": 0.0},
        trace_id=trace_id,
    )


async def test_answers_are_grounded_and_cited(context):
    state = await graph.build(context).run(
        ask("How much of the meals rate is paid on travel days?")
    )
    assert [s["name"] for s in state["spans"]] == ["retrieve", "generate", "respond"]
    assert state["citations"][0]["source"] == "travel/per-diem.md"
    assert all(c["score"] >= context.retrieval.min_score for c in state["citations"])
    cited = "\n".join(p["text"] for p in state["passages"])
    if state["answer_mode"] == "generated":
        question = "How much of the meals rate is paid on travel days?"
        assert support(state["answer"], question, cited) >= 0.6
    else:
        assert state["answer_mode"] == "extractive" and state["answer"] in cited


async def test_extractive_answer_quotes_the_best_sentence(context):
    always = replace(context, retrieval=replace(context.retrieval, extractive="always"))
    state = await graph.build(always).run(ask("How many hours of sick leave do employees earn?"))
    assert state["answer_mode"] == "extractive"
    assert state["answer"] == "Employees earn four hours of sick leave every pay period."
    assert state["citations"][0]["source"] == "leave/sick-leave.md"


async def test_unrelated_questions_are_not_sent_to_a_model(context):
    state = await graph.build(context).run(ask("What is the boiling point of mercury?"))
    assert [s["name"] for s in state["spans"]] == ["retrieve", "no_answer", "respond"]
    assert state["answer"] == context.prompt.no_context_answer
    assert state["answer_mode"] == "no_context" and state["citations"] == []
    assert state["generation"]["cost_usd"] == 0


async def test_stream_sends_only_the_checked_answer(context):
    request_graph = graph.build(context)
    events = [e async for e in request_graph.stream(ask("When are laptops issued?", "s"))]
    deltas = [value for kind, value in events if kind == "delta"]
    final = events[-1][1]
    assert "".join(deltas) == final["answer"]
    assert len(deltas) == 1  # held back until checked against the context
