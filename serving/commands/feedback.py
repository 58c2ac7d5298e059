"""`railyard feedback export --format preference|sft`: user feedback as training data, JSONL in
the layouts TRL's DPO and SFT trainers read (serving/observability/export.py), PII masked."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from serving.commands.traces import SINCE_HELP, open_store, parse_since


def register(commands) -> None:
    feedback = commands.add_parser("feedback", help="user feedback as training data")
    feedback.set_defaults(handler=run)
    sub = feedback.add_subparsers(dest="feedback_command", required=True)
    export = sub.add_parser(
        "export", help="rated answers as JSONL: preference pairs (DPO) or SFT conversations"
    )
    export.add_argument("--format", choices=["preference", "sft"], required=True)
    export.add_argument("--out", help="file to write (default: stdout)")
    export.add_argument("--since", help=SINCE_HELP)
    scope = export.add_mutually_exclusive_group(required=True)
    scope.add_argument("--project", help="the project whose rated answers to export")
    scope.add_argument(
        "--all-projects", action="store_true",
        help="every project's (training data mixes their users' questions: say so on purpose)",
    )  # fmt: skip
    export.add_argument(
        "--metadata", action="store_true", help="add trace ids, scores and prompt versions"
    )


def run(settings, args) -> int:
    from serving.observability.export import preference_pairs, presidio_masker, sft_rows

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as e:
        print(f"railyard feedback: {e}", file=sys.stderr)
        return 2
    store = open_store(settings, "feedback")
    if store is None:
        return 2
    try:
        traces = store.rated(since=since, project=args.project)
    finally:
        store.close()
    build = preference_pairs if args.format == "preference" else sft_rows
    rows = build(traces, presidio_masker(), metadata=args.metadata)
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if args.out:
        Path(args.out).write_text(lines)
    else:
        sys.stdout.write(lines)
    without = sum(1 for t in traces if not (t.get("content") or {}).get("question"))
    note = f" ({without} without question text: blocked, or trace content off)" if without else ""
    print(
        f"railyard feedback: {len(rows)} {args.format} rows from {len(traces)} rated traces{note}",
        file=sys.stderr,
    )
    return 0
