"""The fallback's daily budget: what the paid API may cost per UTC day. The router adds each
fallback answer's cost; once the day's spend reaches the budget, the fallback is out of reach
until midnight UTC (local failures are not handed to it, requests routed to it are refused)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DAY_S = 86_400


class FallbackBudget:
    def __init__(self, usd_per_day: float, clock: Callable[[], float] = time.time) -> None:
        self.usd_per_day = usd_per_day
        self.clock = clock
        self._lock = threading.Lock()
        self._day = self._today()
        self.spent_usd = 0.0

    def _today(self) -> int:
        return int(self.clock() // DAY_S)

    def _roll(self) -> None:
        if (today := self._today()) != self._day:
            self._day, self.spent_usd = today, 0.0

    def seed(self, spent_today_usd: float) -> None:
        """Start from what the fallback already cost today (read from the traces)."""
        with self._lock:
            self._roll()
            self.spent_usd = spent_today_usd

    def add(self, cost_usd: float) -> None:
        with self._lock:
            self._roll()
            self.spent_usd += cost_usd

    @property
    def exhausted(self) -> bool:
        with self._lock:
            self._roll()
            return self.spent_usd >= self.usd_per_day

    def seconds_to_reset(self) -> float:
        return (self._today() + 1) * DAY_S - self.clock()

    @staticmethod
    def day_start(now: float | None = None) -> float:
        """Midnight UTC of the day `now` falls in (epoch seconds)."""
        now = time.time() if now is None else now
        return now - now % DAY_S
