"""What starts an ingestion run besides a person: a change under a folder (watchdog) or a cron
schedule (APScheduler). Each trigger is given a callback and knows nothing of what it runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path


def watch(root: Path, on_change: Callable[[], None], debounce_s: float = 2.0) -> None:
    """Call `on_change` once now, then after every burst of changes under `root` (once the
    folder has been quiet for `debounce_s`), until interrupted (KeyboardInterrupt)."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    changed = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.event_type in ("created", "modified", "deleted", "moved"):
                changed.set()

    observer = Observer()
    observer.schedule(Handler(), str(root), recursive=True)
    observer.start()
    try:
        on_change()
        while True:
            changed.wait()
            while changed.is_set():
                changed.clear()
                time.sleep(debounce_s)
            on_change()
    finally:
        observer.stop()
        observer.join()


def cron_trigger(expression: str, timezone: str):
    """An APScheduler trigger for a crontab expression in an IANA time zone."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(expression, timezone=timezone)


def next_run(expression: str, timezone: str, now: datetime) -> datetime:
    return cron_trigger(expression, timezone).get_next_fire_time(None, now)


def schedule(
    expression: str,
    timezone: str,
    job: Callable[[], None],
    started: Callable[[datetime], None] | None = None,
) -> None:
    """Call `job` on the cron schedule (never two at once; missed runs coalesce into one) until
    interrupted; `started` is told the first run's time."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone=timezone)
    trigger = cron_trigger(expression, timezone)
    scheduler.add_job(job, trigger, max_instances=1, coalesce=True)
    if started is not None:
        started(trigger.get_next_fire_time(None, datetime.now(trigger.timezone)))
    scheduler.start()
