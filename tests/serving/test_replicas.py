"""Two `railyard serve` processes over one Postgres, one Redis and one `milvus-lite server` act
as one gateway (issue 16): a caller's requests per minute are counted across both, a trace
written by one is read through the other, a thread started on one is continued on the other,
ingestion runs one at a time and what one commits the other retrieves at once, and a fallback
budget spent through one refuses paid calls on the other. `railyard serve --workers 2` does
the same on one port."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import openai
import pytest

from tests.conftest import serve
from tests.support.processes import milvus_lite_server, wait_for_port
from tests.support.spend import ask_until_paid

QUESTION = "How much sick leave do employees earn every pay period?"
RPM = 4
PERMIT_QUESTION = "How much does a north garage parking permit cost?"


def pair(name: str, run_dir, fallback_server, knowledge_base, **settings: str):
    """Two replicas, started together: both index the knowledge base at start, one at a time
    when they share an index."""
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
def milvus_url(run_dir):
    server = milvus_lite_server("milvus-lite-server", run_dir / "logs", run_dir / "shared-index")
    wait_for_port(server.start())
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def replicas(
    run_dir, vllm_url, fallback_server, knowledge_base, redis_url, database_url, milvus_url
):
    yield from pair(
        "replica", run_dir, fallback_server, knowledge_base, local_base_url=vllm_url,
        redis_url=redis_url, database_url=database_url, milvus_uri=milvus_url,
        rate_limit_rpm=str(RPM), rails_enabled="false",
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


def client(server, address: str | None = None) -> openai.OpenAI:
    """The official client; from `address` (127.0.0.x), a caller of its own for the rate limit
    (without keys, limits are per client address)."""
    key = "unused"  # pragma: allowlist secret
    http = httpx.Client(transport=httpx.HTTPTransport(local_address=address)) if address else None
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, http_client=http)


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

    ask_until_paid(lambda marker: ask(one, marker), "replica-first-4a2c")
    with pytest.raises(openai.RateLimitError) as caught:
        ask(two, "replica-second-4a2c")
    assert caught.value.code == "insufficient_quota"
    received = httpx.get(fallback_server.url + "/_requests", timeout=10).json()["data"]
    assert not [body for body in received if "replica-second-4a2c" in str(body)]


def test_ingestion_runs_one_at_a_time_and_a_commit_is_retrieved_on_the_other(replicas, run_dir):
    one, two = replicas
    folder = run_dir / "incoming" / f"replica-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    (folder / "parking-permits.md").write_text(
        "# Parking permits\n\nStaff parking permits for the north garage are issued by the "
        "facilities desk on the third floor. A permit costs 42 dollars per quarter and is "
        "renewed every January, April, July and October.\n"
    )
    summaries: dict[str, dict] = {}

    def ingest(server) -> None:
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.4")) as caller:
            response = caller.post(
                server.url + "/v1/admin/ingest", json={"paths": [str(folder)]}, timeout=300
            )
        response.raise_for_status()
        summaries[server.name] = response.json()

    both = [threading.Thread(target=ingest, args=(server,)) for server in (one, two)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join(320)
    # One run indexed the file; the other waited for the lock and found it unchanged.
    assert sorted((s["added"], s["unchanged"]) for s in summaries.values()) == [(0, 1), (1, 0)]
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.5")) as caller:
        listed = caller.get(two.url + "/v1/admin/ingest/runs", timeout=30).json()["data"]
    runs = {r["run_id"]: r for r in listed}
    first, second = sorted(
        (runs[s["run_id"]] for s in summaries.values()), key=lambda r: r["started_at"]
    )
    assert first["finished_at"] <= second["started_at"]  # they did not overlap
    # Committed through one replica (whichever won), retrieved through both at once.
    for server in (one, two):
        reply = client(server, "127.0.0.5").chat.completions.create(
            model="railyard", max_tokens=16,
            messages=[{"role": "user", "content": PERMIT_QUESTION}],
        )  # fmt: skip
        sources = [c["source"] for c in reply.model_extra["railyard"]["citations"]]
        assert "parking-permits.md" in sources, (server.name, sources)


@pytest.fixture(scope="module")
def workers(run_dir, vllm_url, fallback_server, knowledge_base, redis_url):
    server = serve(
        "workers", run_dir, fallback_server, knowledge_base, "--workers", "2",
        local_base_url=vllm_url, redis_url=redis_url, rate_limit_rpm=str(RPM),
        rails_enabled="false",
    )  # fmt: skip
    server.start()
    try:
        server.wait("/readyz", 300)  # one worker is ready; the other may still be starting
        deadline = time.monotonic() + 120
        while server.tail(400).count("Application startup complete") < 2:
            assert time.monotonic() < deadline, server.tail()
            time.sleep(0.5)
        yield server
    finally:
        server.stop()


def test_serve_with_two_workers_shares_one_index_and_one_count(workers):
    # Both workers started (the fixture waits for them), on the one port, over the
    # milvus-lite server the parent runs.
    assert "milvus-lite server on 127.0.0.1" in workers.tail(400)
    # From a caller of its own: 127.0.0.1's minute may be spent by the replicas above (Redis
    # counts across gateways, and the workers can start within that minute).
    reply = client(workers, "127.0.0.4").chat.completions.create(
        model="railyard", max_tokens=16, messages=[{"role": "user", "content": QUESTION}]
    )
    assert reply.model_extra["railyard"]["citations"]
    # A caller's requests per minute, over new connections (either worker may take each one).
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3")) as caller:
        statuses = []
        for _ in range(RPM + 2):
            statuses.append(
                caller.get(workers.url + "/v1/models", headers={"Connection": "close"}).status_code
            )
    assert statuses == [200] * RPM + [429, 429]


def test_a_stalled_redis_holds_only_the_requests_that_wait_for_it(replicas, redis_url):
    """Rate limits, budgets and the key table are read from threads: while the shared Redis
    does not answer, the replica's event loop goes on serving (its health check answers at
    once). Read on the loop, each of the waiting requests held every other request for the
    Redis client's timeout (0.5 s)."""
    import redis

    one, _ = replicas
    waited: list[float] = []

    def ask(address: str) -> None:
        with httpx.Client(transport=httpx.HTTPTransport(local_address=address)) as caller:
            start = time.perf_counter()
            caller.get(one.url + "/v1/models", timeout=30)
            waited.append(time.perf_counter() - start)

    redis.Redis.from_url(redis_url).execute_command("CLIENT", "PAUSE", "3000", "ALL")
    askers = [threading.Thread(target=ask, args=(f"127.0.0.{10 + i}",)) for i in range(8)]
    for asker in askers:
        asker.start()
    time.sleep(0.3)  # the eight are waiting for Redis now
    start = time.perf_counter()
    health = httpx.get(one.url + "/healthz", timeout=30)
    answered_in = time.perf_counter() - start
    for asker in askers:
        asker.join()
    assert health.status_code == 200
    assert max(waited) >= 0.4  # they did wait for Redis ...
    assert answered_in < 1.0, f"the event loop was held {answered_in:.2f} s"  # ... alone
