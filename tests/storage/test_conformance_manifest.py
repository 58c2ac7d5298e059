"""The ingestion manifest's contract (what is indexed, the commit point, leftovers of a crashed
run, the run history), on either database: a SQLite file beside milvus-lite (a file written before
the tables were renamed is migrated in place), or the Postgres that replicas share."""

from __future__ import annotations

import sqlite3
import time
import uuid

import pytest

from ingest.manifest import DocRecord, Manifest
from storage.database import PostgresDatabase, SqliteDatabase
from tests.support.processes import new_database


def exercise(manifest: Manifest) -> None:
    root, now = f"/kb-{uuid.uuid4().hex[:6]}", time.time()
    before = manifest.index_version()
    manifest.mark_pending("run-1", ["a1", "a2", "b1"])
    assert set(manifest.leftovers()) >= {"a1", "a2", "b1"}
    a, b = DocRecord(root, "a.md", "h1", ["a1", "a2"]), DocRecord(root, "b.md", "h2", ["b1"])
    version = manifest.commit(
        "run-1", [(a, "A", ["x"]), (b, "B", [])], [], [], {"added": 2}, "minilm", now, "p1"
    )
    assert version == before + 1 and manifest.index_version() == version
    assert manifest.meta("pipeline") == "p1"
    assert set(manifest.documents(root)) == {(root, "a.md"), (root, "b.md")}
    assert {"a1", "a2", "b1"} <= manifest.live_chunk_ids()
    # The next run replaces a.md and deletes b.md: the replaced rows are garbage until removed.
    a2 = DocRecord(root, "a.md", "h3", ["a3"])
    replaced = ["a1", "a2", "b1"]
    manifest.commit("run-2", [(a2, "A", [])], [b], replaced, {}, "minilm", now + 1, "p1")
    assert manifest.documents(root) == {(root, "a.md"): a2}
    assert {"a1", "a2", "b1"} <= set(manifest.leftovers())
    manifest.clear_leftovers()
    assert manifest.leftovers() == []
    runs = manifest.runs(2)
    assert [r["run_id"] for r in runs] == ["run-2", "run-1"]
    assert runs[1]["summary"] == {"added": 2} and runs[0]["index_version"] == version + 1


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return SqliteDatabase(tmp_path / "manifest.sqlite")
    return PostgresDatabase(new_database(request.getfixturevalue("database_url"), "manifest"))


def test_runs_commit_documents_and_leave_their_leftovers_until_cleared(database):
    manifest = Manifest(database)
    try:
        exercise(manifest)
    finally:
        manifest.close()


def test_a_manifest_written_before_migrations_is_migrated_in_place(tmp_path):
    path = tmp_path / "manifest.sqlite"
    with sqlite3.connect(path) as db:  # the schema railyard wrote before, with one document
        db.executescript(
            "CREATE TABLE documents (root TEXT NOT NULL, source TEXT NOT NULL, content_hash "
            "TEXT NOT NULL, chunk_ids TEXT NOT NULL, title TEXT, run_id TEXT, updated_at REAL, "
            "terms TEXT, PRIMARY KEY (root, source)); CREATE TABLE runs (run_id TEXT PRIMARY "
            "KEY, started_at REAL, finished_at REAL, status TEXT, embedding_model TEXT, "
            "index_version INTEGER, summary TEXT); CREATE TABLE pending (run_id TEXT, chunk_ids "
            "TEXT); CREATE TABLE garbage (chunk_ids TEXT); CREATE TABLE meta (key TEXT PRIMARY "
            "KEY, value TEXT); INSERT INTO documents VALUES ('/kb', 'a.md', 'h', '[\"c1\"]', "
            "'A', 'r', 1.0, '[]'); INSERT INTO meta VALUES ('index_version', '7');"
        )
    manifest = Manifest(SqliteDatabase(path))
    assert manifest.index_version() == 7
    assert manifest.documents() == {("/kb", "a.md"): DocRecord("/kb", "a.md", "h", ["c1"])}
    exercise(manifest)


def test_a_second_replicas_view_reads_the_same_commit_point(database_url):
    url = new_database(database_url, "manifest")
    manifest = Manifest(PostgresDatabase(url))
    try:
        exercise(manifest)
        other = Manifest(PostgresDatabase(url))
        assert other.index_version() == manifest.index_version()
        assert other.live_chunk_ids() == manifest.live_chunk_ids()
        other.close()
    finally:
        manifest.close()
