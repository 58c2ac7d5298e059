"""Example messages of the policy's `define user ...` blocks (NeMo parses them into
`config.user_messages`), embedded once with MiniLM, and how close a text comes to each set:
the banned-topics and toxicity rails compare a message with them."""

from __future__ import annotations

from typing import Any

_CACHE: dict[tuple, list[tuple[str, list[float]]]] = {}


def examples(config: Any, names: list[str], embed) -> list[tuple[str, list[float]]]:
    """(block name, vector) of every example under the named blocks; cached per example set."""
    messages = getattr(config, "user_messages", {}) or {}
    pairs = [(name, text) for name in names for text in messages.get(name, [])]
    key = tuple(pairs)
    if key not in _CACHE:
        vectors = embed([text for _, text in pairs]) if pairs else []
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[key] = [(name, v) for (name, _), v in zip(pairs, vectors, strict=True)]
    return _CACHE[key]


def closest(query: list[float], found: list[tuple[str, list[float]]]) -> dict[str, float]:
    """The best cosine (MiniLM vectors are normalised) of `query` to each block's examples."""
    best: dict[str, float] = {}
    for name, vector in found:
        similarity = sum(a * b for a, b in zip(query, vector, strict=True))
        best[name] = max(best.get(name, -1.0), similarity)
    return best
