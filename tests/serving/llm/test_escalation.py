"""Escalation of a rejected answer (serving/llm/fallback.py), on real parts: the guarded graph
with NeMo's rails, milvus-lite and MiniLM over the test knowledge base, LiteLLM, and two
stand-ins, one as the local route and one as the fallback. A stand-in answers by echoing the
question, which no passage supports: the groundedness rail stops the local answer before any of
it is sent, and under `quality-gated` the fallback is asked the same prompt, the request pays for
both answers, and the trace names why."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

import graph
from graph.context import AnswerSettings, Context
from graph.prompt import Prompt
from graph.routing import policy
from ingest.configuration import IngestConfig
from ingest.graph import Ingestor
from ingest.retriever import HybridRetriever
from rails import PACKAGED, RailsEngine
from rails.groundedness.checker import GroundednessChecker
from serving.llm.client import RouterChatModel
from serving.llm.fallback import FallbackChatModel
from serving.settings import DEFAULT_PROMPT, Settings
from tests.conftest import stats
from tests.support.knowledge import write_corpus
from tests.support.processes import fault_server

QUESTION = "How much sick leave do employees earn every pay period?"


@pytest.fixture(scope="module")
def local_echo(tmp_path_factory):
    server = fault_server("echo-local", tmp_path_factory.mktemp("echo")).start()
    yield server.wait("/health", 60)
    server.stop()


@pytest.fixture(scope="module")
async def context(local_echo, fallback_server, tmp_path_factory, embedder):
    tmp = tmp_path_factory.mktemp("escalation")
    ingestor = Ingestor(IngestConfig(data_dir=tmp / "index"), embedder=embedder)
    ingestor.run([write_corpus(tmp / "kb")])
    rails = RailsEngine(PACKAGED, embed=embedder.embed)
    await rails.warm_up()
    settings = Settings(
        local_base_url=local_echo.url + "/v1",
        fallback_base_url=fallback_server.url + "/v1",
        openai_api_key="sk-test",  # pragma: allowlist secret
        data_dir=tmp,
    )
    yield Context(
        chat_model=FallbackChatModel(RouterChatModel(settings)),
        prompt=Prompt.load(DEFAULT_PROMPT),
        retriever=HybridRetriever(ingestor.store, ingestor.manifest, embedder),
        answer=AnswerSettings(mode="generate", extractive="never"),
        rails=rails,
        embed=embedder.embed,
    )
    ingestor.close()


def ask(trace_id: str) -> dict:
    return {
        "messages": [{"role": "user", "content": QUESTION}],
        "params": {"max_tokens": 32},
        "trace_id": trace_id,
    }


async def generated(request_graph, trace_id: str) -> dict:
    final = await request_graph.run(ask(trace_id))
    return final | {"span": next(s for s in final["spans"] if s["name"] == "generate")}


async def test_a_rejected_local_answer_is_asked_of_the_fallback_and_paid_for_twice(
    context, local_echo, fallback_server
):
    asked_before = stats(fallback_server)["requests"], stats(local_echo)["requests"]
    gated = await generated(graph.build(replace(context, routing=policy("quality-gated"))), "g1")
    generation, span = gated["generation"], gated["span"]["attributes"]
    assert (stats(fallback_server)["requests"], stats(local_echo)["requests"]) == (
        asked_before[0] + 1, asked_before[1] + 1,
    )  # fmt: skip
    assert generation["route"] == "fallback"
    assert span["escalated_after"] == "check groundedness"
    assert "rail:check groundedness" in generation["fallback_reasons"]
    async with httpx.AsyncClient(timeout=10) as http:
        sent = (await http.get(fallback_server.url + "/_requests")).json()["data"][-1]
    assert QUESTION in str(sent["messages"])  # the same prompt, asked again
    # Both answers are billed: the local one's tokens and the fallback's.
    local_only = await generated(graph.build(replace(context, routing=policy("local-only"))), "g2")
    assert local_only["generation"]["route"] == "local"
    assert generation["usage"]["prompt_tokens"] > local_only["generation"]["usage"]["prompt_tokens"]
    assert generation["cost_usd"] > local_only["generation"]["cost_usd"] > 0
    # Every verdict of both answers is kept: two groundedness checks.
    checks = [v for v in gated["rails"] if v["name"] == "check groundedness"]
    assert len(checks) == 2 and all(v["decision"] == "block" for v in checks)


async def test_local_first_keeps_the_rejection_without_paying_the_fallback(
    context, fallback_server
):
    """Escalation is the policy's: under local-first (no fallback key for rejections) the
    rejected local answer stands, refused or replaced, and the fallback is not asked."""
    before = stats(fallback_server)["requests"]
    final = await generated(graph.build(replace(context, routing=policy("local-first"))), "f1")
    assert stats(fallback_server)["requests"] == before
    assert final["generation"]["route"] == "local"
    assert final["span"]["attributes"]["escalated_after"] is None


async def test_an_unsupported_generated_answer_is_replaced_by_the_retrieved_sentences(context):
    """Without rails, the groundedness judge stands in for the output rail: the echoed question
    is supported by no passage, so the answer is the best retrieved sentence, quoted from a
    cited passage (RAILYARD_RETRIEVAL_EXTRACTIVE=unsupported, the default)."""
    judged = replace(
        context, rails=None, groundedness=GroundednessChecker(),
        answer=AnswerSettings(mode="generate", extractive="unsupported"),
        routing=policy("local-only"),
    )  # fmt: skip
    final = await graph.build(judged).run(ask("r1"))
    assert final["generation"]["text"].startswith("The fallback model answers:")  # the echo
    assert final["answer_mode"] == "extractive"
    cited = "\n".join(p["text"] for p in final["passages"])
    assert final["answer"] and final["answer"] in cited
    assert final["answer"] == "Employees earn four hours of sick leave every pay period."
