"""The manifest: which version of every document is live, and the lineage of every run.

It is the index's single commit point. A run writes its new chunk rows to Milvus first (they are
not live yet, and searches drop them), then commits the manifest in one transaction, then
deletes the rows it replaced. A run killed at any moment leaves the last committed version fully
searchable; rows it left behind are listed as pending or garbage and removed by the next run.

It lives beside the vector store it describes: a SQLite file next to milvus-lite, or the
replicas' Postgres when they share a Milvus server.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from storage import migrations
from storage.database import Database


@dataclass(frozen=True)
class DocRecord:
    root: str
    source: str
    content_hash: str
    chunk_ids: list[str]


class Manifest:
    def __init__(self, database: Database) -> None:
        self.database = database
        database.migrate("manifest", migrations.MANIFEST)

    def close(self) -> None:
        self.database.close()

    def index_version(self) -> int:
        return int(self.meta("index_version") or 0)

    def meta(self, key: str) -> str | None:
        with self.database.connect() as db:
            row = db.execute("SELECT value FROM manifest_meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def documents(self, root: str | None = None) -> dict[tuple[str, str], DocRecord]:
        query = "SELECT root, source, content_hash, chunk_ids FROM manifest_documents"
        with self.database.connect() as db:
            rows = db.execute(
                query + (" WHERE root = ?" if root else ""), (root,) if root else ()
            ).fetchall()
        return {
            (r["root"], r["source"]): DocRecord(
                r["root"], r["source"], r["content_hash"], json.loads(r["chunk_ids"])
            )
            for r in rows
        }

    def _union(self, query: str) -> set[str]:
        """The union of the JSON lists a one-column query returns."""
        items: set[str] = set()
        with self.database.connect() as db:
            for row in db.execute(query).fetchall():
                items.update(json.loads(next(iter(row.values()))))
        return items

    def live_chunk_ids(self) -> set[str]:
        return self._union("SELECT chunk_ids FROM manifest_documents")

    def mark_pending(self, run_id: str, chunk_ids: list[str]) -> None:
        """Recorded before rows are written, so a killed run's rows can be found and removed."""
        with self.database.connect() as db:
            db.execute(
                "INSERT INTO manifest_pending VALUES (?, ?)", (run_id, json.dumps(chunk_ids))
            )

    def leftovers(self) -> list[str]:
        """Rows written by runs that never committed, and rows replaced but not yet deleted."""
        written = self._union(
            "SELECT chunk_ids FROM manifest_pending "
            "UNION ALL SELECT chunk_ids FROM manifest_garbage"
        )
        return sorted(written - self.live_chunk_ids())

    def clear_leftovers(self) -> None:
        with self.database.connect() as db:
            db.execute("DELETE FROM manifest_pending")
            db.execute("DELETE FROM manifest_garbage")

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
        """Make this run's documents live, in one transaction; returns the new index version.
        Runs are serialised by the ingestion lock, so the version read here is still the
        latest when it is written."""
        changed = bool(upserts or deletes)
        version = self.index_version() + (1 if changed else 0)
        now = time.time()
        with self.database.connect() as db:
            for record, title, terms in upserts:
                db.execute(
                    "INSERT INTO manifest_documents VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (root, source) DO UPDATE SET "
                    "content_hash = excluded.content_hash, chunk_ids = excluded.chunk_ids, "
                    "title = excluded.title, run_id = excluded.run_id, "
                    "updated_at = excluded.updated_at, "
                    "terms = excluded.terms",
                    (record.root, record.source, record.content_hash,
                     json.dumps(record.chunk_ids), title, run_id, now, json.dumps(terms)),
                )  # fmt: skip
            for record in deletes:
                db.execute(
                    "DELETE FROM manifest_documents WHERE root = ? AND source = ?",
                    (record.root, record.source),
                )
            if replaced:
                db.execute("INSERT INTO manifest_garbage VALUES (?)", (json.dumps(replaced),))
            db.execute("DELETE FROM manifest_pending WHERE run_id = ?", (run_id,))
            for key, value in (("index_version", str(version)), ("pipeline", pipeline)):
                db.execute(
                    "INSERT INTO manifest_meta VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
            db.execute(
                "INSERT INTO manifest_runs VALUES (?, ?, ?, 'committed', ?, ?, ?)",
                (run_id, started_at, now, embedding_model, version, json.dumps(summary)),
            )
        return version

    def record_evaluation(self, index_version: int, eval_set: str, figures: dict) -> None:
        with self.database.connect() as db:
            db.execute(
                "INSERT INTO manifest_evaluations VALUES (?, ?, ?, ?)",
                (index_version, time.time(), eval_set, json.dumps(figures)),
            )

    def evaluations(self, eval_set: str | None = None, limit: int = 50) -> list[dict]:
        """Recorded evaluations, newest first (of one eval set, when given)."""
        where, args = ("WHERE eval_set = ? ", (eval_set,)) if eval_set else ("", ())
        with self.database.connect() as db:
            rows = db.execute(
                "SELECT index_version, created, eval_set, figures FROM manifest_evaluations "
                f"{where}ORDER BY created DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [row | {"figures": json.loads(row["figures"])} for row in rows]

    def runs(self, limit: int = 20) -> list[dict]:
        with self.database.connect() as db:
            rows = db.execute(
                "SELECT run_id, started_at, finished_at, status, embedding_model, index_version, "
                "summary FROM manifest_runs ORDER BY started_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [row | {"summary": json.loads(row["summary"])} for row in rows]
