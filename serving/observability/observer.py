"""What happens when a request ends: its trace is built, counted in the metrics and queued for
the store. Nothing here waits on disk."""

from __future__ import annotations

import logging
import time
from typing import Any

from serving.observability.alerts import Alerter
from serving.observability.metrics import Metrics
from serving.observability.record import build_trace
from serving.observability.store import TraceStore

log = logging.getLogger(__name__)


class Observer:
    def __init__(
        self,
        store: TraceStore | None,
        metrics: Metrics,
        alerts: Alerter | None = None,
        content: bool = True,
        otel: Any = None,
    ) -> None:
        self.store = store
        self.content = content
        self.otel = otel
        """An OtelExporter (serving/observability/otel.py) when RAILYARD_OTLP_ENDPOINT is set."""
        self.metrics = metrics
        self.alerts = alerts

    def finished(
        self,
        state: dict[str, Any],
        *,
        started: float,
        latency_ms: float,
        stream: bool,
        project: str = "default",
        user: str | None = None,
        key_id: str | None = None,
    ) -> dict[str, Any]:
        start = time.perf_counter()
        trace = build_trace(
            state, started=started, latency_ms=latency_ms, stream=stream, project=project,
            user=user, key_id=key_id, content=self.content,
        )  # fmt: skip
        self.metrics.observe(trace)
        if self.store is not None:
            self.store.record(trace)
        if self.otel is not None:
            try:
                self.otel.export(trace)
            except Exception:  # export is best effort: never the request's failure
                log.exception("OpenTelemetry export of trace %s failed", trace["trace_id"])
        if self.alerts is not None:
            self.alerts.request(error=False, fallback=trace["generation"]["route"] == "fallback")
        self.metrics.trace_seconds.observe(time.perf_counter() - start)
        return trace

    def failed(self, error: BaseException) -> None:
        self.metrics.errors.labels(type(error).__name__).inc()
        if self.alerts is not None:
            self.alerts.request(error=True, fallback=False)
