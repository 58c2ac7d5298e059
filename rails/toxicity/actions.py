"""check_toxicity: is the message or the answer abusive, hateful or harassing?

Two signals, as the banned-topics rail weighs a message: the whole text and each sentence get
alt-profanity-check's probability of being offensive; a sentence at or above
custom_data.toxicity.threshold (0.5, the model's own boundary) is toxic unless it is closer (MiniLM
cosine) to the policy's in-scope examples (`ask about work`) than to its abuse examples
(`express abuse`, flows.co). The lexical model alone flags workplace text ("Can I use sick leave
when my child is sick?" scores 0.93; employee groups named by identity 0.55-0.61); the
comparison lets such text through and keeps the abuse."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from nemoguardrails.actions import action

from rails.examples import closest, examples
from rails.outcome import allow, block, policy
from rails.toxicity.detector import scores

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _units(text: str) -> list[str]:
    """The text and, when it has several, each of its sentences."""
    parts = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    return [text.strip()] + (parts if len(parts) > 1 else [])


@action(name="check_toxicity")
async def check_toxicity(
    text: str = "", source: str = "input", config: Any = None, embed: Any = None, **kwargs: Any
) -> Any:
    if not (text or "").strip():
        return allow(None)
    settings = policy(config, "toxicity")
    threshold = float(settings.get("threshold", 0.5))
    units = _units(text)
    probabilities = await asyncio.to_thread(scores, units)  # CPU: off the event loop
    score = round(max(probabilities), 3)
    flagged = [u for u, p in zip(units, probabilities, strict=True) if p >= threshold]
    if not flagged:
        return allow(score)
    abuse, allowed = settings.get("abuse", []), settings.get("allowed", [])
    if embed is None or not abuse or not allowed:
        return block(f"toxic {source} (abusive, hateful or harassing)", score)
    found = await asyncio.to_thread(examples, config, [*abuse, *allowed], embed)
    vectors = await asyncio.to_thread(embed, flagged)
    for unit, vector in zip(flagged, vectors, strict=True):
        best = closest(vector, found)
        to_abuse = max(best.get(n, -1.0) for n in abuse)
        if to_abuse >= max(best.get(n, -1.0) for n in allowed):
            return block(
                f"toxic {source} (abusive, hateful or harassing)", score,
                abuse_similarity=round(to_abuse, 3), unit=unit[:200],
            )  # fmt: skip
    return allow(score, in_scope=True)
