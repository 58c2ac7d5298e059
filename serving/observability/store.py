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

from serving.database import Connection, Database
from serving.observability.ids import awaited, deployment_key, may_arrive, new_trace_id

log = logging.getLogger("railyard.traces")

MIGRATIONS = [
    [
        """CREATE TABLE IF NOT EXISTS traces (
            trace_id TEXT PRIMARY KEY,
            created DOUBLE PRECISION NOT NULL,
            project TEXT NOT NULL,
            "user" TEXT,
            route TEXT NOT NULL,
            outcome TEXT NOT NULL,
            prompt_version TEXT,
            cost_usd DOUBLE PRECISION NOT NULL,
            latency_ms DOUBLE PRECISION NOT NULL,
            body TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS traces_created ON traces (created)",
        "CREATE INDEX IF NOT EXISTS traces_project ON traces (project, created)",
        """CREATE TABLE IF NOT EXISTS feedback (
            trace_id TEXT NOT NULL REFERENCES traces (trace_id) ON DELETE CASCADE,
            created DOUBLE PRECISION NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            comment TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS feedback_trace ON feedback (trace_id)",
    ],
    [
        # The API key a trace's request came with (its spend counts toward the key's budget).
        "ALTER TABLE traces ADD COLUMN key_id TEXT",
    ],
    [
        # The answer the user says was right, given with a low score (feedback export).
        "ALTER TABLE feedback ADD COLUMN correction TEXT",
    ],
    [
        # The deployment's key for trace-id tags (observability/ids.py), shared by replicas.
        "CREATE TABLE IF NOT EXISTS trace_id_keys (name TEXT PRIMARY KEY, secret TEXT NOT NULL)",
    ],
    [
        # Who rated: one rating per key and trace, the last one wins (no ballot stuffing).
        "ALTER TABLE feedback ADD COLUMN key_id TEXT",
        "CREATE INDEX IF NOT EXISTS feedback_rater ON feedback (trace_id, key_id)",
    ],
]
"""The schema, version by version (a file from before versioning already has version 1)."""
DAY_S = 86_400
MAX_QUEUED = 10_000
READ_WAIT_S = 2.0
_STOP = object()


class TraceStore:
    def __init__(self, database: Database, retention_days: float = 30) -> None:
        self.database = database
        self.retention_s = retention_days * DAY_S
        database.migrate("traces", MIGRATIONS)
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
        where, args = _where(None, trace_id=trace_id, project=project, key_id=owner)

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
        where, args = _where(since, project=project, route=route, outcome=outcome, key_id=key_id)
        sql = (
            'SELECT trace_id, created, project, "user", route, outcome, prompt_version, '
            f"cost_usd, latency_ms FROM traces WHERE {where} ORDER BY created DESC LIMIT ?"
        )
        with self.database.connect() as db:
            return db.execute(sql, (*args, limit)).fetchall()

    def spend(self, *, since: float | None = None, project: str | None = None) -> list[dict]:
        """Cost and requests per UTC day, project and user (the API key's), newest day first."""
        self._settle()
        where, args = _where(since, project=project)
        day = self.database.day("created")
        sql = (
            f'SELECT {day} AS day, project, "user", COUNT(*) AS requests, '
            "SUM(cost_usd) AS cost_usd, "
            "SUM(CASE WHEN route = 'fallback' THEN 1 ELSE 0 END) AS fallback_requests "
            f"FROM traces WHERE {where} "
            f'GROUP BY {day}, project, "user" ORDER BY day DESC, cost_usd DESC'
        )
        with self.database.connect() as db:
            return db.execute(sql, args).fetchall()

    def routes(self, *, since: float | None = None, project: str | None = None) -> list[dict]:
        """Requests, cost and tokens per UTC day and route (local, fallback, cache, blocked),
        newest day first."""
        self._settle()
        where, args = _where(since, project=project)
        day = self.database.day("created")
        sql = (
            f"SELECT {day} AS day, route, COUNT(*) AS requests, SUM(cost_usd) AS cost_usd "
            f"FROM traces WHERE {where} GROUP BY {day}, route ORDER BY day DESC, route"
        )
        with self.database.connect() as db:
            return db.execute(sql, args).fetchall()

    def rail_blocks(
        self, *, since: float | None = None, project: str | None = None, limit: int = 10_000
    ) -> list[dict[str, Any]]:
        """How many requests each rail stopped (input or output), from the newest `limit`
        blocked traces: {rail, stage, blocks}, most first."""
        self._settle()
        where, args = _where(since, project=project, outcome="blocked")
        sql = f"SELECT body FROM traces WHERE {where} ORDER BY created DESC LIMIT ?"
        counts: dict[tuple[str, str], int] = {}
        with self.database.connect() as db:
            for row in db.execute(sql, (*args, limit)).fetchall():
                blocked = json.loads(row["body"]).get("blocked") or {}
                key = (blocked.get("name", "unknown"), blocked.get("stage", "unknown"))
                counts[key] = counts.get(key, 0) + 1
        rows = [{"rail": r, "stage": s, "blocks": n} for (r, s), n in counts.items()]
        return sorted(rows, key=lambda row: (-row["blocks"], row["rail"]))

    def questions(
        self, *, since: float, until: float, project: str | None = None, limit: int = 50_000
    ) -> list[dict[str, Any]]:
        """{created, outcome, route, question} of the traces in [since, until), oldest first
        (question None when the trace kept no content)."""
        self._settle()
        where, args = _where(since, project=project)
        sql = (
            f"SELECT created, outcome, route, body FROM traces WHERE {where} AND created < ? "
            "ORDER BY created LIMIT ?"
        )
        with self.database.connect() as db:
            rows = db.execute(sql, (*args, until, limit)).fetchall()
        return [
            {"created": r["created"], "outcome": r["outcome"], "route": r["route"],
             "question": (json.loads(r["body"]).get("content") or {}).get("question")}
            for r in rows
        ]  # fmt: skip

    def rated(self, *, since: float | None = None, project: str | None = None) -> list[dict]:
        """Traces that have feedback, oldest first, each with its feedback list (for
        `railyard feedback export`)."""
        self._settle()
        where, args = _where(since, **{"t.project": project})
        where = where.replace("created >=", "t.created >=")
        sql = (
            "SELECT t.trace_id AS trace_id, t.body AS body, f.score AS score, "
            "f.comment AS comment, f.correction AS correction FROM feedback f "
            f"JOIN traces t USING (trace_id) WHERE {where} ORDER BY t.created, f.created"
        )
        traces: dict[str, dict[str, Any]] = {}
        with self.database.connect() as db:
            for row in db.execute(sql, args).fetchall():
                trace = traces.get(row["trace_id"])
                if trace is None:
                    trace = traces[row["trace_id"]] = json.loads(row["body"]) | {"feedback": []}
                trace["feedback"].append({k: row[k] for k in ("score", "comment", "correction")})
        return list(traces.values())

    def by_prompt_version(
        self, versions: list[str], *, since: float | None = None, project: str | None = None
    ) -> dict[str, dict[str, list]]:
        """Per prompt version: its traces' outcomes, latencies and costs, and its feedback
        scores (for `railyard prompts compare`)."""
        self._settle()
        where, args = _where(since, project=project)
        marks = ", ".join("?" for _ in versions)
        where += f" AND prompt_version IN ({marks})"
        found = {
            v: {"outcome": [], "latency_ms": [], "cost_usd": [], "scores": []} for v in versions
        }
        with self.database.connect() as db:
            rows = db.execute(
                f"SELECT prompt_version, outcome, latency_ms, cost_usd FROM traces WHERE {where}",
                (*args, *versions),
            ).fetchall()
            for row in rows:
                for column in ("outcome", "latency_ms", "cost_usd"):
                    found[row["prompt_version"]][column].append(row[column])
            scored = db.execute(
                "SELECT t.prompt_version AS prompt_version, f.score AS score FROM feedback f "
                f"JOIN traces t USING (trace_id) WHERE {_qualified(where)}",
                (*args, *versions),
            ).fetchall()
        for row in scored:
            found[row["prompt_version"]]["scores"].append(row["score"])
        return found

    def spend_by_caller(self, *, since: float) -> list[dict[str, Any]]:
        """Cost per UTC day, project and API key since a time (to seed the budgets)."""
        self._settle()
        day = self.database.day("created")
        sql = (
            f"SELECT {day} AS day, project, key_id, SUM(cost_usd) AS cost_usd FROM traces "
            f"WHERE created >= ? GROUP BY {day}, project, key_id"
        )
        with self.database.connect() as db:
            return db.execute(sql, (since,)).fetchall()

    def fallback_cost(self, *, since: float) -> float:
        """What answers by the fallback route have cost since a time (for its daily budget)."""
        self._settle()
        with self.database.connect() as db:
            row = db.execute(
                "SELECT SUM(cost_usd) AS cost FROM traces WHERE route = 'fallback' "
                "AND created >= ?",
                (since,),
            ).fetchone()
        return float(row["cost"] or 0.0)

    def feedback_summary(self, *, project: str | None = None) -> list[dict[str, Any]]:
        """Feedback per prompt version (on `project`'s traces, when given): how many scores and
        their mean."""
        self._settle()
        where, args = _where(None, **{"t.project": project})
        sql = (
            "SELECT t.prompt_version AS prompt_version, COUNT(*) AS scores, "
            "AVG(f.score) AS mean_score FROM feedback f JOIN traces t USING (trace_id) "
            f"WHERE {where} GROUP BY t.prompt_version ORDER BY t.prompt_version"
        )
        with self.database.connect() as db:
            return db.execute(sql, args).fetchall()


def _qualified(where: str) -> str:
    """A `_where` clause for a query that joins traces `t` to feedback."""
    for column in ("created", "project", "prompt_version"):
        where = where.replace(f"{column} ", f"t.{column} ")
    return where


def _where(since: float | None, **equal: str | None) -> tuple[str, list[Any]]:
    """A WHERE clause (and its arguments) for traces since a time and with given column values."""
    where, args = ["1 = 1"], []
    for column, value in equal.items():
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if since is not None:
        where.append("created >= ?")
        args.append(since)
    return " AND ".join(where), args
