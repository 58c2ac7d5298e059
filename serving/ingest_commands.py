"""`railyard ingest run | watch | schedule`.

milvus-lite's data dir has one owner process. When `railyard serve` owns it (the index cannot be
opened and the server answers), these commands hand each run to the server
(POST /v1/admin/ingest) instead of fighting it for the lock.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from serving.settings import Settings


def _server_owns_index(settings: Settings) -> bool:
    """milvus-lite logs its DataDirLockedError and pymilvus raises a bare "Open local milvus
    failed", so ownership is told by a railyard server answering on the configured port."""
    if settings.milvus_uri is not None:
        return False
    try:
        url = f"http://{settings.host}:{settings.port}/healthz"
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def ingest_once(settings: Settings, paths: list[str], console: Console) -> dict:
    """One ingestion run: in this process, or by the server when it owns the index."""
    from ingest.graph import Ingestor
    from serving.knowledge import ingest_config

    try:
        ingestor = Ingestor(ingest_config(settings))
    except Exception:
        if not _server_owns_index(settings):
            raise
        url = f"http://{settings.host}:{settings.port}/v1/admin/ingest"
        console.print(f"the running server owns the index; ingesting through {url}")
        key = settings.client_api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
        response = httpx.post(url, json={"paths": paths}, headers=headers, timeout=None)
        response.raise_for_status()
        return response.json()
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

            return ingestor.run(paths, progress=progress)
    finally:
        ingestor.close()


def print_summary(summary: dict, console: Console) -> None:
    table = Table(title=f"ingestion run {summary['run_id'][:8]}")
    for key in ("added", "updated", "unchanged", "deleted", "chunks", "index_version", "seconds"):
        table.add_row(key, str(summary[key]))
    table.add_row("failed", str(len(summary["failed"])))
    console.print(table)
    for failure in summary["failed"]:
        console.print(f"[yellow]skipped[/] {failure['source']}: {failure['reason']}")


def run(settings: Settings, paths: list[str], as_json: bool) -> int:
    console = Console(stderr=as_json)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        console.print(f"[red]railyard ingest: no such file or folder: {', '.join(missing)}")
        return 2
    summary = ingest_once(settings, [str(Path(p).resolve()) for p in paths], console)
    print_summary(summary, console)
    if as_json:
        print(json.dumps(summary))
    return 0


def watch(settings: Settings, path: str, debounce_s: float = 2.0) -> int:
    """Re-ingest when files under `path` change; unchanged files are never re-embedded."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    console = Console()
    root = str(Path(path).resolve())
    changed = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.event_type in ("created", "modified", "deleted", "moved"):
                changed.set()

    observer = Observer()
    observer.schedule(Handler(), root, recursive=True)
    observer.start()
    console.print(f"watching {root}")
    print_summary(ingest_once(settings, [root], console), console)
    try:
        while True:
            changed.wait()
            # Debounce: wait until the folder has been quiet for `debounce_s`.
            while changed.is_set():
                changed.clear()
                time.sleep(debounce_s)
            print_summary(ingest_once(settings, [root], console), console)
    except KeyboardInterrupt:
        return 0
    finally:
        observer.stop()
        observer.join()


def cron_trigger(expression: str, timezone: str):
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(expression, timezone=timezone)


def next_run(expression: str, timezone: str, now: datetime) -> datetime:
    return cron_trigger(expression, timezone).get_next_fire_time(None, now)


def schedule(settings: Settings, path: str, expression: str, timezone: str) -> int:
    from apscheduler.schedulers.blocking import BlockingScheduler

    console = Console()
    root = str(Path(path).resolve())
    scheduler = BlockingScheduler(timezone=timezone)
    scheduler.add_job(
        lambda: print_summary(ingest_once(settings, [root], console), console),
        cron_trigger(expression, timezone),
        max_instances=1,
        coalesce=True,
    )
    trigger = cron_trigger(expression, timezone)
    first = trigger.get_next_fire_time(None, datetime.now(trigger.timezone))
    console.print(f"ingesting {root} on '{expression}' ({timezone}); next run {first}")
    try:
        scheduler.start()
    except KeyboardInterrupt:
        pass
    return 0
