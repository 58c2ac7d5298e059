"""`railyard drift`: unanswered and refused shares, the shift of the questions, and clusters of
unanswered questions, recent window against a baseline window (serving/observability/drift.py);
posts an alert to RAILYARD_ALERT_WEBHOOK_URL past the thresholds given."""

from __future__ import annotations

import json
import re
import sys
import time

from serving.commands.traces import UNITS, open_store, shown


def duration(text: str) -> float:
    """`90s`, `15m`, `2h`, `7d` -> seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if not match:
        raise ValueError(f"expected a duration such as 15m, 2h or 7d, not {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def register(commands) -> None:
    drift = commands.add_parser(
        "drift", help="what users ask that the documents do not answer, and how it changes"
    )
    drift.set_defaults(handler=run)
    drift.add_argument("--recent", default="1d", help="the recent window (default 1d)")
    drift.add_argument("--baseline", default="7d", help="the window before it (default 7d)")
    drift.add_argument(
        "--split-at", type=float, help="epoch seconds where the recent window starts (default: "
        "now minus --recent)",
    )  # fmt: skip
    drift.add_argument("--project")
    drift.add_argument(
        "--max-unanswered-rise", type=float,
        help="alert when the unanswered share rises by more than this (e.g. 0.1)",
    )  # fmt: skip
    drift.add_argument(
        "--max-shift", type=float,
        help="alert when the mean question moves by more than this cosine distance (e.g. 0.15)",
    )  # fmt: skip
    drift.add_argument("--json", action="store_true")


def run(settings, args) -> int:
    from serving.observability.drift import drift_report

    try:
        recent_s, baseline_s = duration(args.recent), duration(args.baseline)
    except ValueError as e:
        print(f"railyard drift: {e}", file=sys.stderr)
        return 2
    now = time.time()
    split = args.split_at if args.split_at is not None else now - recent_s
    store = open_store(settings, "drift")
    if store is None:
        return 2
    try:
        baseline = store.questions(since=split - baseline_s, until=split, project=args.project)
        recent = store.questions(since=split, until=now + 1, project=args.project)
    finally:
        store.close()
    from ingest.embedder import MiniLMEmbedder

    report = drift_report(
        baseline, recent, MiniLMEmbedder().embed,
        max_unanswered_rise=args.max_unanswered_rise, max_shift=args.max_shift,
    )  # fmt: skip
    _alert(settings, report["alerts"])
    _print(report, stderr=args.json)
    if args.json:
        print(json.dumps(report))
    return 0


def _alert(settings, alerts: list[dict]) -> None:
    from serving.observability.alerts import post_alert

    for alert in alerts:
        post_alert(settings.alert_webhook_url, shape=settings.alert_webhook_format, **alert)


def _print(report: dict, stderr: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=stderr)
    table = Table(title="drift: baseline vs recent")
    for column in ("window", "requests", "unanswered", "refused"):
        table.add_column(column, justify="right" if column != "window" else "left")
    for window in ("baseline", "recent"):
        row = report[window]
        shares = [
            "-" if row[k] is None else f"{row[k]:.0%}"
            for k in ("unanswered_share", "refused_share")
        ]
        table.add_row(window, str(row["requests"]), *shares)
    console.print(table)
    shift = report["shift"]
    if shift["centroid_distance"] is not None:
        console.print(
            f"question shift: centroid distance {shift['centroid_distance']:.3f}, "
            f"{shift['novel_share']:.0%} of recent questions on topics the baseline never asked"
        )
    clusters = Table(title="recent unanswered questions, grouped")
    clusters.add_column("size", justify="right")
    clusters.add_column("examples")
    for cluster in report["unanswered_clusters"][:10]:
        clusters.add_row(str(cluster["size"]), shown(" | ".join(cluster["examples"])))
    console.print(clusters)
    for alert in report["alerts"]:
        console.print("[bold red]alert[/]", shown(f"{alert['kind']}: {alert['message']}"))
