"""Spend budgets per project and per API key, per UTC day and month, in USD: what answers cost
(the local route's price and the fallback's, as each response's `cost_usd` reports them).

Budgets are set in the keys file (serving/access/keys.py): on a key (`usd_per_day`,
`usd_per_month`) and per project under `projects:`. Each has `over_budget`: `refuse` (429
`budget_exceeded` until the period ends) or `local-only` (answered by the local model, no paid
call). Spend is counted in a ledger: this process's (seeded from the trace store at start), or
Redis (RAILYARD_REDIS_URL), shared by every replica. A request is admitted against what was
spent before it, so concurrent requests can overshoot a budget by at most what they cost
together. Crossing 80 % and 100 % of a budget sends an alert (once per crossing: in Redis the
increment that crossed is the only one that sees it)."""

from __future__ import annotations

import calendar
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, PositiveFloat

from serving.errors import BudgetExceeded
from storage.redis import PREFIX, redis_client

log = logging.getLogger("railyard.access")

ALERT_SHARES = (0.8, 1.0)
Period = Literal["day", "month"]
PERIODS: tuple[Period, ...] = ("day", "month")


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    usd_per_day: PositiveFloat | None = None
    usd_per_month: PositiveFloat | None = None
    over_budget: Literal["refuse", "local-only"] = "refuse"

    def limit(self, period: Period) -> float | None:
        return self.usd_per_day if period == "day" else self.usd_per_month


@dataclass(frozen=True)
class Scope:
    """Whose spend: `key:<id>` or `project:<name>`, under its budget."""

    name: str
    budget: Budget


def period_ids(now: float) -> dict[Period, str]:
    """The UTC day and month `now` falls in: `2026-12-02`, `2026-12`."""
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    return {"day": day, "month": day[:7]}


def seconds_left(period: Period, now: float) -> float:
    t = time.gmtime(now)
    if period == "day":
        return 86_400 - (now % 86_400)
    days = calendar.monthrange(t.tm_year, t.tm_mon)[1]
    end = calendar.timegm((t.tm_year, t.tm_mon, days, 0, 0, 0)) + 86_400
    return end - now


class Ledger(Protocol):
    def spent(self, scope: str, period: str) -> float: ...

    def add(self, scope: str, period: str, cost: float) -> float:
        """Add to a scope's spend in a period (`2026-12-02`, `2026-12`); the new total."""
        ...


class MemoryLedger:
    """This process's spend; `seed` starts it from the trace store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent: dict[tuple[str, str], float] = {}

    def spent(self, scope: str, period: str) -> float:
        with self._lock:
            return self._spent.get((scope, period), 0.0)

    def add(self, scope: str, period: str, cost: float) -> float:
        with self._lock:
            total = self._spent.get((scope, period), 0.0) + cost
            self._spent[(scope, period)] = total
            return total

    def seed(self, scope: str, period: str, spent: float) -> None:
        """Start a period's total, unless it is already counted (as `RedisLedger.seed`)."""
        with self._lock:
            self._spent.setdefault((scope, period), spent)


def seeded_ledger(rows: list[dict], now: float) -> MemoryLedger:
    """This process's ledger, starting from what the trace store says was spent this month
    (rows of `TraceStore.spend_by_caller`: day, project, key_id, cost_usd)."""
    ledger, today = MemoryLedger(), period_ids(now)["day"]
    totals: dict[tuple[str, str], float] = {}
    for row in rows:
        scopes = [f"project:{row['project']}"]
        if row.get("key_id"):
            scopes.append(f"key:{row['key_id']}")
        periods = [row["day"][:7]] + ([today] if row["day"] == today else [])
        for scope in scopes:
            for period in periods:
                totals[(scope, period)] = totals.get((scope, period), 0.0) + row["cost_usd"]
    for (scope, period), spent in totals.items():
        ledger.seed(scope, period, spent)
    return ledger


def ledger_for(redis_url: str | None, month_spend: Callable[[float], list[dict]]) -> Ledger:
    """Where spend is counted: Redis for replicas, else this process, starting from the
    month's spend (`month_spend(since)`: rows of `TraceStore.spend_by_caller`)."""
    if redis_url:
        return RedisLedger(redis_url)
    now = time.time()
    return seeded_ledger(month_spend(month_start(now)), now)


def month_start(now: float) -> float:
    t = time.gmtime(now)
    return float(calendar.timegm((t.tm_year, t.tm_mon, 1, 0, 0, 0)))


class RedisLedger:
    """Spend shared by every replica; keys expire after their period (with a margin). When
    Redis does not answer, spend reads as infinite: budgets refuse (or keep callers local)
    rather than let paid calls through uncounted."""

    def __init__(self, url: str) -> None:
        self.redis = redis_client(url)

    @staticmethod
    def _key(scope: str, period: str) -> str:
        return f"{PREFIX}spend:{scope}:{period}"

    def spent(self, scope: str, period: str) -> float:
        try:
            return float(self.redis.get(self._key(scope, period)) or 0.0)
        except Exception as e:  # redis.RedisError, a timeout
            log.warning("Redis unreachable (%s): budgets read as spent", e)
            return float("inf")

    @staticmethod
    def _ttl(period: str) -> int:
        return 3 * 86_400 if len(period) == 10 else 40 * 86_400  # a day id, or a month's

    def seed(self, scope: str, period: str, spent: float) -> None:
        """Start a period's total, unless another replica already has."""
        try:
            self.redis.set(self._key(scope, period), repr(spent), nx=True, ex=self._ttl(period))
        except Exception as e:
            log.warning("Redis unreachable (%s): budgets read as spent", e)

    def add(self, scope: str, period: str, cost: float) -> float:
        key, ttl = self._key(scope, period), self._ttl(period)
        try:
            with self.redis.pipeline() as pipe:
                total, _ = pipe.incrbyfloat(key, cost).expire(key, ttl).execute()
            return float(total)
        except Exception as e:
            log.error("Redis unreachable (%s): a cost of $%g went uncounted", e, cost)
            return 0.0


class Budgets:
    def __init__(
        self,
        ledger: Ledger,
        alert: Callable[..., None] | None = None,
        clock: Callable[[], float] = time.time,
        observe: Callable[[str, str, float, float], None] | None = None,
    ) -> None:
        self.ledger, self.alert, self.clock = ledger, alert, clock
        self.observe = observe
        """Told (scope, period, spent, limit) after each charge: the budget-use metric."""

    def check(self, scopes: list[Scope]) -> bool:
        """Admit a request: True when it must stay local (a `local-only` budget is spent);
        raise BudgetExceeded when a `refuse` budget is spent."""
        now, local_only = self.clock(), False
        ids = period_ids(now)
        for scope in scopes:
            for period in PERIODS:
                limit = scope.budget.limit(period)
                if limit is None or self.ledger.spent(scope.name, ids[period]) < limit:
                    continue
                if scope.budget.over_budget == "local-only":
                    local_only = True
                    continue
                kind, name = scope.name.split(":", 1)
                raise BudgetExceeded(
                    f"The {period}'s budget of {kind} {name!r} (${limit:g}) is spent; it "
                    f"resets at the start of the next UTC {period}.",
                    retry_after=seconds_left(period, now),
                )
        return local_only

    def charge(self, scopes: list[Scope], cost_usd: float) -> None:
        """Count what an answer cost toward every budget of its caller."""
        if cost_usd <= 0:
            return
        ids = period_ids(self.clock())
        for scope in scopes:
            for period in PERIODS:
                total = self.ledger.add(scope.name, ids[period], cost_usd)
                limit = scope.budget.limit(period)
                if limit is not None and self.observe is not None:
                    self.observe(scope.name, period, total, limit)
                if limit is None or self.alert is None:
                    continue
                for share in ALERT_SHARES:
                    if total - cost_usd < share * limit <= total:
                        self.alert(
                            f"budget_{int(share * 100)}:{scope.name}:{ids[period]}",
                            f"{scope.name} has spent ${total:.4f} of its {period}'s budget "
                            f"${limit:g} ({share:.0%} reached)",
                            scope=scope.name, period=ids[period], spent_usd=round(total, 6),
                            budget_usd=limit, share=share,
                        )  # fmt: skip
