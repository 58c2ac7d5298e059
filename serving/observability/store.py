"""Traces and feedback, in the data dir's `traces.sqlite` or the replicas' shared Postgres
(serving/database.py).

Requests hand their trace to `record()`, which only queues it: one writer thread commits, so
tracing stays off the request path. The queue is bounded (a stalled disk drops traces, counted,
rather than growing without end). A trace is readable as soon as its response has been sent:
`get` answers a queued trace from memory; the other readers wait at most READ_WAIT_S for what
was queued before them, never for the whole queue. Replicas sharing a Postgres each write their
own traces: a trace id minted a moment ago (ids are UUIDv7, serving/observability/ids.py) that
another replica has not committed yet is waited for, a few seconds at most, when read or rated.

Traces older than the retention period are deleted at start and once a day.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any

from reports.traces import TraceReports, where_clause
from serving.database import Connection, Database
from serving.observability.ids import awaited, deployment_key, may_arrive, new_trace_id
from storage import migrations

log = logging.getLogger("railyard.traces")

DAY_S = 86_400
MAX_QUEUED = 10_000
READ_WAIT_S = 2.0
_STOP = object()


class TraceStore(TraceReports):
    """Writes traces and feedback and reads one trace back; the read-side reports over them
    (spend, routes, rail blocks, feedback...) are `TraceReports`' (reports/traces.py)."""

    def __init__(self, database: Database, retention_days: float = 30) -> None:
        self.database = database
        self.retention_s = retention_days * DAY_S
        database.migrate("traces", migrations.TRACES)
        self.id_key = deployment_key(database)
        """Tags the trace ids this deployment mints (`mint`), so only those are waited for."""
        self._queue: queue.Queue = queue.Queue(maxsize=MAX_QUEUED)
        self._pending: dict[str, dict[str, Any]] = {}
        """Queued traces by id, until committed."""
        self._queued = self._written = 0
        self._progress = threading.Condition()
        self.dropped = 0
        """Traces dropped because the queue was full."""
        self._pruned_at = 0.0
        self._writer = threading.Thread(target=self._write_loop, name="trace-writer", daemon=True)
        self._writer.start()

    def mint(self) -> str:
        """A new trace id, tagged as this deployment's."""
        return new_trace_id(self.id_key)

    def may_arrive(self, trace_id: str) -> bool:
        """Whether a read of this unknown id should wait for another replica to commit it."""
        return may_arrive(trace_id, self.id_key)

    # --- writing ---------------------------------------------------------------------------

    def record(self, trace: dict[str, Any]) -> None:
        """Queue a trace for the writer; returns at once (dropping it if the queue is full)."""
        with self._progress:
            try:
                self._queue.put_nowait(trace)
            except queue.Full:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.warning("trace queue full: %d traces dropped", self.dropped)
                return
            self._pending[trace["trace_id"]] = trace
            self._queued += 1

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until the traces queued before this call are committed (at most `timeout_s`);
        False when they were not in time."""
        with self._progress:
            target = self._queued
            return self._progress.wait_for(lambda: self._written >= target, timeout_s)

    def _settle(self) -> None:
        """What readers wait for: the traces queued before them, for READ_WAIT_S at most."""
        self.flush(READ_WAIT_S)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._writer.join(timeout=10)
        self.database.close()

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                with self.database.connect() as db:
                    self._insert(db, item)
                    self._prune_daily(db)
            except Exception:
                log.exception("trace %s not stored", getattr(item, "get", dict)("trace_id"))
            finally:
                self._queue.task_done()
                if item is not _STOP:
                    with self._progress:
                        self._pending.pop(item.get("trace_id"), None)
                        self._written += 1
                        self._progress.notify_all()

    def _insert(self, db: Connection, trace: dict[str, Any]) -> None:
        db.execute(
            'INSERT INTO traces (trace_id, created, project, "user", route, outcome, '
            "prompt_version, cost_usd, latency_ms, body, key_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (trace_id) DO UPDATE SET created = excluded.created, "
            'project = excluded.project, "user" = excluded."user", route = excluded.route, '
            "outcome = excluded.outcome, prompt_version = excluded.prompt_version, "
            "cost_usd = excluded.cost_usd, latency_ms = excluded.latency_ms, "
            "body = excluded.body, key_id = excluded.key_id",
            (
                trace["trace_id"], trace["created"], trace["project"], trace.get("user"),
                trace["route"], trace["outcome"], trace.get("prompt_version"),
                trace["cost_usd"], trace["latency_ms"], json.dumps(trace), trace.get("key_id"),
            ),
        )  # fmt: skip

    def _prune_daily(self, db: Connection) -> None:
        now = time.time()
        if now - self._pruned_at < DAY_S:
            return
        self._pruned_at = now
        deleted = db.execute(
            "DELETE FROM traces WHERE created < ?", (now - self.retention_s,)
        ).rowcount
        if deleted:
            log.info("deleted %d traces older than the retention period", deleted)

    def add_feedback(
        self,
        trace_id: str,
        score: float,
        comment: str | None,
        *,
        project: str | None = None,
        owner: str | None = None,
        correction: str | None = None,
        rater: str | None = None,
        wait: bool = True,
    ) -> bool:
        """Attach a user score (and a comment, and the answer the user says was right) to a
        trace (of `project`, and asked with key `owner`, when given); False when there is no
        such trace. A rater's new score replaces its earlier one on the same trace."""
        if trace_id in self._pending:
            self.flush(READ_WAIT_S)  # the trace itself is still queued
        where, args = where_clause(None, trace_id=trace_id, project=project, key_id=owner)

        def found() -> bool:
            with self.database.connect() as db:
                return bool(
                    db.execute(f"SELECT 1 AS found FROM traces WHERE {where}", args).fetchone()
                )

        if not (awaited(trace_id, found, self.id_key) if wait else found()):
            return False
        with self.database.connect() as db:
            if rater is not None:
                db.execute(
                    "DELETE FROM feedback WHERE trace_id = ? AND key_id = ?", (trace_id, rater)
                )
            db.execute(
                "INSERT INTO feedback (trace_id, created, score, comment, correction, key_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (trace_id, time.time(), score, comment, correction, rater),
            )
        return True

    # --- reading ---------------------------------------------------------------------------

    def get(self, trace_id: str, wait: bool = True) -> dict[str, Any] | None:
        """The trace; an unknown id that may still arrive (`may_arrive`) is waited for, here,
        unless `wait` is False."""
        if not wait:
            return self._read(trace_id)
        return awaited(trace_id, lambda: self._read(trace_id), self.id_key)

    def _read(self, trace_id: str) -> dict[str, Any] | None:
        queued = self._pending.get(trace_id)
        if queued is not None:
            return {**queued, "feedback": []}
        with self.database.connect() as db:
            row = db.execute("SELECT body FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
            if row is None:
                return None
            trace = json.loads(row["body"])
            trace["feedback"] = db.execute(
                "SELECT created, score, comment, correction FROM feedback WHERE trace_id = ? "
                "ORDER BY created",
                (trace_id,),
            ).fetchall()
        return trace

    def search(
        self,
        *,
        since: float | None = None,
        project: str | None = None,
        route: str | None = None,
        outcome: str | None = None,
        key_id: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Trace summaries, newest first (of one key's requests, when `key_id` is given)."""
        self._settle()
        where, args = where_clause(
            since, project=project, route=route, outcome=outcome, key_id=key_id
        )
        sql = (
            'SELECT trace_id, created, project, "user", route, outcome, prompt_version, '
            f"cost_usd, latency_ms FROM traces WHERE {where} ORDER BY created DESC LIMIT ?"
        )
        with self.database.connect() as db:
            return db.execute(sql, (*args, limit)).fetchall()
