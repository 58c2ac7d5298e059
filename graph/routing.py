"""Routing policies: which model route a request asks first, whether a failing route falls
back, and whether an answer the output rails reject is asked of the fallback model again.

`railyard experiment fallback` replays a query set under each of these to compare cost,
latency and quality; `railyard serve` runs one (RAILYARD_ROUTING_MODE, default local-first).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Routing:
    name: str = "local-first"
    first: Literal["local", "fallback"] = "local"
    """The route asked first."""
    fallback_on_error: bool = True
    """A local error, timeout or refused connection is answered by the fallback (LiteLLM's
    fallbacks); off, the request fails instead (local-only)."""
    escalate_on_rail_fail: bool = False
    """A local answer the output rails reject (unsupported by the context, a leak) before any
    of it was sent is asked of the fallback model instead (quality-gated escalation)."""
    escalate_unsure: bool = False
    """A question the local model's chosen answer is unsure of (select answers below
    RAILYARD_ANSWER_MIN_CONFIDENCE), or that the local model could not score, is asked of the
    fallback model instead of declined. On by default when a fallback is configured
    (OPENAI_API_KEY or RAILYARD_FALLBACK_BASE_URL) and the policy may reach it."""
    max_difficulty: float | None = None
    """Questions whose difficulty (graph/difficulty.py) is above this go to the fallback
    first; None never routes by difficulty."""

    def escalating(self) -> Routing:
        """This policy plus escalation on a rail failure (when it can reach the fallback)."""
        if not self.fallback_on_error or self.first == "fallback" or self.escalate_on_rail_fail:
            return self
        return dataclasses.replace(self, name=f"{self.name}+escalate", escalate_on_rail_fail=True)


POLICIES: dict[str, Routing] = {
    "local-only": Routing("local-only", fallback_on_error=False),
    "local-first": Routing("local-first"),
    "api-only": Routing("api-only", first="fallback"),
    "quality-gated": Routing("quality-gated", escalate_on_rail_fail=True),
    "difficulty": Routing("difficulty", max_difficulty=0.4),
}


def policy(
    name: str, max_difficulty: float | None = None, *, fallback_configured: bool = False
) -> Routing:
    """The named policy; `max_difficulty` replaces the difficulty policy's threshold; with a
    fallback configured, unsure answers escalate under every policy that can reach it."""
    try:
        chosen = POLICIES[name]
    except KeyError:
        raise ValueError(
            f"unknown routing policy {name!r}; choose from {', '.join(POLICIES)}"
        ) from None
    if max_difficulty is not None and chosen.max_difficulty is not None:
        chosen = dataclasses.replace(chosen, max_difficulty=max_difficulty)
    if fallback_configured and chosen.fallback_on_error:
        chosen = dataclasses.replace(chosen, escalate_unsure=True)
    return chosen
