"""Routing: the local vLLM answers first; the fallback answers when it errors, is down, is slow,
or stalls a stream before its first token; traffic returns to local after the cooldown; costs
are tokens × the configured price on both routes."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from graph.routing import CONTINUE
from serving.llm.config import RouterConfig
from tests.conftest import FAULT_POLICY, set_fault, stats
from tests.conftest import KB_QUESTION as QUESTION
from tests.support.streams import stream_chat

LOCAL_IN, LOCAL_OUT = RouterConfig.model_validate(FAULT_POLICY).local.price.per_token()
GPT_4O_MINI_IN, GPT_4O_MINI_OUT = 0.15e-6, 0.60e-6  # OpenAI's list price per token


@pytest.fixture(scope="module")
def faulty_client(faulty_gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=faulty_gateway.url + "/v1", api_key="unused", max_retries=0)


@pytest.fixture
def healthy_local(faulty_client, local_proxy):
    """Clear faults and wait until requests route locally again (cooldowns have passed)."""
    set_fault(local_proxy)
    deadline = time.monotonic() + 3 * FAULT_POLICY["cooldown_s"] + 10
    while time.monotonic() < deadline:
        if ask(faulty_client, max_tokens=2)["route"] == "local":
            return
        time.sleep(1)
    pytest.fail("local route did not recover")


def ask(client: openai.OpenAI, **kwargs) -> dict:
    completion = client.chat.completions.create(
        model="railyard", messages=QUESTION, **({"max_tokens": 16} | kwargs)
    )
    info = completion.model_extra["railyard"]
    return info | {"usage": completion.usage, "text": completion.choices[0].message.content}


def assert_fallback_cost(info: dict) -> None:
    usage = info["usage"]
    expected = usage.prompt_tokens * GPT_4O_MINI_IN + usage.completion_tokens * GPT_4O_MINI_OUT
    assert info["cost_usd"] == pytest.approx(expected, rel=1e-9)
    assert info["cost_usd"] > 0


def test_local_500_falls_back(healthy_local, faulty_client, local_proxy, fallback_server):
    before = stats(fallback_server)["requests"]
    set_fault(local_proxy, "error", times=1)
    info = ask(faulty_client)
    assert info["route"] == "fallback"
    assert info["text"].startswith("The fallback model answers:")
    assert stats(fallback_server)["requests"] == before + 1
    assert stats(local_proxy)["faulted"] >= 1
    assert_fallback_cost(info)


@pytest.mark.parametrize("status", [400, 401, 404])
def test_a_request_the_local_server_refuses_is_not_paid_for(
    status, healthy_local, faulty_gateway, local_proxy, fallback_server
):
    """A 4xx other than too-long-for-the-window (a bad key, an unknown model, a malformed
    request) is the same refusal on the paid route: it is not handed to the fallback."""
    before = stats(fallback_server)["requests"]
    set_fault(local_proxy, "error", status=status)
    try:
        response = httpx.post(
            faulty_gateway.url + "/v1/chat/completions",
            json={"model": "railyard", "messages": QUESTION, "max_tokens": 8},
            timeout=60,
        )
    finally:
        set_fault(local_proxy)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_refused"
    assert f"http_{status}" in error["message"]
    assert stats(fallback_server)["requests"] == before


def test_local_down_falls_back(healthy_local, faulty_client, local_proxy):
    local_proxy.stop()
    try:
        start = time.monotonic()
        info = ask(faulty_client)
        assert info["route"] == "fallback"
        assert time.monotonic() - start < FAULT_POLICY["local"]["timeout_s"]
        assert_fallback_cost(info)
    finally:
        local_proxy.start().wait("/health", 60)


def test_local_slow_falls_back_after_the_timeout(healthy_local, faulty_client, local_proxy):
    set_fault(local_proxy, "hang", delay_s=30, times=1)
    start = time.monotonic()
    info = ask(faulty_client)
    elapsed = time.monotonic() - start
    assert info["route"] == "fallback"
    assert FAULT_POLICY["local"]["stream_timeout_s"] <= elapsed < 20


def test_stream_stalled_before_first_token_falls_back(healthy_local, faulty_client, local_proxy):
    set_fault(local_proxy, "slow_first_token", delay_s=30, times=1)
    chunks, text = stream_chat(faulty_client, QUESTION, max_tokens=16)
    assert text.startswith("The fallback model answers:")
    info = chunks[-1].model_extra["railyard"]
    assert info["route"] == "fallback"
    assert_fallback_cost(info | {"usage": chunks[-1].usage})


def test_a_local_stream_that_breaks_is_continued_by_the_fallback(
    healthy_local, faulty_gateway, faulty_client, local_proxy, fallback_server
):
    """The local server dies mid-answer (its connection drops after a few chunks): the client's
    stream goes on, the fallback asked to continue the text already sent, and the answer is the
    fallback's, named so in its reasons and billed at its price."""
    set_fault(local_proxy, "break_stream", times=1, after=6)
    try:
        chunks, text = stream_chat(faulty_client, QUESTION, max_tokens=24)
    finally:
        set_fault(local_proxy)
    info = chunks[-1].model_extra["railyard"]
    assert info["route"] == "fallback"
    asked = httpx.get(fallback_server.url + "/_requests", timeout=10).json()["data"][-1]
    *_, local_text, go_on = asked["messages"]
    assert local_text["role"] == "assistant" and local_text["content"].strip()
    assert go_on == {"role": "user", "content": CONTINUE}
    # The client has the local model's text, then the fallback's continuation, in one stream.
    assert text.startswith(local_text["content"].strip())
    assert text[len(local_text["content"].strip()) :].strip().startswith("The fallback model")
    trace = traced(faulty_gateway, info["trace_id"])
    assert trace["generation"]["fallback_reasons"][0] == "local_stream_broken"
    assert_fallback_cost(info | {"usage": chunks[-1].usage})


def traced(gateway, trace_id: str) -> dict:
    """The request's trace, once written (traces are written after the response)."""
    deadline = time.monotonic() + 15
    while (response := httpx.get(f"{gateway.url}/v1/traces/{trace_id}", timeout=10)).is_error:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
    return response.json()


def test_cooldown_keeps_traffic_on_fallback_then_recovers(
    healthy_local, faulty_client, local_proxy
):
    set_fault(local_proxy, "error", times=1)
    assert ask(faulty_client)["route"] == "fallback"
    # Within the cooldown the local route is not even tried.
    tried = stats(local_proxy)["requests"]
    assert ask(faulty_client)["route"] == "fallback"
    assert stats(local_proxy)["requests"] == tried
    time.sleep(FAULT_POLICY["cooldown_s"] + 1)
    info = ask(faulty_client)
    assert info["route"] == "local"
    assert stats(local_proxy)["requests"] == tried + 1
    usage = info["usage"]
    expected = usage.prompt_tokens * LOCAL_IN + usage.completion_tokens * LOCAL_OUT
    assert info["cost_usd"] == pytest.approx(expected, rel=1e-9)


def test_both_routes_down_is_503(healthy_local, faulty_gateway, local_proxy, fallback_server):
    set_fault(local_proxy, "error")
    set_fault(fallback_server, "error")
    try:
        response = httpx.post(
            faulty_gateway.url + "/v1/chat/completions",
            json={"model": "railyard", "messages": QUESTION, "max_tokens": 8},
            timeout=60,
        )
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["type"] == "service_unavailable"
        assert "local and fallback failed" in error["message"]
    finally:
        set_fault(fallback_server)
        set_fault(local_proxy)
