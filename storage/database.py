"""Where railyard keeps its records: a SQLite file in the data dir by default, or the Postgres
that gateway replicas share (RAILYARD_DATABASE_URL=postgresql://...). The lowest layer: the
gateway's stores and the ingestion manifest both use it.

The SQL is written once, in what both speak (`ON CONFLICT` upserts, `CASE`, double-quoted
names, `?` placeholders, which are rewritten for psycopg); what differs is here. Each component
keeps numbered migrations, applied once and in order and recorded in `railyard_migrations`; on
Postgres under an advisory lock, so replicas starting together do not race. Rows are dicts."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

TIMEOUT_S = 10
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS railyard_migrations (component TEXT NOT NULL, "
    "version INTEGER NOT NULL, applied DOUBLE PRECISION NOT NULL, "
    "PRIMARY KEY (component, version))"
)


class Connection(Protocol):
    def execute(self, sql: str, args: Sequence[Any] = ...) -> Any: ...


class Database(Protocol):
    url: str

    def connect(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection in a transaction: committed when the block ends, rolled back on error."""
        ...

    def day(self, column: str) -> str:
        """SQL for the UTC day (YYYY-MM-DD) of an epoch-seconds column."""
        ...

    def migrate(self, component: str, migrations: Sequence[Sequence[str]]) -> None:
        """Apply `component`'s migrations not applied yet (each: a list of statements)."""
        ...

    def close(self) -> None: ...


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # the CLI reads while the server writes

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=TIMEOUT_S * 3)
        db.row_factory = _as_dict
        db.execute("PRAGMA foreign_keys=ON")
        try:
            with db:
                yield db
        finally:
            db.close()

    def day(self, column: str) -> str:
        return f"date({column}, 'unixepoch')"

    def migrate(self, component: str, migrations: Sequence[Sequence[str]]) -> None:
        with self.connect() as db:
            try:
                done = _applied(db, component)
            except sqlite3.OperationalError:  # no migrations table yet
                done = set()
        if done >= set(range(1, len(migrations) + 1)):
            return  # nothing to do: take no write lock (a reader, e.g. the CLI, beside a server)
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one process migrates at a time
            _apply(db, component, migrations)

    def close(self) -> None:
        pass


class PostgresDatabase:
    def __init__(self, url: str, max_connections: int = 8) -> None:
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.url = url
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            timeout=TIMEOUT_S,
            kwargs={
                "row_factory": dict_row,
                "connect_timeout": TIMEOUT_S,
                "options": f"-c statement_timeout={TIMEOUT_S * 1000}",
            },
            open=True,
        )
        self.pool.wait(timeout=TIMEOUT_S)

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.pool.connection() as conn:
            yield _Translating(conn)

    def day(self, column: str) -> str:
        return f"to_char(to_timestamp({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def migrate(self, component: str, migrations: Sequence[Sequence[str]]) -> None:
        with self.connect() as db:
            db.execute("SELECT pg_advisory_xact_lock(hashtext('railyard_migrations'))")
            _apply(db, component, migrations)

    def close(self) -> None:
        self.pool.close()


class _Translating:
    """A psycopg connection that takes `?` placeholders."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), args)


def _applied(db: Connection, component: str) -> set[int]:
    rows = db.execute("SELECT version FROM railyard_migrations WHERE component = ?", (component,))
    return {row["version"] for row in rows.fetchall()}


def _apply(db: Connection, component: str, migrations: Sequence[Sequence[str]]) -> None:
    db.execute(MIGRATIONS_TABLE)
    done = _applied(db, component)
    for version, statements in enumerate(migrations, start=1):
        if version in done:
            continue
        for statement in statements:
            db.execute(statement)
        db.execute(
            "INSERT INTO railyard_migrations VALUES (?, ?, ?)", (component, version, time.time())
        )


def _as_dict(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}
