"""The fallback's daily budget: what the paid API may cost per UTC day. The router adds each
fallback answer's cost; once the day's spend reaches the budget, the fallback is out of reach
until midnight UTC (local failures are not handed to it, requests routed to it are refused)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from serving.access.budgets import RedisLedger, period_ids, seconds_left
from serving.settings import Settings

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


class SharedFallbackBudget:
    """`FallbackBudget`'s contract counted in Redis (the budgets' shared ledger, scope
    `fallback`), so every replica spends from one day's total. When Redis does not answer the
    budget reads as spent: no paid call is made that could not be counted."""

    day_start = staticmethod(FallbackBudget.day_start)
    SCOPE = "fallback"

    def __init__(
        self, url: str, usd_per_day: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.usd_per_day = usd_per_day
        self.clock = clock
        self.ledger = RedisLedger(url)

    def _day(self) -> str:
        return period_ids(self.clock())["day"]

    def seed(self, spent_today_usd: float) -> None:
        """Only the first replica of the day seeds the shared total (from its own traces)."""
        self.ledger.seed(self.SCOPE, self._day(), spent_today_usd)

    def add(self, cost_usd: float) -> None:
        self.ledger.add(self.SCOPE, self._day(), cost_usd)

    @property
    def spent_usd(self) -> float:
        return self.ledger.spent(self.SCOPE, self._day())

    @property
    def exhausted(self) -> bool:
        return self.spent_usd >= self.usd_per_day

    def seconds_to_reset(self) -> float:
        return seconds_left("day", self.clock())


def budget_for(settings: Settings) -> FallbackBudget | SharedFallbackBudget | None:
    """The budget the settings ask for: none, this process's, or the replicas' shared one."""
    if not settings.fallback_budget_usd_per_day:
        return None
    if settings.redis_url:
        return SharedFallbackBudget(settings.redis_url, settings.fallback_budget_usd_per_day)
    return FallbackBudget(settings.fallback_budget_usd_per_day)
