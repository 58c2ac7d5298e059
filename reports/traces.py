"""Reports over the traces and feedback the gateway stored (storage/database.py's `traces` and
`feedback` tables): spend per day and caller, requests per route, rail blocks, questions over a
period (drift), rated answers (feedback export), prompt versions side by side (prompts compare),
feedback summaries. The console, the CLI and the budgets read these; nothing here writes."""

from __future__ import annotations

import json
from typing import Any

from storage.database import Database


class TraceReports:
    """The read side of the trace store. `settle` waits for traces queued before the call to be
    committed (the store's writer thread), so a report includes what was answered before it."""

    database: Database

    def _settle(self) -> None:
        """Nothing to wait for by default (a store with a write queue overrides this)."""

    def spend(self, *, since: float | None = None, project: str | None = None) -> list[dict]:
        """Cost and requests per UTC day, project and user (the API key's), newest day first."""
        self._settle()
        where, args = where_clause(since, project=project)
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
        where, args = where_clause(since, project=project)
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
        where, args = where_clause(since, project=project, outcome="blocked")
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
        where, args = where_clause(since, project=project)
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
        where, args = where_clause(since, **{"t.project": project})
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
        where, args = where_clause(since, project=project)
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
                f"JOIN traces t USING (trace_id) WHERE {qualified(where)}",
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
        where, args = where_clause(None, **{"t.project": project})
        sql = (
            "SELECT t.prompt_version AS prompt_version, COUNT(*) AS scores, "
            "AVG(f.score) AS mean_score FROM feedback f JOIN traces t USING (trace_id) "
            f"WHERE {where} GROUP BY t.prompt_version ORDER BY t.prompt_version"
        )
        with self.database.connect() as db:
            return db.execute(sql, args).fetchall()

    def kpi_rows(self, *, since: float, project: str | None = None, limit: int = 20_000) -> list:
        """The newest `limit` traces since a time, as the KPIs read them (reports/kpis.py)."""
        self._settle()
        where, args = where_clause(since, project=project)
        sql = (
            f"SELECT outcome, latency_ms, body FROM traces WHERE {where} "
            "ORDER BY created DESC LIMIT ?"
        )
        with self.database.connect() as db:
            return db.execute(sql, (*args, limit)).fetchall()


def qualified(where: str) -> str:
    """A `where_clause` for a query that joins traces `t` to feedback."""
    for column in ("created", "project", "prompt_version"):
        where = where.replace(f"{column} ", f"t.{column} ")
    return where


def where_clause(since: float | None, **equal: str | None) -> tuple[str, list[Any]]:
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
