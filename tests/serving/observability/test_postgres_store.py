"""The trace store and thread retention on a real PostgreSQL (RAILYARD_DATABASE_URL, issue 16):
the same queries as on SQLite, migrations applied once even when replicas start together; only
ids this deployment minted are waited for."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import psycopg
import pytest

from serving.chat.threads import ThreadRetention
from serving.database import PostgresDatabase
from serving.observability.ids import FRESH_WAIT_S, minted_at, new_trace_id
from serving.observability.store import TraceStore
from storage.migrations import TRACES as MIGRATIONS
from tests.support.concurrency import at_once


def trace(project: str, route: str, cost: float, **extra) -> dict:
    return {
        "trace_id": uuid.uuid4().hex, "created": time.time(), "project": project,
        "user": "key-1", "route": route, "outcome": "answered", "prompt_version": "answer@v1",
        "cost_usd": cost, "latency_ms": 12.5, **extra,
    }  # fmt: skip


def test_traces_feedback_and_spend_on_postgres(database_url):
    store = TraceStore(PostgresDatabase(database_url))
    project = f"p-{uuid.uuid4().hex[:6]}"
    local, paid = trace(project, "local", 0.0), trace(project, "fallback", 0.25, answer="x")
    store.record(local)
    store.record(paid)
    assert store.flush(10)
    assert store.get(paid["trace_id"])["answer"] == "x"
    assert store.add_feedback(paid["trace_id"], 1.0, "good", project=project)
    assert not store.add_feedback(paid["trace_id"], 1.0, None, project="another")
    assert store.get(paid["trace_id"])["feedback"][0]["comment"] == "good"
    found = store.search(project=project)
    assert {row["trace_id"] for row in found} == {local["trace_id"], paid["trace_id"]}
    assert found[0]["user"] == "key-1"
    [day] = store.spend(project=project)
    assert day["requests"] == 2 and day["fallback_requests"] == 1
    assert day["cost_usd"] == 0.25 and len(day["day"]) == 10
    assert store.fallback_cost(since=time.time() - 60) >= 0.25
    assert store.feedback_summary(project=project) == [
        {"prompt_version": "answer@v1", "scores": 1, "mean_score": 1.0}
    ]
    store.close()


def test_replicas_starting_together_migrate_once(database_url):
    _, errors = at_once(lambda: TraceStore(PostgresDatabase(database_url)).close())
    assert errors == []
    with psycopg.connect(database_url) as db:
        versions = db.execute(
            "SELECT version FROM railyard_migrations WHERE component = 'traces'"
        ).fetchall()
    assert versions == [(v,) for v in range(1, len(MIGRATIONS) + 1)]


def test_thread_retention_on_postgres(database_url):
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    async def run() -> None:
        async with AsyncPostgresSaver.from_conn_string(database_url) as saver:
            await saver.setup()
            retention = ThreadRetention(PostgresDatabase(database_url), saver, retention_days=1)
            await retention.used("old-thread")
            later = time.time() + 86_400 + 5
            assert "old-thread" in await retention.prune(now=later)
            assert await retention.prune(now=later) == []  # forgotten once deleted
            await retention.used("new-thread")
            assert "new-thread" not in await retention.prune()

    asyncio.run(run())


def test_prompt_rollouts_and_version_figures_on_postgres(database_url):
    from serving.prompts import Rollout, RolloutStore

    database = PostgresDatabase(database_url)
    rollouts = RolloutStore(database)
    canary = Rollout.parse("answer@v2=90,answer@v3=10")
    rollouts.record("rollout", canary, note="canary")
    rollouts.record("rollback", Rollout.single("answer@v2"), note="worse")
    assert rollouts.current() == Rollout.single("answer@v2")
    assert [h["action"] for h in rollouts.history(2)] == ["rollback", "rollout"]
    assert rollouts.history(2)[1]["rollout"] == canary

    store = TraceStore(database)
    project = f"p-{uuid.uuid4().hex[:6]}"
    rows = [trace(project, "local", 0.001, prompt_version=v) for v in ("answer@v2", "answer@v3")]
    for row in rows:
        store.record(row)
    assert store.flush(10)
    assert store.add_feedback(rows[1]["trace_id"], 0.0, None, project=project)
    found = store.by_prompt_version(["answer@v2", "answer@v3"], project=project)
    assert found["answer@v2"]["outcome"] == ["answered"] and found["answer@v2"]["scores"] == []
    assert found["answer@v3"]["scores"] == [0.0] and found["answer@v3"]["cost_usd"] == [0.001]


def test_a_trace_just_minted_by_another_replica_is_waited_for(database_url):
    """Two replicas' stores on one Postgres: a client reads (and rates) through `two` a trace
    `one` answered a moment ago and has not committed yet; an id that is not fresh is a miss
    at once."""
    one, two = (
        TraceStore(PostgresDatabase(database_url)),
        TraceStore(PostgresDatabase(database_url)),
    )
    project = f"p-{uuid.uuid4().hex[:6]}"
    assert one.id_key == two.id_key  # the deployment's key, made once, shared
    rated, read = (trace(project, "local", 0.0, trace_id=one.mint()) for _ in range(2))
    threading.Timer(1.0, one.record, (read,)).start()
    threading.Timer(1.0, one.record, (rated,)).start()
    started = time.monotonic()
    assert two.get(read["trace_id"])["trace_id"] == read["trace_id"]
    assert two.add_feedback(rated["trace_id"], 1.0, "on the other replica", project=project)
    assert 0.9 <= time.monotonic() - started < FRESH_WAIT_S
    started = time.monotonic()
    assert two.get(uuid.uuid4().hex) is None  # not a UUIDv7: never waited for
    assert two.get("0" * 12 + new_trace_id()[12:]) is None  # a UUIDv7 of 1970
    # Security review 2, N3: a fresh UUIDv7 no gateway of this deployment minted (untagged,
    # or tagged with another key) is a miss at once too.
    assert two.get(new_trace_id()) is None
    assert two.get(new_trace_id(b"another deployment's key")) is None
    assert not two.add_feedback(new_trace_id(), 1.0, None)
    assert time.monotonic() - started < 0.5
    assert minted_at(new_trace_id()) == pytest.approx(time.time(), abs=1)
