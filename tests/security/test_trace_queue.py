"""Tracing never makes a request or a reader wait on the write queue, and the queue is bounded
(security review, issue 15 item 7): a burst of traces is dropped and counted past the bound
instead of growing memory; a reader gets a queued trace from memory at once and waits at most
READ_WAIT_S for the rest."""

from __future__ import annotations

import time

from serving.database import SqliteDatabase
from serving.observability import store as trace_store
from serving.observability.store import TraceStore


def trace(i: int) -> dict:
    return {
        "trace_id": f"t{i}", "created": time.time(), "project": "p", "route": "local",
        "outcome": "answered", "cost_usd": 0.0, "latency_ms": 1.0, "padding": "x" * 2000,
    }  # fmt: skip


def test_the_queue_is_bounded_and_drops_are_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(trace_store, "MAX_QUEUED", 50)
    store = TraceStore(SqliteDatabase(tmp_path / "traces.sqlite"))
    try:
        for i in range(5000):  # far faster than one writer commits
            store.record(trace(i))
        assert store._queue.maxsize == 50
        assert store.dropped > 0
        assert store.flush(timeout_s=60)
        kept = len(store.search(limit=1000))
        assert kept + store.dropped == 5000
    finally:
        store.close()


def test_a_reader_gets_a_queued_trace_without_waiting_for_the_queue(tmp_path):
    store = TraceStore(SqliteDatabase(tmp_path / "traces.sqlite"))
    try:
        for i in range(3000):
            store.record(trace(i))
        newest = store.get("t2999")
        # Answered from memory while the writer is still behind, not after it caught up.
        assert newest is not None and newest["trace_id"] == "t2999"
        assert store._written < 3000
    finally:
        store.close()
