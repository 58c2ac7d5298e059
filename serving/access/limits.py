"""Per-caller rate limits over a sliding minute: requests per minute, and tokens per minute
(the prompt's estimated tokens plus max_tokens are reserved when a request is admitted, then
corrected to the tokens it really used, as OpenAI counts them)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Protocol

from serving.errors import RateLimited

WINDOW_S = 60.0
MAX_CALLERS = 100_000
"""Callers remembered at most: past it, those idle for a whole window are forgotten first."""


@dataclass
class Ticket:
    caller: str
    at: float
    tokens: int
    id: str = ""  # the shared limiter's name for it


class Limiter(Protocol):
    def admit(
        self, caller: str, tokens: int, rpm: int | None = None, tpm: int | None = None
    ) -> Ticket: ...

    def settle(self, ticket: Ticket, tokens: int) -> None: ...


class RateLimiter:
    def __init__(self, rpm: int | None, tpm: int | None, clock=time.monotonic) -> None:
        self.rpm, self.tpm = rpm, tpm
        self.clock = clock
        self._lock = threading.Lock()
        self._events: OrderedDict[str, deque[Ticket]] = OrderedDict()

    def admit(
        self, caller: str, tokens: int, rpm: int | None = None, tpm: int | None = None
    ) -> Ticket:
        """Admit one request of about `tokens` tokens, or raise RateLimited with Retry-After."""
        rpm, tpm = rpm or self.rpm, tpm or self.tpm
        now = self.clock()
        if rpm is None and tpm is None:
            return Ticket(caller, now, tokens)  # unlimited: nothing to remember
        with self._lock:
            events = self._events.get(caller)
            if events is None:
                events = self._events[caller] = deque()
                self._forget_idle(now)
            self._events.move_to_end(caller)
            while events and events[0].at <= now - WINDOW_S:
                events.popleft()
            if rpm is not None and len(events) >= rpm:
                wait = events[len(events) - rpm].at + WINDOW_S - now
                raise RateLimited(
                    f"Rate limit reached: {rpm} requests per minute. Retry after "
                    f"{math.ceil(wait)} s.", retry_after=wait, kind="requests",
                )  # fmt: skip
            if tpm is not None:
                if tokens > tpm:
                    raise RateLimited(
                        f"Request too large for the rate limit: about {tokens} tokens, limit "
                        f"{tpm} tokens per minute. Lower max_tokens or shorten the messages.",
                        retry_after=None, kind="tokens",
                    )  # fmt: skip
                used = sum(e.tokens for e in events)
                if used + tokens > tpm:
                    wait = self._tokens_free_after(events, used + tokens - tpm, now)
                    raise RateLimited(
                        f"Rate limit reached: {tpm} tokens per minute (used {used}, requested "
                        f"{tokens}). Retry after {math.ceil(wait)} s.",
                        retry_after=wait, kind="tokens",
                    )  # fmt: skip
            ticket = Ticket(caller, now, tokens)
            events.append(ticket)
            return ticket

    def _forget_idle(self, now: float) -> None:
        """Keep the map bounded (one entry per client address is cheap to fill): drop callers
        with nothing in the window, least recently seen first, then the least recent anyway."""
        if len(self._events) <= MAX_CALLERS:
            return
        for caller in list(self._events)[: len(self._events) - MAX_CALLERS + MAX_CALLERS // 10]:
            events = self._events[caller]
            if not events or events[-1].at <= now - WINDOW_S:
                del self._events[caller]
        while len(self._events) > MAX_CALLERS:
            self._events.popitem(last=False)

    def __len__(self) -> int:
        return len(self._events)

    def settle(self, ticket: Ticket, tokens: int) -> None:
        """Correct an admitted request to the tokens it really used."""
        with self._lock:
            ticket.tokens = tokens

    @staticmethod
    def _tokens_free_after(events: deque[Ticket], excess: int, now: float) -> float:
        freed = 0
        for event in events:
            freed += event.tokens
            if freed >= excess:
                return max(0.0, event.at + WINDOW_S - now)
        return WINDOW_S


def estimate_tokens(messages: list[dict], max_tokens: int) -> int:
    """About 4 characters per token for the prompt, plus the completion asked for."""
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    return math.ceil(chars / 4) + max_tokens
