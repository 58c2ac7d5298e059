"""The gateway's database, from its settings (storage/database.py has the two backends)."""

from __future__ import annotations

from serving.settings import Settings
from storage.database import (  # noqa: F401  (re-exported: the gateway's stores import here)
    TIMEOUT_S,
    Connection,
    Database,
    PostgresDatabase,
    SqliteDatabase,
)


def open_database(settings: Settings, filename: str) -> Database:
    """The shared Postgres when RAILYARD_DATABASE_URL is set, else DATA_DIR/`filename`."""
    if settings.database_url:
        return PostgresDatabase(settings.database_url.get_secret_value())
    return SqliteDatabase(settings.data_dir / filename)
