"""`railyard keys add|list`: API keys in RAILYARD_API_KEYS_FILE (hashes only; a new key is
printed once)."""

from __future__ import annotations

import sys
from pathlib import Path


def register(commands) -> None:
    keys = commands.add_parser("keys", help="API keys (hashed in RAILYARD_API_KEYS_FILE)")
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
    listing = sub.add_parser("list", help="keys by id (hash prefix) and project")
    for command in (add, listing):
        command.add_argument("--file", help="keys file (default RAILYARD_API_KEYS_FILE)")


def run(settings, args) -> int:
    from rich.console import Console
    from rich.table import Table

    from serving.access.keys import KeyFile, add_key

    path = Path(args.file) if args.file else settings.api_keys_file
    if path is None:
        print(
            "railyard keys: set RAILYARD_API_KEYS_FILE (or pass --file) to the keys file",
            file=sys.stderr,
        )
        return 2
    if args.keys_command == "add":
        key = add_key(
            path, args.project, args.user, args.rpm, args.tpm, args.admin,
            args.usd_per_day, args.usd_per_month, args.over_budget,
        )  # fmt: skip
        print(
            f"new key for project {args.project!r} (shown once; only its hash is kept):",
            file=sys.stderr,
        )
        print(key)
        return 0
    import yaml

    parsed = (
        KeyFile.model_validate(yaml.safe_load(path.read_text()) or {})
        if path.exists()
        else KeyFile()
    )
    table = Table(title=str(path))
    columns = ("key id", "project", "user", "rpm", "tpm", "admin", "$/day", "$/month", "over")
    for column in columns:
        table.add_column(column)
    for entry in parsed.keys:
        budget = entry.budget()
        table.add_row(
            entry.sha256[:12],
            entry.project,
            entry.user or "-",
            str(entry.rpm or "-"),
            str(entry.tpm or "-"),
            "yes" if entry.admin else "-",
            f"{entry.usd_per_day:g}" if entry.usd_per_day else "-",
            f"{entry.usd_per_month:g}" if entry.usd_per_month else "-",
            budget.over_budget if budget else "-",
        )
    Console().print(table)
    if parsed.projects:
        projects = Table(title="project budgets")
        for column in ("project", "$/day", "$/month", "over"):
            projects.add_column(column)
        for name, budget in parsed.projects.items():
            projects.add_row(
                name,
                f"{budget.usd_per_day:g}" if budget.usd_per_day else "-",
                f"{budget.usd_per_month:g}" if budget.usd_per_month else "-",
                budget.over_budget,
            )
        Console().print(projects)
    return 0
