"""`railyard prompts list|rollout|promote|rollback|history|compare`: which released prompt
versions serve and with what share, changed in one command and recorded (every replica follows
within RAILYARD_PROMPT_REFRESH_S); two versions compared from their traces, with a verdict."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from serving.commands.traces import SINCE_HELP, open_store, parse_since
from serving.database import open_database


def register(commands) -> None:
    prompts = commands.add_parser(
        "prompts", help="prompt versions: canary, A/B, promote, roll back"
    )
    prompts.set_defaults(handler=run)
    sub = prompts.add_subparsers(dest="prompts_command", required=True)
    listing = sub.add_parser("list", help="the released versions and what serves now")
    listing.add_argument("--json", action="store_true")
    rollout = sub.add_parser("rollout", help="serve versions with shares (a canary, an A/B test)")
    rollout.add_argument("shares", nargs="+", help="VERSION=PERCENT, e.g. answer@v2=90 v3=10")
    promote = sub.add_parser("promote", help="serve one version to everyone")
    promote.add_argument("version")
    rollback = sub.add_parser(
        "rollback", help="serve the last version that served alone before (or --to VERSION)"
    )
    rollback.add_argument("--to", help="the version to serve alone")
    for command in (rollout, promote, rollback):
        command.add_argument("--note", default="", help="why (kept in the history)")
    history = sub.add_parser("history", help="recorded rollouts, newest first")
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--json", action="store_true")
    compare = sub.add_parser("compare", help="a baseline and a candidate, from their traces")
    compare.add_argument("baseline", help="e.g. answer@v2 (or v2)")
    compare.add_argument("candidate", help="e.g. answer@v3 (or v3)")
    compare.add_argument("--since", help=SINCE_HELP)
    compare.add_argument("--project")
    compare.add_argument(
        "--eval", action="append", default=[], metavar="REPORT",
        help="a `railyard eval --json` report (JSON); answer match per version from the "
        "reports whose prompt_version is one of the two (repeat)",
    )  # fmt: skip
    compare.add_argument(
        "--margin",
        type=float,
        default=0.05,
        help="how much worse (share) still counts as not worse (0.05)",
    )
    compare.add_argument(
        "--min-rated",
        type=int,
        default=30,
        help="ratings each version needs before a promotion (30)",
    )
    compare.add_argument("--max-cost-rise", type=float, default=0.10)
    compare.add_argument("--max-latency-rise", type=float, default=0.20)
    compare.add_argument("--json", action="store_true")  # fmt: skip


def run(settings, args) -> int:
    from graph.prompt import Prompt, released
    from serving.prompts import Rollout, RolloutStore
    from serving.prompts.served import check

    versions = released(settings.prompt_file)
    prompt_id = Prompt.load(settings.prompt_file).id

    def named(version: str) -> str:
        return version if "@" in version else f"{prompt_id}@{version}"

    configured = (
        Rollout.parse(settings.prompt_rollout)
        if settings.prompt_rollout.strip()
        else Rollout.single(Prompt.load(settings.prompt_file).version_id)
    )
    if args.prompts_command == "compare":
        return _compare(settings, args, named(args.baseline), named(args.candidate), versions)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(settings, "traces.sqlite")
    try:
        store = RolloutStore(database)
        recorded = store.history(limit=200)
        current = recorded[0]["rollout"] if recorded else configured
        if args.prompts_command == "list":
            return _list(versions, current, "recorded" if recorded else "configured", args.json)
        if args.prompts_command == "history":
            return _history(recorded[: args.limit], args.json)
        try:
            if args.prompts_command == "rollout":
                rollout = Rollout.parse([_named_part(p, named) for p in args.shares])
            elif args.prompts_command == "promote":
                rollout = Rollout.single(named(args.version))
            else:
                target = named(args.to) if args.to else _last_alone(recorded, configured)
                rollout = Rollout.single(target)
            check(rollout, versions)
        except ValueError as e:
            print(f"railyard prompts: {e}", file=sys.stderr)
            return 2
        row = store.record(args.prompts_command, rollout, note=args.note)
        print(
            f"railyard prompts: {args.prompts_command} recorded ({row['rollout_id']}): "
            f"{rollout} (was {current}); gateways follow within "
            f"{settings.prompt_refresh_s:g} s",
            file=sys.stderr,
        )
        return 0
    finally:
        database.close()


def _named_part(part: str, named) -> str:
    version, sep, share = part.partition("=")
    return f"{named(version.strip())}={share}" if sep else part


def _last_alone(recorded: list[dict], configured) -> str:
    """The newest version that served alone before the current rollout, else the configured
    rollout's first version (the baseline a canary started from)."""
    current = recorded[0]["rollout"] if recorded else configured
    for row in recorded[1:]:
        rollout = row["rollout"]
        if len(rollout.versions) == 1 and rollout != current:
            return rollout.versions[0]
    return configured.versions[0]


def _list(versions: dict, current, source: str, as_json: bool) -> int:
    shares = current.as_dict()
    rows = [
        {"version": v, "content_hash": p.content_hash, "share": shares.get(v, 0.0)}
        for v, p in sorted(versions.items(), key=lambda item: item[1].version)
    ]
    if as_json:
        print(json.dumps({"versions": rows, "rollout": shares, "source": source}))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"prompt versions (rollout {source}: {current})")
    for column in ("version", "content_hash", "share"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["version"], row["content_hash"], f"{row['share']:g} %")
    Console().print(table)
    return 0


def _history(rows: list[dict], as_json: bool) -> int:
    plain = [{k: v for k, v in r.items() if k != "rollout"} | {"rollout": r["rollout"].as_dict()}
             for r in rows]  # fmt: skip
    if as_json:
        print(json.dumps(plain))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="prompt rollouts, newest first")
    for column in ("created", "action", "rollout", "actor", "note"):
        table.add_column(column)
    for row in rows:
        when = datetime.fromtimestamp(row["created"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(when, row["action"], str(row["rollout"]), row["actor"], row["note"] or "")
    Console().print(table)
    return 0


def _compare(settings, args, baseline: str, candidate: str, versions: dict) -> int:
    from serving.prompts.compare import Share, VersionFigures, compare

    for version in (baseline, candidate):
        if version not in versions:
            print(f"railyard prompts: no released version {version}", file=sys.stderr)
            return 2
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as e:
        print(f"railyard prompts: {e}", file=sys.stderr)
        return 2
    store = open_store(settings, "prompts")
    if store is None and not args.eval:
        return 2
    columns = ("outcome", "latency_ms", "cost_usd", "scores")
    found = {v: {c: [] for c in columns} for v in (baseline, candidate)}
    if store is not None:  # else the eval reports alone
        try:
            found = store.by_prompt_version(
                [baseline, candidate], since=since, project=args.project
            )
        finally:
            store.close()
    matched: dict[str, Share] = {}
    for path in args.eval:
        text = Path(path).read_text().strip()
        try:
            report = json.loads(text)
        except json.JSONDecodeError:  # `railyard eval --json` output: the report is its last line
            report = json.loads(text.splitlines()[-1])
        version, counts = report.get("prompt_version"), report.get("answer_matched")
        if version in (baseline, candidate) and counts:
            matched[version] = Share(int(counts["hits"]), int(counts["n"]))
    a, b = (VersionFigures.of(v, found[v], matched.get(v)) for v in (baseline, candidate))
    result = compare(
        a, b, margin=args.margin, min_rated=args.min_rated,
        max_cost_rise=args.max_cost_rise, max_latency_rise=args.max_latency_rise,
    )  # fmt: skip
    if args.json:
        print(json.dumps(result.as_dict()))
        return 0
    _print_comparison(result)
    return 0


def _print_comparison(result) -> None:
    from rich.console import Console
    from rich.table import Table

    report = result.as_dict()
    a, b = report["baseline"], report["candidate"]
    table = Table(title=f"{a['version']} (baseline) vs {b['version']} (candidate), 95 % intervals")
    for column in ("figure", a["version"], b["version"], "difference"):
        table.add_column(column)
    table.add_row("requests", str(a["requests"]), str(b["requests"]), "")
    for name in ("helpful", "answer_match", "unanswered", "refused", "blocked"):
        table.add_row(
            name, _share(a[name]), _share(b[name]), _interval(report["difference_ci95"].get(name))
        )
    for name, fmt in (("latency_ms", "{:.0f}"), ("cost_usd", "{:.6f}")):
        table.add_row(
            name + " (mean)", _mean(a[name], fmt), _mean(b[name], fmt),
            _interval(report["difference_ci95"].get(name), fmt),
        )  # fmt: skip
    console = Console()
    console.print(table)
    console.print(f"verdict: [bold]{report['verdict']}[/bold]")
    for reason in report["reasons"]:
        console.print(f"  - {reason}")


def _share(figure) -> str:
    if not figure or figure["value"] is None:
        return "-"
    low, high = figure["ci95"]
    return f"{figure['value']:.1%} [{low:.1%}, {high:.1%}] n={figure['n']}"


def _mean(figure, fmt: str) -> str:
    if figure["mean"] is None:
        return "-"
    low, high = figure["ci95"]
    return f"{fmt.format(figure['mean'])} [{fmt.format(low)}, {fmt.format(high)}]"


def _interval(diff, fmt: str | None = None) -> str:
    if diff is None:
        return "-"
    if fmt is None:
        return f"{diff[0]:+.1%} to {diff[1]:+.1%}"
    return f"{fmt.format(diff[0])} to {fmt.format(diff[1])}"
