"""User text printed by the CLI is shown, not obeyed (security review 2, low): a request's
`user` field with a terminal escape sequence and rich markup comes out of `railyard traces spend`
as visible characters."""

from __future__ import annotations

import subprocess
import time
import uuid

from serving.database import SqliteDatabase
from serving.observability.store import TraceStore
from tests.support.processes import BIN, clean_env

HOSTILE = "\x1b]0;owned\x07\x1b[2J[red]mallory[/red]"


def test_a_hostile_user_field_is_printed_as_text(tmp_path):
    store = TraceStore(SqliteDatabase(tmp_path / "traces.sqlite"))
    store.record({
        "trace_id": uuid.uuid4().hex, "created": time.time(), "project": "p", "user": HOSTILE,
        "route": "local", "outcome": "selected", "cost_usd": 0.0, "latency_ms": 1.0,
    })  # fmt: skip
    assert store.flush(10)
    store.close()
    result = subprocess.run(
        [str(BIN / "railyard"), "traces", "spend", "--days", "1"],
        env=clean_env(RAILYARD_DATA_DIR=str(tmp_path), COLUMNS="200", TERM="xterm"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "[red]mallory[/red]" in result.stdout  # markup shown, not applied
    assert "\\x1b]0;owned" in result.stdout
