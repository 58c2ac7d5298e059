"""Where LangGraph checkpoints named threads: DATA_DIR/checkpoints.sqlite, or the replicas'
Postgres (RAILYARD_DATABASE_URL) through `langgraph-checkpoint-postgres`, so any replica
continues any thread. Its tables are created on start by the saver's own `setup()` (its
migrations), under an advisory lock so replicas starting together do not race."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from langgraph.checkpoint.base import BaseCheckpointSaver

from serving.database import TIMEOUT_S, Database, SqliteDatabase, open_database
from serving.settings import Settings

FILENAME = "checkpoints.sqlite"


def checkpoint_database(settings: Settings) -> Database:
    """The database threads' retention records live in: the checkpoints' own."""
    return open_database(settings, FILENAME)


@contextlib.asynccontextmanager
async def checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver]:
    if not settings.database_url:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = SqliteDatabase(settings.data_dir / FILENAME).path
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            yield saver
        return

    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg import AsyncConnection
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    url = settings.database_url.get_secret_value()
    # What the saver asks of its connections (autocommit: its migrations create indexes
    # CONCURRENTLY; no prepared statements, which poolers such as PgBouncer cannot keep).
    options = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    async with AsyncConnectionPool(
        url, min_size=1, max_size=8, timeout=TIMEOUT_S, kwargs=options, open=False
    ) as pool:
        saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
        async with await AsyncConnection.connect(url, autocommit=True) as lock:
            await lock.execute("SELECT pg_advisory_lock(hashtext('railyard_checkpoints'))")
            await saver.setup()
        yield saver
