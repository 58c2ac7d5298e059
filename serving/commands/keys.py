"""`railyard keys add|list|revoke|project`: API keys in RAILYARD_API_KEYS_FILE, or the database
(RAILYARD_API_KEYS_DATABASE); hashes only, a new key is printed once."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def register(commands) -> None:
    keys = commands.add_parser(
        "keys", help="API keys (hashed in RAILYARD_API_KEYS_FILE or the database)"
    )
    keys.set_defaults(handler=run)
    sub = keys.add_subparsers(dest="keys_command", required=True)
    add = sub.add_parser("add", help="create a key for a project; printed once")
    add.add_argument("--project", required=True)
    add.add_argument("--user")
    add.add_argument("--rpm", type=int, help="requests per minute for this key")
    add.add_argument("--tpm", type=int, help="tokens per minute for this key")
    add.add_argument(
        "--admin", action="store_true", help="may use /v1/admin/* (ingestion) and the API docs"
    )
    add.add_argument("--usd-per-day", type=float, help="this key's spend budget per UTC day")
    add.add_argument("--usd-per-month", type=float, help="its spend budget per UTC month")
    add.add_argument(
        "--over-budget", choices=("refuse", "local-only"), default="refuse",
        help="once spent: refuse (429 budget_exceeded) or answer with the local model only",
    )  # fmt: skip
    listing = sub.add_parser(
        "list", help="keys by id (hash prefix) and project, with budgets and what they spent"
    )
    listing.add_argument("--json", action="store_true")
    revoke = sub.add_parser("revoke", help="remove a key by its id (as `keys list` shows it)")
    revoke.add_argument("key_id")
    project = sub.add_parser(
        "project", help="set a project's budgets (across its keys); no amount removes them"
    )
    project.add_argument("project")
    project.add_argument("--usd-per-day", type=float)
    project.add_argument("--usd-per-month", type=float)
    project.add_argument("--over-budget", choices=("refuse", "local-only"), default="refuse")
    for command in (add, listing, revoke, project):
        command.add_argument(
            "--file", help="keys file (default RAILYARD_API_KEYS_FILE, or the database)"
        )


def run(settings, args) -> int:
    from serving.access.budgets import Budget
    from serving.access.keys import add_key, key_source

    source = key_source(settings, Path(args.file) if args.file else None)
    if source is None:
        print(
            "railyard keys: set RAILYARD_API_KEYS_FILE (or pass --file), or "
            "RAILYARD_API_KEYS_DATABASE=true",
            file=sys.stderr,
        )
        return 2
    if args.keys_command == "add":
        key = add_key(
            source, args.project, args.user, args.rpm, args.tpm, args.admin,
            args.usd_per_day, args.usd_per_month, args.over_budget,
        )  # fmt: skip
        print(
            f"new key for project {args.project!r} (shown once; only its hash is kept):",
            file=sys.stderr,
        )
        print(key)
        return 0
    if args.keys_command == "revoke":
        # An id is a hex prefix of the key's sha256 (as `keys list` shows it): anything else,
        # e.g. a LIKE wildcard, must not match other keys.
        if not re.fullmatch(r"[0-9a-f]{8,64}", args.key_id):
            print(
                "railyard keys: give the key id as `keys list` shows it (8+ hex characters)",
                file=sys.stderr,
            )
            return 2
        removed = source.revoke(args.key_id)
        print(f"revoked {removed} key(s) with id {args.key_id}", file=sys.stderr)
        return 0 if removed else 1
    if args.keys_command == "project":
        amounts = (args.usd_per_day, args.usd_per_month)
        budget = (
            Budget(usd_per_day=amounts[0], usd_per_month=amounts[1], over_budget=args.over_budget)
            if any(a is not None for a in amounts)
            else None
        )
        source.set_project(args.project, budget)
        return 0
    return _list(settings, source, args.json)


def _list(settings, source, as_json: bool) -> int:
    """`keys list`: every key and project with what it spent today and this month."""
    from rich.console import Console
    from rich.table import Table

    from serving.access.keys import KeyFile, KeysBroken

    try:
        parsed = source.read() or KeyFile()
    except KeysBroken as e:
        if "does not exist" not in str(e):
            raise
        parsed = KeyFile()
    rows = _rows(parsed, _spend(settings))
    if as_json:
        print(json.dumps(rows))
        return 0
    table = Table(title=f"{source} (spent / budget, USD)")
    for column in ("id", "project", "user", "admin", "rpm/tpm", "today", "month", "over"):
        table.add_column(column)

    def spent(row: dict, period: str) -> str:
        budget = row[f"usd_per_{period}"]
        used = row["spent_today_usd" if period == "day" else "spent_month_usd"]
        return f"{used:.2f} / {budget:g}" if budget else f"{used:.2f}"

    for row in rows:
        limits = f"{row['rpm'] or '-'}/{row['tpm'] or '-'}" if row["kind"] == "key" else ""
        table.add_row(
            row["id"] if row["kind"] == "key" else "(project)", row["project"],
            row["user"] or "", "yes" if row["admin"] else "", limits,
            spent(row, "day"), spent(row, "month"), row["over_budget"] or "",
        )  # fmt: skip
    Console().print(table)
    return 0


def _spend(settings):
    """What the budgets have spent, counted where the gateway counts it; the period ids."""
    import time

    from serving.access.budgets import MemoryLedger, RedisLedger, ledger_for, period_ids
    from serving.database import open_database
    from serving.observability.store import TraceStore

    ids = period_ids(time.time())
    if settings.redis_url:
        return RedisLedger(settings.redis_url), ids
    if not settings.database_url and not (settings.data_dir / "traces.sqlite").exists():
        return MemoryLedger(), ids
    store = TraceStore(open_database(settings, "traces.sqlite"), settings.trace_retention_days)
    try:
        return ledger_for(None, lambda since: store.spend_by_caller(since=since)), ids
    finally:
        store.close()


def _rows(parsed, spend) -> list[dict]:
    ledger, ids = spend

    def spent(scope: str) -> dict:
        return {
            "spent_today_usd": round(ledger.spent(scope, ids["day"]), 6),
            "spent_month_usd": round(ledger.spent(scope, ids["month"]), 6),
        }

    rows = []
    for entry in parsed.keys:
        budget = entry.budget()
        rows.append(
            {
                "kind": "key", "id": entry.sha256[:12], "project": entry.project,
                "user": entry.user, "rpm": entry.rpm, "tpm": entry.tpm, "admin": entry.admin,
                "usd_per_day": entry.usd_per_day, "usd_per_month": entry.usd_per_month,
                "over_budget": budget.over_budget if budget else None,
                **spent(f"key:{entry.sha256[:12]}"),
            }
        )  # fmt: skip
    for name, budget in parsed.projects.items():
        rows.append(
            {
                "kind": "project", "id": name, "project": name, "user": None, "rpm": None,
                "tpm": None, "admin": None, "usd_per_day": budget.usd_per_day,
                "usd_per_month": budget.usd_per_month, "over_budget": budget.over_budget,
                **spent(f"project:{name}"),
            }
        )  # fmt: skip
    return rows
