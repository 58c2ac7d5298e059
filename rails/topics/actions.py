"""check_topic: is the message about a banned topic? Topics are the `define user ask ...` blocks
in flows.co (NeMo parses them into `config.user_messages`); the message is compared with their
examples by MiniLM similarity."""

from __future__ import annotations

import asyncio
from typing import Any

from nemoguardrails.actions import action

from rails.outcome import allow, block, policy

_CACHE: dict[tuple, list[tuple[str, list[float]]]] = {}


def _examples(config: Any, names: list[str], embed) -> list[tuple[str, list[float]]]:
    messages = getattr(config, "user_messages", {}) or {}
    pairs = [(name, text) for name in names for text in messages.get(name, [])]
    key = tuple(pairs)
    if key not in _CACHE:
        vectors = embed([text for _, text in pairs]) if pairs else []
        _CACHE.clear()
        _CACHE[key] = [(name, v) for (name, _), v in zip(pairs, vectors, strict=True)]
    return _CACHE[key]


@action(name="check_topic")
async def check_topic(text: str = "", config: Any = None, embed: Any = None, **kwargs: Any) -> Any:
    settings = policy(config, "topics")
    banned, allowed = settings.get("banned", []), settings.get("allowed", [])
    if not banned or embed is None or not text.strip():
        return allow(None)
    # MiniLM on CPU: off the event loop.
    examples = await asyncio.to_thread(_examples, config, [*banned, *allowed], embed)
    [query] = await asyncio.to_thread(embed, [text])
    best: dict[str, float] = {}
    for name, vector in examples:
        similarity = sum(a * b for a, b in zip(query, vector, strict=True))
        best[name] = max(best.get(name, -1.0), similarity)
    topic = max(banned, key=lambda n: best.get(n, -1.0))
    score = best.get(topic, 0.0)
    in_scope = max((best.get(n, -1.0) for n in allowed), default=-1.0)
    if score >= float(settings.get("threshold", 0.62)) and score > in_scope:
        return block(f"banned topic: {topic}", round(score, 3), topic=topic)
    return allow(round(score, 3), topic=topic)
