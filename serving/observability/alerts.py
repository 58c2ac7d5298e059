"""Alerts: a JSON POST to the webhook in settings (`RAILYARD_ALERT_WEBHOOK_URL`) when an ingestion
run fails or skips documents, and when the error or fallback rate over the last window crosses
its threshold. Sent in the background (a slow or dead receiver never delays a request), at most
one alert of a kind per window.

    {"source": "railyard", "kind": "error_rate", "at": 1763712000.0, "message": "...", ...}
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import httpx

log = logging.getLogger("railyard.alerts")


class Alerter:
    def __init__(
        self,
        url: str | None,
        *,
        window_s: float = 300,
        min_requests: int = 20,
        error_rate: float = 0.2,
        fallback_rate: float = 0.5,
    ) -> None:
        self.url = url
        self.window_s = window_s
        self.min_requests = min_requests
        self.thresholds = {"error_rate": error_rate, "fallback_rate": fallback_rate}
        self._requests: deque[tuple[float, bool, bool]] = deque()
        self._last_sent: dict[str, float] = {}
        self._tasks: set[asyncio.Task] = set()

    def request(self, *, error: bool, fallback: bool) -> None:
        """Count one finished request and alert on a spike."""
        now = time.monotonic()
        self._requests.append((now, error, fallback))
        while self._requests and self._requests[0][0] < now - self.window_s:
            self._requests.popleft()
        total = len(self._requests)
        if total < self.min_requests:
            return
        rates = {
            "error_rate": sum(e for _, e, _ in self._requests) / total,
            "fallback_rate": sum(f for _, _, f in self._requests) / total,
        }
        for kind, rate in rates.items():
            if rate >= self.thresholds[kind]:
                self.send(
                    kind,
                    f"{kind.replace('_', ' ')} {rate:.0%} over the last {total} requests "
                    f"({self.window_s:.0f} s window; threshold {self.thresholds[kind]:.0%})",
                    rate=round(rate, 4), requests=total, window_s=self.window_s,
                )  # fmt: skip

    def send(self, kind: str, message: str, **details: Any) -> None:
        if self.url is None:
            return
        now, last = time.monotonic(), self._last_sent.get(kind)
        if kind != "ingest_failed" and last is not None and now - last < self.window_s:
            return
        self._last_sent[kind] = now
        body = {"source": "railyard", "kind": kind, "at": time.time(), "message": message}
        task = asyncio.get_running_loop().create_task(self._post(body | details))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, body: dict[str, Any]) -> None:
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                (await client.post(self.url, json=body)).raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("alert %s not delivered to the webhook: %s", body["kind"], exc)


def post_alert(url: str | None, kind: str, message: str, **details: Any) -> None:
    """One alert, posted now (for commands that run outside the server: ingest run, watch,
    schedule, drift). A webhook that fails is logged, never the command's failure."""
    if url is None:
        return
    body = {"source": "railyard", "kind": kind, "at": time.time(), "message": message}
    try:
        httpx.post(url, json=body | details, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("alert %s not delivered to the webhook: %s", kind, exc)
