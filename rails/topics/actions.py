"""check_topic: is the message about a banned topic? Topics are the `define user ask ...` blocks
in flows.co (NeMo parses them into `config.user_messages`); the message is compared with their
examples by MiniLM similarity."""

from __future__ import annotations

import asyncio
from typing import Any

from nemoguardrails.actions import action

from rails.examples import closest, examples
from rails.outcome import allow, block, policy


@action(name="check_topic")
async def check_topic(text: str = "", config: Any = None, embed: Any = None, **kwargs: Any) -> Any:
    settings = policy(config, "topics")
    banned, allowed = settings.get("banned", []), settings.get("allowed", [])
    if not banned or embed is None or not text.strip():
        return allow(None)
    # MiniLM on CPU: off the event loop.
    found = await asyncio.to_thread(examples, config, [*banned, *allowed], embed)
    [query] = await asyncio.to_thread(embed, [text])
    best = closest(query, found)
    topic = max(banned, key=lambda n: best.get(n, -1.0))
    score = best.get(topic, 0.0)
    in_scope = max((best.get(n, -1.0) for n in allowed), default=-1.0)
    if score >= float(settings.get("threshold", 0.62)) and score > in_scope:
        return block(f"banned topic: {topic}", round(score, 3), topic=topic)
    return allow(round(score, 3), topic=topic)
