"""Alerts: a JSON POST to the webhook in settings (`RAILYARD_ALERT_WEBHOOK_URL`) when an ingestion
run fails or skips documents, and when the error or fallback rate over the last window crosses
its threshold. Sent in the background (a slow or dead receiver never delays a request), at most
one alert of a kind per window.

    {"source": "railyard", "kind": "error_rate", "at": 1763712000.0, "message": "...", ...}

or, with RAILYARD_ALERT_WEBHOOK_FORMAT, in the shape a Slack incoming webhook (`slack`: text
with the details in a code block) or a Microsoft Teams workflow webhook (`teams`: a message with
an Adaptive Card) accepts.
"""

from __future__ import annotations

import asyncio
import json
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
        shape: str = "json",
    ) -> None:
        self.url = url
        self.shape = shape
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
                (await client.post(self.url, json=shaped(body, self.shape))).raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("alert %s not delivered to the webhook: %s", body["kind"], exc)


def post_alert(
    url: str | None, kind: str, message: str, *, shape: str = "json", **details: Any
) -> None:
    """One alert, posted now (for commands that run outside the server: ingest run, watch,
    schedule, drift). A webhook that fails is logged, never the command's failure."""
    if url is None:
        return
    body = {"source": "railyard", "kind": kind, "at": time.time(), "message": message}
    try:
        httpx.post(url, json=shaped(body | details, shape), timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("alert %s not delivered to the webhook: %s", kind, exc)


def shaped(body: dict[str, Any], shape: str) -> dict[str, Any]:
    """An alert as the webhook takes it: railyard's JSON, Slack's `text`, or a Teams message
    carrying an Adaptive Card (the shape Teams' workflow webhooks accept)."""
    details = {k: v for k, v in body.items() if k not in ("source", "kind", "at", "message")}
    title = f"railyard · {body['kind']}"
    if shape == "slack":
        listed = json.dumps(details, indent=1, default=str)[:2500]
        return {"text": f"*{title}*: {body['message']}\n```{listed}```"}
    if shape == "teams":
        facts = [
            {"title": k, "value": json.dumps(v, default=str)[:300]} for k, v in details.items()
        ]
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium"},
                {"type": "TextBlock", "text": body["message"], "wrap": True},
                {"type": "FactSet", "facts": facts},
            ],
        }  # fmt: skip
        attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        return {"type": "message", "attachments": [attachment]}
    return body
