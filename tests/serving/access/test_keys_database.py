"""API keys in the database replicas share (RAILYARD_API_KEYS_DATABASE, issue 16): a key added
or revoked through one replica's view counts on the other's within a second, project budgets
travel with them, and `railyard keys` adds, lists, revokes and sets budgets there. What every
key source must do is tests/storage/test_conformance_keys.py."""

from __future__ import annotations

import json
import time

import pytest

from serving.access.budgets import Budget
from serving.access.keys import DatabaseKeys, KeyStore, add_key
from serving.errors import Unauthorized
from storage.database import PostgresDatabase, SqliteDatabase
from tests.support.processes import new_database


def bearer(key: str) -> str:
    return f"Bearer {key}"


def test_a_key_added_or_revoked_on_one_replica_counts_on_the_other(database_url):
    url = new_database(database_url, "keys")
    one = KeyStore(DatabaseKeys(PostgresDatabase(url), refresh_s=0.2))
    two_source = DatabaseKeys(PostgresDatabase(url), refresh_s=0.2)
    two = KeyStore(two_source)
    key = add_key(one.source, "payroll", user="alice", rpm=30, usd_per_day=5.0)
    one.source.set_project("payroll", Budget(usd_per_month=50, over_budget="local-only"))
    time.sleep(0.3)
    caller = two.authenticate(bearer(key))
    assert (caller.project, caller.user, caller.rpm) == ("payroll", "alice", 30)
    assert [s.name for s in caller.budgets] == [f"key:{caller.key_id}", "project:payroll"]
    assert caller.budgets[1].budget.over_budget == "local-only"
    assert two_source.revoke(caller.key_id) == 1
    time.sleep(0.3)
    with pytest.raises(Unauthorized):
        one.authenticate(bearer(key))


def test_keys_commands_write_the_database(tmp_path, monkeypatch, capsys):
    from serving.cli import main

    monkeypatch.setenv("RAILYARD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RAILYARD_API_KEYS_DATABASE", "true")
    monkeypatch.delenv("RAILYARD_DATABASE_URL", raising=False)
    assert main(["keys", "add", "--project", "ops", "--admin"]) == 0
    key = capsys.readouterr().out.strip()
    assert main(["keys", "project", "ops", "--usd-per-day", "3"]) == 0
    assert main(["keys", "list", "--json"]) == 0
    listed, project = json.loads(capsys.readouterr().out)
    assert (listed["project"], listed["admin"]) == ("ops", True)
    assert (project["kind"], project["usd_per_day"]) == ("project", 3.0)
    store = KeyStore(DatabaseKeys(SqliteDatabase(tmp_path / "keys.sqlite")))
    assert store.authenticate(bearer(key)).admin
    assert main(["keys", "revoke", "%%%%%%%%"]) == 2  # no wildcard reaches the query
    assert KeyStore(DatabaseKeys(SqliteDatabase(tmp_path / "keys.sqlite"))).authenticate(
        bearer(key)
    )
    assert main(["keys", "revoke", listed["id"]]) == 0
    with pytest.raises(Unauthorized):
        KeyStore(DatabaseKeys(SqliteDatabase(tmp_path / "keys.sqlite"))).authenticate(bearer(key))
