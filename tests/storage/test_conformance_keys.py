"""The API keys' contract, run against every place keys can live: the YAML file
(RAILYARD_API_KEYS_FILE), and the table replicas share (RAILYARD_API_KEYS_DATABASE) on SQLite and
on PostgreSQL. A key added is accepted with what it carries, a key revoked is refused, a project's
budget travels with its keys, and keys that cannot be read refuse every request."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.access.budgets import Budget
from serving.access.keys import DatabaseKeys, FileKeys, KeyStore, add_key
from serving.errors import KeysUnavailable, Unauthorized
from storage.database import PostgresDatabase, SqliteDatabase
from tests.support.processes import new_database


def bearer(key: str) -> str:
    return f"Bearer {key}"


@pytest.fixture(params=["file", "sqlite", "postgres"])
def keys(request, tmp_path: Path):
    """A key store and a way to break where its keys live (as a deleted file or a botched
    restore would)."""
    if request.param == "file":
        path = tmp_path / "keys.yaml"
        path.write_text("keys: []\n")
        yield KeyStore(FileKeys(path)), path.unlink
        return
    if request.param == "sqlite":
        database = SqliteDatabase(tmp_path / "keys.sqlite")
    else:
        database = PostgresDatabase(new_database(request.getfixturevalue("database_url"), "keys"))

    def drop() -> None:
        with database.connect() as db:
            db.execute("DROP TABLE railyard_api_keys")

    yield KeyStore(DatabaseKeys(database, refresh_s=0)), drop
    database.close()


def test_a_key_added_is_accepted_with_what_it_carries(keys):
    store, _ = keys
    key = add_key(store.source, "payroll", user="alice", rpm=30, tpm=900, usd_per_day=5.0)
    caller = store.authenticate(bearer(key))
    assert (caller.project, caller.user, caller.rpm, caller.tpm) == ("payroll", "alice", 30, 900)
    assert not caller.admin
    assert [s.name for s in caller.budgets] == [f"key:{caller.key_id}"]
    assert caller.budgets[0].budget.usd_per_day == 5.0
    with pytest.raises(Unauthorized):
        store.authenticate(bearer(key + "x"))
    with pytest.raises(Unauthorized):
        store.authenticate(key)  # no "Bearer"


def test_a_revoked_key_is_refused_and_the_others_still_work(keys):
    store, _ = keys
    kept, revoked = add_key(store.source, "a"), add_key(store.source, "b", admin=True)
    caller = store.authenticate(bearer(revoked))
    assert caller.admin
    assert store.source.revoke(caller.key_id) == 1
    assert store.source.revoke(caller.key_id) == 0
    with pytest.raises(Unauthorized):
        store.authenticate(bearer(revoked))
    assert store.authenticate(bearer(kept)).project == "a"


def test_a_projects_budget_applies_to_its_keys_until_removed(keys):
    store, _ = keys
    key = add_key(store.source, "payroll")
    store.source.set_project("payroll", Budget(usd_per_month=50, over_budget="local-only"))
    caller = store.authenticate(bearer(key))
    assert [s.name for s in caller.budgets] == ["project:payroll"]
    assert caller.budgets[0].budget.over_budget == "local-only"
    store.source.set_project("payroll", None)
    assert store.authenticate(bearer(key)).budgets == ()


def test_keys_that_cannot_be_read_refuse_every_request(keys):
    store, break_them = keys
    key = add_key(store.source, "payroll")
    assert store.authenticate(bearer(key)).project == "payroll"
    break_them()
    with pytest.raises(KeysUnavailable):
        store.authenticate(bearer(key))
    assert store.broken
