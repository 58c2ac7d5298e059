"""Run a call from several threads released at the same moment (two replicas starting together,
two stores opening one index)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def at_once(call: Callable[[], Any], threads: int = 4) -> tuple[list[Any], list[BaseException]]:
    """What each thread's call returned, and what each that failed raised."""
    start = threading.Barrier(threads)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            results.append(call())
        except Exception as exc:  # the caller asserts on what failed
            errors.append(exc)

    running = [threading.Thread(target=run) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return results, errors
