"""Spans: each node records when it ran, how long it took and what it decided."""

from __future__ import annotations

import time
from typing import Any

from graph.state import Span


class SpanTimer:
    """Start a timer when a node begins; `span(...)` closes it into a `Span`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.start = time.time()
        self._t0 = time.perf_counter()

    def span(self, **attributes: Any) -> Span:
        latency_ms = (time.perf_counter() - self._t0) * 1000
        return Span(name=self.name, start=self.start, latency_ms=latency_ms, attributes=attributes)
