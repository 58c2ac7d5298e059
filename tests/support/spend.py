"""Getting one paid answer from a gateway routed to the fallback stand-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def ask_until_paid(ask: Callable[[str], Any], marker: str, attempts: int = 3) -> Any:
    """The stand-in proxies to the same vLLM; when that is slow, LiteLLM may hand an api-only
    request to the local deployment (route "local", nothing spent). Ask (with `marker` and the
    attempt in the question) until an answer is paid, and return it."""
    routes = []
    for attempt in range(attempts):
        answer = ask(f"{marker}-{attempt}")
        routes.append(answer.model_extra["railyard"]["route"])
        if routes[-1] == "fallback":
            return answer
    raise AssertionError(f"no paid answer in {attempts} tries: routes {routes}")
