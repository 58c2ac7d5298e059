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
