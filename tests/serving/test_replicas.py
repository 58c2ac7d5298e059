"""Two `railyard serve` processes over one Redis count toward the same limits (issue 16): the
requests-per-minute limit of a caller is reached across both, and a fallback budget spent
through one refuses paid calls on the other."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import serve

QUESTION = "How much sick leave do employees earn every pay period?"
RPM = 4


@pytest.fixture(scope="module")
def replicas(run_dir, vllm_url, fallback_server, knowledge_base, redis_url):
    settings = {
        "local_base_url": vllm_url,
        "redis_url": redis_url,
        "rate_limit_rpm": str(RPM),
        "routing_mode": "api-only",
        "rails_enabled": "false",
        "fallback_budget_usd_per_day": "0.0000001",  # spent by the first paid answer
    }
    servers = [
        serve(f"replica-{i}", run_dir, fallback_server, knowledge_base, **settings) for i in (1, 2)
    ]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait("/healthz", 300)
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_a_callers_requests_per_minute_are_counted_across_replicas(replicas):
    one, two = replicas
    statuses = [
        httpx.get(server.url + "/v1/models", timeout=10).status_code
        for server in (one, two, one, two, one)
    ]
    assert statuses == [200] * RPM + [429]
    refused = httpx.get(two.url + "/v1/models", timeout=10)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_a_budget_spent_through_one_replica_refuses_paid_calls_on_the_other(
    replicas, fallback_server
):
    key = "unused"  # pragma: allowlist secret
    one, two = (
        openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
        for server in replicas
    )

    def ask(client: openai.OpenAI, marker: str):
        return client.chat.completions.create(
            model="railyard", max_tokens=16,
            messages=[{"role": "user", "content": f"{QUESTION} ({marker})"}],
        )  # fmt: skip

    # As in tests/security/test_spend.py: LiteLLM may hand a slow api-only call to the local
    # deployment (nothing spent); ask until one answer is paid.
    routes = []
    for attempt in range(3):
        routes.append(ask(one, f"replica-first-{attempt}-4a2c").model_extra["railyard"]["route"])
        if routes[-1] == "fallback":
            break
    assert routes[-1] == "fallback", routes
    with pytest.raises(openai.RateLimitError) as caught:
        ask(two, "replica-second-4a2c")
    assert caught.value.code == "insufficient_quota"
    received = httpx.get(fallback_server.url + "/_requests", timeout=10).json()["data"]
    assert not [body for body in received if "replica-second-4a2c" in str(body)]
