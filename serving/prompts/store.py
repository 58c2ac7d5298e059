"""The recorded rollouts, in the gateway's database (DATA_DIR/traces.sqlite or the replicas'
shared Postgres): every change of which prompt versions serve, who made it and why. The newest
is what every replica serves."""

from __future__ import annotations

import getpass
import json
import time
import uuid
from typing import Any

from serving.database import Database
from serving.prompts.rollout import Rollout
from storage import migrations


class RolloutStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        database.migrate("prompt_rollouts", migrations.PROMPT_ROLLOUTS)

    def record(
        self, action: str, rollout: Rollout, *, note: str = "", actor: str | None = None
    ) -> dict[str, Any]:
        row = {
            "rollout_id": uuid.uuid4().hex[:12],
            "created": time.time(),
            "action": action,
            "shares": json.dumps(rollout.shares),
            "actor": actor or _whoami(),
            "note": note,
        }
        with self.database.connect() as db:
            db.execute(
                "INSERT INTO prompt_rollouts (rollout_id, created, action, shares, actor, note) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                tuple(row.values()),
            )
        return _decoded(row)

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest first: {rollout_id, created, action, rollout, actor, note}."""
        with self.database.connect() as db:
            rows = db.execute(
                "SELECT * FROM prompt_rollouts ORDER BY created DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_decoded(row) for row in rows]

    def current(self) -> Rollout | None:
        """The newest recorded rollout; None when none was ever recorded."""
        newest = self.history(limit=1)
        return newest[0]["rollout"] if newest else None


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    shares = [(version, share) for version, share in json.loads(row["shares"])]
    return {k: v for k, v in row.items() if k != "shares"} | {"rollout": Rollout.of(shares)}


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in a container without one
        return "unknown"
