"""check_groundedness: the verdict on whether every sentence of the answer is supported by the
retrieved chunks (see checker.py). Answers made without retrieved context are not checked."""

from __future__ import annotations

import asyncio
from typing import Any

from nemoguardrails.actions import action

from rails.groundedness.checker import GroundednessChecker
from rails.outcome import allow, block, policy


@action(name="check_groundedness")
async def check_groundedness(
    text: str = "",
    config: Any = None,
    context: dict | None = None,
    embed: Any = None,
    **kwargs: Any,
) -> Any:
    context = context or {}
    passages = context.get("passages") or []
    if not passages:
        return allow(None, checked=False)
    settings = policy(config, "groundedness")
    checker = GroundednessChecker(
        embed,
        threshold=float(settings.get("threshold", 0.6)),
        similarity=float(settings.get("similarity", 0.78)),
    )
    result = await asyncio.to_thread(
        checker.check, text or "", passages, context.get("question") or ""
    )  # sentence matching and MiniLM: CPU, off the event loop
    if result.supported:
        return allow(result.score)
    first = result.unsupported[0]
    return block(
        f"unsupported: {first.reason}", result.score, sentence=first.sentence, ungrounded=True
    )
