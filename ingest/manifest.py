"""The manifest: which version of every document is live, and the lineage of every run.

It is the index's single commit point. A run writes its new chunk rows to Milvus first (they are
not live yet, and searches drop them), then commits the manifest in one SQLite transaction, then
deletes the rows it replaced. A run killed at any moment leaves the last committed version fully
searchable; rows it left behind are listed as pending or garbage and removed by the next run.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    root TEXT NOT NULL, source TEXT NOT NULL, content_hash TEXT NOT NULL,
    chunk_ids TEXT NOT NULL, title TEXT, run_id TEXT, updated_at REAL, terms TEXT,
    PRIMARY KEY (root, source));
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at REAL, finished_at REAL, status TEXT,
    embedding_model TEXT, index_version INTEGER, summary TEXT);
CREATE TABLE IF NOT EXISTS pending (run_id TEXT, chunk_ids TEXT);
CREATE TABLE IF NOT EXISTS garbage (chunk_ids TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


@dataclass(frozen=True)
class DocRecord:
    root: str
    source: str
    content_hash: str
    chunk_ids: list[str]


def _locked(method):
    """One connection is shared by the server's threads (requests and ingestion)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @_locked
    def index_version(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='index_version'").fetchone()
        return int(row[0]) if row else 0

    @_locked
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    @_locked
    def documents(self, root: str | None = None) -> dict[tuple[str, str], DocRecord]:
        query = "SELECT root, source, content_hash, chunk_ids FROM documents"
        rows = self.db.execute(query + (" WHERE root=?" if root else ""), (root,) if root else ())
        return {(r, s): DocRecord(r, s, h, json.loads(ids)) for r, s, h, ids in rows}

    def _union(self, query: str) -> set[str]:
        """The union of the JSON lists a one-column query returns."""
        items: set[str] = set()
        for (value,) in self.db.execute(query):
            items.update(json.loads(value))
        return items

    @_locked
    def live_chunk_ids(self) -> set[str]:
        return self._union("SELECT chunk_ids FROM documents")

    @_locked
    def mark_pending(self, run_id: str, chunk_ids: list[str]) -> None:
        """Recorded before rows are written, so a killed run's rows can be found and removed."""
        self.db.execute("INSERT INTO pending VALUES (?, ?)", (run_id, json.dumps(chunk_ids)))

    @_locked
    def leftovers(self) -> list[str]:
        """Rows written by runs that never committed, and rows replaced but not yet deleted."""
        written = self._union(
            "SELECT chunk_ids FROM pending UNION ALL SELECT chunk_ids FROM garbage"
        )
        return sorted(written - self.live_chunk_ids())

    @_locked
    def clear_leftovers(self) -> None:
        self.db.execute("DELETE FROM pending")
        self.db.execute("DELETE FROM garbage")

    @_locked
    def commit(
        self,
        run_id: str,
        upserts: list[tuple[DocRecord, str, list[str]]],
        deletes: list[DocRecord],
        replaced: list[str],
        summary: dict,
        embedding_model: str,
        started_at: float,
        pipeline: str = "",
    ) -> int:
        """Make this run's documents live, in one transaction; returns the new index version."""
        changed = bool(upserts or deletes)
        version = self.index_version() + (1 if changed else 0)
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for record, title, terms in upserts:
                self.db.execute(
                    "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.root, record.source, record.content_hash,
                     json.dumps(record.chunk_ids), title, run_id, now, json.dumps(terms)),
                )  # fmt: skip
            for record in deletes:
                self.db.execute(
                    "DELETE FROM documents WHERE root=? AND source=?", (record.root, record.source)
                )
            if replaced:
                self.db.execute("INSERT INTO garbage VALUES (?)", (json.dumps(replaced),))
            self.db.execute("DELETE FROM pending WHERE run_id=?", (run_id,))
            self.db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('index_version', ?)", (str(version),)
            )
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('pipeline', ?)", (pipeline,))
            self.db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, 'committed', ?, ?, ?)",
                (run_id, started_at, now, embedding_model, version, json.dumps(summary)),
            )
        return version

    @_locked
    def runs(self, limit: int = 20) -> list[dict]:
        rows = self.db.execute(
            "SELECT run_id, started_at, finished_at, status, embedding_model, index_version, "
            "summary FROM runs ORDER BY started_at DESC LIMIT ?",
            (limit,),
        )
        keys = ("run_id", "started_at", "finished_at", "status", "embedding_model",
                "index_version", "summary")  # fmt: skip
        return [dict(zip(keys, r, strict=True)) | {"summary": json.loads(r[6])} for r in rows]
