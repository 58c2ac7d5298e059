"""One contract per store protocol, run against every backend railyard ships for it (as
LangGraph's checkpointer conformance suite runs one set of tests over each saver): the trace
store on SQLite and on PostgreSQL; spend ledgers and rate limits in memory and in Redis; locks on
a file and in Redis. A backend that behaves differently from its sibling fails here, not in a
deployment that switched to it."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from serving.access.budgets import MemoryLedger, RedisLedger
from serving.access.limits import RateLimiter
from serving.access.shared_limits import SharedRateLimiter
from serving.errors import RateLimited
from serving.observability.store import TraceStore
from storage.database import PostgresDatabase, SqliteDatabase
from storage.locks import file_lock, redis_lock


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- trace store: SQLite and PostgreSQL ---------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def traces(request, tmp_path: Path):
    if request.param == "sqlite":
        database = SqliteDatabase(tmp_path / "traces.sqlite")
    else:
        database = PostgresDatabase(request.getfixturevalue("database_url"))
    store = TraceStore(database)
    yield store
    store.close()


def trace(project: str, route: str, cost: float, created: float, **extra) -> dict:
    return {
        "trace_id": uuid.uuid4().hex, "created": created, "project": project, "user": "u1",
        "route": route, "outcome": extra.pop("outcome", "answered"),
        "prompt_version": extra.pop("prompt_version", "answer@v1"), "cost_usd": cost,
        "latency_ms": 10.0, **extra,
    }  # fmt: skip


def test_a_trace_is_read_back_as_written_and_rated_once_per_rater(traces):
    project = unique("p")
    written = trace(project, "fallback", 0.5, time.time(), answer="forty hours")
    traces.record(written)
    assert traces.flush(10)
    read = traces.get(written["trace_id"])
    assert read["answer"] == "forty hours" and read["cost_usd"] == 0.5
    assert traces.add_feedback(written["trace_id"], 0.0, "wrong", project=project, rater="k")
    assert traces.add_feedback(written["trace_id"], 1.0, "right", project=project, rater="k")
    assert not traces.add_feedback(written["trace_id"], 1.0, None, project="someone-else")
    assert [f["comment"] for f in traces.get(written["trace_id"])["feedback"]] == ["right"]
    assert traces.get(uuid.uuid4().hex, wait=False) is None


def test_reports_agree_on_every_backend(traces):
    project, now = unique("p"), time.time()
    rows = [
        trace(project, "local", 0.0, now - 3),
        trace(project, "fallback", 0.25, now - 2, prompt_version="answer@v2"),
        trace(project, "blocked", 0.0, now - 1, outcome="blocked",
              blocked={"name": "check pii", "stage": "output"}),
    ]  # fmt: skip
    for row in rows:
        traces.record(row)
    assert traces.flush(10)
    assert [r["trace_id"] for r in traces.search(project=project)] == [
        r["trace_id"] for r in reversed(rows)
    ]
    assert [r["route"] for r in traces.search(project=project, route="fallback")] == ["fallback"]
    [day] = traces.spend(project=project)
    assert (day["requests"], day["fallback_requests"], day["cost_usd"]) == (3, 1, 0.25)
    routes = {r["route"]: r["requests"] for r in traces.routes(project=project)}
    assert routes == {"local": 1, "fallback": 1, "blocked": 1}
    assert traces.rail_blocks(project=project) == [
        {"rail": "check pii", "stage": "output", "blocks": 1}
    ]
    compared = traces.by_prompt_version(["answer@v1", "answer@v2"], project=project)
    assert compared["answer@v2"]["cost_usd"] == [0.25]
    assert len(compared["answer@v1"]["outcome"]) == 2
    asked = traces.questions(since=now - 10, until=now + 10, project=project)
    assert [q["route"] for q in asked] == ["local", "fallback", "blocked"]


# --- spend ledgers: memory and Redis ------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def ledger(request):
    if request.param == "memory":
        return MemoryLedger()
    return RedisLedger(request.getfixturevalue("redis_url"))


def test_a_ledger_adds_per_scope_and_period(ledger):
    scope, other = unique("key"), unique("key")
    assert ledger.spent(scope, "2026-12-06") == 0.0
    assert ledger.add(scope, "2026-12-06", 0.25) == pytest.approx(0.25)
    assert ledger.add(scope, "2026-12-06", 0.5) == pytest.approx(0.75)
    assert ledger.spent(scope, "2026-12-06") == pytest.approx(0.75)
    assert ledger.spent(scope, "2026-12") == 0.0
    assert ledger.spent(other, "2026-12-06") == 0.0


def test_a_ledger_is_seeded_once(ledger):
    """Seeding starts a period's total from the traces; a total already counted (by this
    process or by another replica) is not overwritten."""
    scope = unique("project")
    ledger.seed(scope, "2026-12", 2.0)
    assert ledger.spent(scope, "2026-12") == pytest.approx(2.0)
    ledger.add(scope, "2026-12", 1.0)
    ledger.seed(scope, "2026-12", 2.0)
    assert ledger.spent(scope, "2026-12") == pytest.approx(3.0)


# --- rate limits: memory and Redis --------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def limiter(request):
    def make(rpm: int | None, tpm: int | None):
        if request.param == "memory":
            return RateLimiter(rpm, tpm)
        return SharedRateLimiter(request.getfixturevalue("redis_url"), rpm, tpm)

    return make


def test_requests_per_minute_are_counted_per_caller(limiter):
    limits = limiter(2, None)
    caller, other = unique("caller"), unique("caller")
    limits.admit(caller, 10)
    limits.admit(caller, 10)
    with pytest.raises(RateLimited) as refused:
        limits.admit(caller, 10)
    assert refused.value.type == "requests" and 0 < refused.value.retry_after <= 60
    limits.admit(other, 10)  # another caller's minute is its own


def test_tokens_per_minute_count_what_was_used(limiter):
    limits = limiter(None, 100)
    caller = unique("caller")
    first = limits.admit(caller, 80)
    limits.settle(first, 10)  # it used 10 of the 80 it asked for
    limits.admit(caller, 80)
    with pytest.raises(RateLimited) as refused:
        limits.admit(caller, 20)
    assert refused.value.type == "tokens"
    with pytest.raises(RateLimited) as too_large:
        limiter(None, 100).admit(unique("caller"), 101)
    assert too_large.value.retry_after is None


def test_a_callers_own_limit_replaces_the_default(limiter):
    limits = limiter(1, None)
    caller = unique("caller")
    limits.admit(caller, 1, rpm=3)
    limits.admit(caller, 1, rpm=3)
    limits.admit(caller, 1, rpm=3)
    with pytest.raises(RateLimited):
        limits.admit(caller, 1, rpm=3)


# --- locks: a file and Redis ----------------------------------------------------------------


@pytest.fixture(params=["file", "redis"])
def make_lock(request, tmp_path: Path):
    name = unique("lock")
    if request.param == "file":
        return lambda: file_lock(tmp_path / f"{name}.lock")
    url = request.getfixturevalue("redis_url")
    return lambda: redis_lock(url, name, ttl_s=5)


def test_a_lock_is_held_by_one_holder_at_a_time(make_lock):
    """Two holders (each with its own handle, as two processes have) never overlap."""
    inside, overlaps, order = threading.Lock(), [], []

    def hold(who: str) -> None:
        with make_lock()():
            if not inside.acquire(blocking=False):
                overlaps.append(who)
                return
            order.append(who)
            time.sleep(0.3)
            inside.release()

    threads = [threading.Thread(target=hold, args=(w,)) for w in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == [] and sorted(order) == ["a", "b", "c"]
