"""The router's model groups: the local pool, the paid fallback, and the local pool's
completions endpoint for scoring."""

from __future__ import annotations

LOCAL, FALLBACK = "local", "fallback"
SCORE = "local-score"
"""The local model's /v1/completions, for scoring text by its log-probabilities."""
OPENAI_BASE_URL = "https://api.openai.com/v1"


def member(group: str, index: int) -> str:
    """Deployment id of a pool member: `local`, `local-2`, ..."""
    return group if index == 0 else f"{group}-{index + 1}"


class RouteFailed(Exception):
    """One route could not answer: its servers errored, timed out, stalled or refused (before
    its first token), or its stream broke after it started. Whether another route answers is
    `FallbackChatModel`'s to decide (serving/llm/fallback.py)."""

    def __init__(self, route: str, reasons: list[str], *, refused: bool, started: bool) -> None:
        self.route, self.reasons, self.refused, self.started = route, reasons, refused, started
        """`refused`: the server refused this request (a 4xx other than 408 and 429 or too long
        for its window): the same request would be refused again. `started`: text was sent."""
        super().__init__(f"the {route} route failed ({', '.join(reasons)})")
