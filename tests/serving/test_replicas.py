"""Two `railyard serve` processes over one Postgres and one Redis act as one gateway (issue 16):
a caller's requests per minute are counted across both, a trace written by one is read through
the other, a thread started on one is continued on the other, and a fallback budget spent
through one refuses paid calls on the other."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import serve

QUESTION = "How much sick leave do employees earn every pay period?"
RPM = 4


def pair(name: str, run_dir, fallback_server, knowledge_base, **settings: str):
    servers = [
        serve(f"{name}-{i}", run_dir, fallback_server, knowledge_base, **settings) for i in (1, 2)
    ]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait("/readyz", 300)  # the knowledge base indexed: questions reach the model
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def replicas(run_dir, vllm_url, fallback_server, knowledge_base, redis_url, database_url):
    yield from pair(
        "replica", run_dir, fallback_server, knowledge_base, local_base_url=vllm_url,
        redis_url=redis_url, database_url=database_url, rate_limit_rpm=str(RPM),
        rails_enabled="false",
    )  # fmt: skip


@pytest.fixture(scope="module")
def paying_replicas(run_dir, vllm_url, fallback_server, knowledge_base, redis_url):
    """Routed to the paid fallback, with a budget the first paid answer spends. Their own
    trace stores: the budget is seeded from the traces, and the other pair's may hold paid
    answers (a slow local model is handed to the fallback)."""
    yield from pair(
        "paying-replica", run_dir, fallback_server, knowledge_base, local_base_url=vllm_url,
        redis_url=redis_url, routing_mode="api-only", rails_enabled="false",
        fallback_budget_usd_per_day="0.0000001",
    )  # fmt: skip


def client(server) -> openai.OpenAI:
    key = "unused"  # pragma: allowlist secret
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)


def test_a_callers_requests_per_minute_are_counted_across_replicas(replicas):
    one, two = replicas
    # A caller of its own (rate limits without keys are per client address): 127.0.0.2.
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as caller:
        statuses = [
            caller.get(server.url + "/v1/models", timeout=10).status_code
            for server in (one, two, one, two, one)
        ]
        refused = caller.get(two.url + "/v1/models", timeout=10)
    assert statuses == [200] * RPM + [429]
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_a_trace_written_by_one_replica_is_read_through_the_other(replicas):
    one, two = replicas
    answer = client(one).chat.completions.with_raw_response.create(
        model="railyard", max_tokens=16, messages=[{"role": "user", "content": QUESTION}]
    )
    trace_id = answer.headers["X-Railyard-Trace-Id"]
    trace = httpx.get(f"{two.url}/v1/traces/{trace_id}", timeout=10)
    assert trace.status_code == 200 and trace.json()["trace_id"] == trace_id
    listed = httpx.get(f"{two.url}/v1/traces", params={"limit": 200}, timeout=10).json()
    assert trace_id in [row["trace_id"] for row in listed["data"]]


def test_a_thread_started_on_one_replica_is_continued_on_the_other(replicas, database_url):
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    one, two = replicas
    thread = "replica-thread-5e1f"
    turns = []
    for server, question in ((one, QUESTION), (two, "And how many days is that per year?")):
        reply = client(server).chat.completions.with_raw_response.create(
            model="railyard", max_tokens=16, extra_headers={"X-Railyard-Thread-Id": thread},
            messages=[{"role": "user", "content": question}],
        )  # fmt: skip
        turns.append(reply.headers["X-Railyard-Trace-Id"])
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as db:
        saved = list(PostgresSaver(db).list({"configurable": {"thread_id": thread}}))
    # One history: the second replica's turn follows the first's checkpoints.
    history = [c.checkpoint["channel_values"].get("trace_id") for c in reversed(saved)]
    assert [t for t in dict.fromkeys(history) if t] == turns
    assert all(c.parent_config for c in saved[:-1])


def test_a_budget_spent_through_one_replica_refuses_paid_calls_on_the_other(
    paying_replicas, fallback_server
):
    one, two = (client(server) for server in paying_replicas)

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
