"""Retention of conversation threads: each turn of a named thread is checkpointed by LangGraph
(DATA_DIR/checkpoints.sqlite, or the replicas' Postgres); this remembers when each thread was
last used, in the same database, and deletes threads unused for the retention period, through
the checkpointer's own `adelete_thread` (at start and at most once an hour, on a turn)."""

from __future__ import annotations

import asyncio
import time

from langgraph.checkpoint.base import BaseCheckpointSaver

from serving.database import Database
from storage import migrations

PRUNE_EVERY_S = 3600.0


class ThreadRetention:
    def __init__(
        self, database: Database, saver: BaseCheckpointSaver, retention_days: float
    ) -> None:
        self.database, self.saver = database, saver
        self.retention_s = retention_days * 86_400
        self._pruned_at = 0.0
        database.migrate("threads", migrations.THREADS)

    async def used(self, thread_id: str) -> None:
        """Record a turn of `thread_id`; prune old threads when an hour has passed."""
        await asyncio.to_thread(self._touch, thread_id, time.time())
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
            await self.prune()

    async def prune(self, now: float | None = None) -> list[str]:
        """Delete the threads unused for the retention period; their ids."""
        self._pruned_at = time.monotonic()
        cutoff = (now or time.time()) - self.retention_s
        stale = await asyncio.to_thread(self._stale, cutoff)
        for thread_id in stale:
            await self.saver.adelete_thread(thread_id)
        await asyncio.to_thread(self._forget, stale)
        return stale

    def _touch(self, thread_id: str, now: float) -> None:
        with self.database.connect() as db:
            db.execute(
                "INSERT INTO railyard_threads VALUES (?, ?) "
                "ON CONFLICT (thread_id) DO UPDATE SET used = excluded.used",
                (thread_id, now),
            )

    def _stale(self, cutoff: float) -> list[str]:
        with self.database.connect() as db:
            rows = db.execute("SELECT thread_id FROM railyard_threads WHERE used < ?", (cutoff,))
            return [r["thread_id"] for r in rows.fetchall()]

    def _forget(self, thread_ids: list[str]) -> None:
        with self.database.connect() as db:
            for thread_id in thread_ids:
                db.execute("DELETE FROM railyard_threads WHERE thread_id = ?", (thread_id,))
