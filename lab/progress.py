"""Progress bars for the measuring commands (`railyard eval`, `bench`, `experiment`): rich, on
stderr, so a report printed as JSON on stdout stays clean. Nested phases share one display; on a
terminal they update live, in a log the final state is printed once when the command ends."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

_lock = threading.Lock()
_display: Progress | None = None
_users = 0


@contextlib.contextmanager
def task(description: str, total: int | None = None) -> Iterator[Callable[..., None]]:
    """A bar for one phase: yields `advance(n=1)`; thread-safe (load generators call it from
    their workers)."""
    global _display, _users
    with _lock:
        if _display is None:
            _display = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False,
            )  # fmt: skip
            _display.start()
        _users += 1
        display = _display
        task_id = display.add_task(description, total=total)
    try:
        yield lambda n=1: display.advance(task_id, n)
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                display.stop()
                _display = None


def tracked(items, description: str, total: int | None = None) -> Iterator:
    """Each item of `items`, advancing a bar as the loop body finishes with it."""
    items = list(items)
    with task(description, len(items) if total is None else total) as advance:
        for item in items:
            yield item
            advance()
