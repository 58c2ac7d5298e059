"""`railyard ingest run | watch | schedule` (the triggers are in ingest/triggers.py).

milvus-lite's data dir has one owner process. When another process has it open (its LOCK file
is locked: `ingest.store.held_elsewhere`), these commands hand each run to the railyard server
on the configured port (POST /v1/admin/ingest) instead of fighting it for the lock.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from serving.settings import Settings


def ingest_once(
    settings: Settings, paths: list[str], console: Console, ray: str | None = None
) -> dict:
    """One ingestion run: in this process (load → embed on a Ray cluster with `ray`), or by
    the server when it owns the index."""
    from ingest.store import held_elsewhere
    from serving.knowledge import after_run, failed_run, ingest_config
    from serving.knowledge import ingestor as open_ingestor
    from serving.observability.alerts import post_alert

    if ray is None and held_elsewhere(ingest_config(settings).uri):
        return _through_server(settings, paths, console)
    ingestor = open_ingestor(settings)
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=True,
        ) as bar:  # fmt: skip
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            summary = ingestor.run(paths, progress=progress, ray=ray)
    except Exception as exc:
        post_alert(
            settings.alert_webhook_url, shape=settings.alert_webhook_format, **failed_run(exc)
        )
        raise
    else:
        for alert in after_run(settings, ingestor, summary):
            post_alert(settings.alert_webhook_url, shape=settings.alert_webhook_format, **alert)
        return summary
    finally:
        ingestor.close()


def _through_server(settings: Settings, paths: list[str], console: Console) -> dict:
    """The run, handed to the railyard server that has the embedded index open."""
    url = f"http://{settings.host}:{settings.port}/v1/admin/ingest"
    console.print(f"a running server has the index open; ingesting through {url}")
    key = settings.client_api_key
    headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
    try:
        response = httpx.post(url, json={"paths": paths}, headers=headers, timeout=None)
    except httpx.HTTPError as e:
        console.print(
            f"[red]railyard ingest: another process has the index in {settings.data_dir} open, "
            f"and no railyard server answers at {url} ({e}); stop it or run against its port"
        )
        raise SystemExit(2) from None
    if response.is_client_error:
        message = response.json().get("error", {}).get("message", response.text)
        console.print(f"[red]railyard ingest: the server refused the run: {message}")
        raise SystemExit(2) from None
    response.raise_for_status()
    return response.json()


def print_summary(summary: dict, console: Console) -> None:
    table = Table(title=f"ingestion run {summary['run_id'][:8]}")
    for key in ("added", "updated", "unchanged", "deleted", "chunks", "index_version", "seconds"):
        table.add_row(key, str(summary[key]))
    table.add_row("failed", str(len(summary["failed"])))
    console.print(table)
    for failure in summary["failed"]:
        console.print(f"[yellow]skipped[/] {failure['source']}: {failure['reason']}")
    if checked := summary.get("evaluation"):
        figures = ", ".join(f"{k} {checked[k]:.0%}" for k in ("source_hit@1", "source_hit@5"))
        console.print(f"eval set on index version {checked['index_version']}: {figures}")
        if checked["dropped"]:
            console.print(f"[bold red]eval drop[/] {checked['alert']['message']}")


def register(commands) -> None:
    ingest = commands.add_parser("ingest", help="index documents").add_subparsers(
        dest="ingest_command", required=True
    )
    once = ingest.add_parser("run", help="ingest files or folders once")
    once.add_argument("paths", nargs="+")
    once.add_argument("--json", action="store_true", help="print the summary as JSON last")
    once.add_argument(
        "--ray", metavar="ADDRESS",
        help="load, clean, chunk and embed on this Ray cluster (`local`: start one here); "
        "needs the `ray` extra (pip install 'railyard[ray]')",
    )  # fmt: skip
    once.set_defaults(handler=run)
    watching = ingest.add_parser("watch", help="re-ingest a folder when its files change")
    watching.add_argument("path")
    watching.set_defaults(handler=watch)
    cron = ingest.add_parser("schedule", help="ingest a folder on a cron schedule")
    cron.add_argument("path")
    cron.add_argument("--cron", required=True, help='e.g. "0 2 * * *"')
    cron.add_argument("--tz", default="UTC", help="IANA time zone, e.g. Asia/Taipei")
    cron.set_defaults(handler=schedule)


def run(settings: Settings, args) -> int:
    paths, as_json = args.paths, args.json
    console = Console(stderr=as_json)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        console.print(f"[red]railyard ingest: no such file or folder: {', '.join(missing)}")
        return 2
    if args.ray is not None and importlib.util.find_spec("ray") is None:
        console.print("[red]railyard ingest: --ray needs Ray: pip install 'railyard[ray]'")
        return 2
    resolved = [str(Path(p).resolve()) for p in paths]
    summary = ingest_once(settings, resolved, console, ray=args.ray)
    print_summary(summary, console)
    if as_json:
        print(json.dumps(summary))
    return 0


def watch(settings: Settings, args) -> int:
    """Re-ingest when files under the folder change; unchanged files are never re-embedded."""
    from ingest.triggers import watch as watch_folder

    console = Console()
    root = Path(args.path).resolve()
    console.print(f"watching {root}")

    def run_once() -> None:
        print_summary(ingest_once(settings, [str(root)], console), console)

    try:
        watch_folder(root, run_once)
    except KeyboardInterrupt:
        pass
    return 0


def schedule(settings: Settings, args) -> int:
    from ingest.triggers import schedule as on_schedule

    console = Console()
    root = str(Path(args.path).resolve())

    def started(first) -> None:
        console.print(f"ingesting {root} on '{args.cron}' ({args.tz}); next run {first}")

    try:
        on_schedule(
            args.cron,
            args.tz,
            lambda: print_summary(ingest_once(settings, [root], console), console),
            started,
        )
    except KeyboardInterrupt:
        pass
    return 0
