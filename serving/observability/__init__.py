"""Per-request traces (SQLite), Prometheus metrics and user feedback."""

from serving.observability.metrics import Metrics
from serving.observability.observer import Observer
from serving.observability.store import TraceStore

__all__ = ["Metrics", "Observer", "TraceStore"]
