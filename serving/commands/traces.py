"""`railyard traces list|show|feedback|spend`: read the trace store (DATA_DIR/traces.sqlite), also
while the server is writing to it."""

from __future__ import annotations

import json
import re
import sys
import time
import unicodedata
from datetime import UTC, datetime

from serving.database import open_database
from serving.observability.store import TraceStore

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SINCE_HELP = "only traces of the last 15m, 2h, 7d, ..., or since an ISO 8601 time or epoch seconds"


def parse_since(text: str) -> float:
    """`90s`, `15m`, `2h`, `7d` (that long ago), an ISO 8601 time (`2026-12-03T09:00Z`, UTC
    unless it says otherwise) or epoch seconds (`1796258201.7`) -> an epoch time."""
    text = text.strip()
    if match := re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text):
        return time.time() - float(match.group(1)) * UNITS[match.group(2)]
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since takes a duration (15m, 2h, 7d), an ISO 8601 time or epoch seconds, "
            f"not {text!r}"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def open_store(settings, command: str) -> TraceStore | None:
    """The trace store the server writes (its SQLite file or the shared Postgres); None, with
    the reason printed, when there is none."""
    path = settings.data_dir / "traces.sqlite"
    if not settings.database_url and not path.exists():
        print(f"railyard {command}: no trace store at {path}", file=sys.stderr)
        return None
    return TraceStore(open_database(settings, path.name), settings.trace_retention_days)


def register(commands) -> None:
    traces = commands.add_parser("traces", help="read request traces")
    traces.set_defaults(handler=run)
    sub = traces.add_subparsers(dest="traces_command", required=True)
    listing = sub.add_parser("list", help="traces, newest first")
    listing.add_argument("--since", help=SINCE_HELP)
    listing.add_argument("--project")
    listing.add_argument("--route", choices=["local", "fallback", "cache", "blocked"])
    listing.add_argument(
        "--outcome",
        choices=[
            "selected",
            "generated",
            "extractive",
            "no_context",
            "refused",
            "blocked",
            "abandoned",
        ],
    )
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="one trace, as JSON")
    show.add_argument("trace_id")
    feedback = sub.add_parser("feedback", help="feedback per prompt version")
    feedback.add_argument("--json", action="store_true")
    spend = sub.add_parser("spend", help="cost per day, project and user")
    spend.add_argument("--days", type=float, default=7)
    spend.add_argument("--project")
    spend.add_argument("--json", action="store_true")


def run(settings, args) -> int:
    from rich.console import Console
    from rich.table import Table

    store = open_store(settings, "traces")
    if store is None:
        return 2
    try:
        if args.traces_command == "show":
            trace = store.get(args.trace_id)
            if trace is None:
                print(f"railyard traces: no trace {args.trace_id}", file=sys.stderr)
                return 1
            print(json.dumps(trace, indent=2))
            return 0
        if args.traces_command == "feedback":
            rows = store.feedback_summary()
            title, columns = (
                "feedback per prompt version",
                ["prompt_version", "scores", "mean_score"],
            )
        elif args.traces_command == "spend":
            since = time.time() - args.days * UNITS["d"]
            rows = store.spend(since=since, project=args.project)
            title = f"spend per day, project and user (last {args.days:g} days)"
            columns = ["day", "project", "user", "requests", "fallback_requests", "cost_usd"]
        else:
            try:
                since = parse_since(args.since) if args.since else None
            except ValueError as e:
                print(f"railyard traces: {e}", file=sys.stderr)
                return 2
            rows = store.search(
                since=since, project=args.project, route=args.route, outcome=args.outcome,
                limit=args.limit,
            )  # fmt: skip
            title = "traces, newest first"
            columns = ["trace_id", "created", "project", "route", "outcome", "latency_ms",
                       "cost_usd", "prompt_version"]  # fmt: skip
        if args.json:
            print(json.dumps(rows))
            return 0
        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(_cell(column, row.get(column)) for column in columns))
        Console().print(table)
        return 0
    finally:
        store.close()


def shown(text: str):
    """User text (a question, a `user` field) as a terminal cell: a rich `Text`, so "[red]" is
    not markup, with control characters (escape sequences, carriage returns) made visible."""
    from rich.text import Text

    visible = "".join(
        c if unicodedata.category(c) != "Cc" or c == "\t" else f"\\x{ord(c):02x}" for c in text
    )
    return Text(visible)


def _cell(column: str, value):
    if value is None:
        return "-"
    if column == "created":
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")
    if column == "cost_usd":
        return f"{value:.8f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return shown(str(value))
