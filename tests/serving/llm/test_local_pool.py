"""A pool of local servers (RAILYARD_LOCAL_BASE_URLS, issue 16): one LiteLLM model group in
front of two OpenAI-compatible servers: a `railyard standin` proxying to the session's vLLM,
and that vLLM itself. When the first is killed the second takes the traffic, with no paid
call (a request that picks the dead server is retried on the other), and /readyz says which
server is down while the gateway stays ready."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import KB_QUESTION, serve
from tests.support.processes import fault_server


@pytest.fixture(scope="module")
def first_server(run_dir, vllm_url):
    server = fault_server("pool-first", run_dir / "logs", upstream=vllm_url)
    server.start().wait("/health", 60)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pool_gateway(run_dir, first_server, vllm_url, fallback_server, knowledge_base):
    server = serve(
        "pool-gateway", run_dir, fallback_server, knowledge_base, rails_enabled="false",
        local_base_urls=f'["{first_server.url}/v1", "{vllm_url}"]',
    )  # fmt: skip
    server.start().wait("/readyz", 300)
    yield server
    server.stop()


def test_the_second_local_server_takes_the_traffic_when_the_first_dies(pool_gateway, first_server):
    key = "unused"  # pragma: allowlist secret
    client = openai.OpenAI(base_url=pool_gateway.url + "/v1", api_key=key, max_retries=0)

    def route() -> str:
        answer = client.chat.completions.create(
            model="railyard", messages=KB_QUESTION, max_tokens=8
        )
        return answer.model_extra["railyard"]["route"]

    ready = httpx.get(pool_gateway.url + "/readyz", timeout=10).json()
    assert ready["local_servers"] == {"local": True, "local-2": True}
    # Servers are picked at random (simple-shuffle): ask until the first has answered once.
    for _ in range(10):
        assert route() == "local"
        received = httpx.get(first_server.url + "/_requests", timeout=10).json()["data"]
        if received:
            break
    assert received, "the first server of the pool never took a request"
    first_server.stop()
    # A request that picks the dead server is retried on the other (same-group failover):
    # no paid call while one server of the pool answers.
    assert [route() for _ in range(6)] == ["local"] * 6
    ready = httpx.get(pool_gateway.url + "/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["local_servers"] == {"local": False, "local-2": True}
