"""check_secrets and check_system_prompt: does the answer disclose a credential, or repeat the
system prompt?"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from nemoguardrails.actions import action

from rails.outcome import allow, block, policy
from rails.secrets.detector import find, visible

_WORD = re.compile(r"[a-z0-9']+")


@action(name="check_secrets")
async def check_secrets(
    text: str = "", source: str = "output", context: dict | None = None, **kwargs: Any
) -> Any:
    # With the end of what was released before this unit: a key cut by a line break into two
    # units is read whole (what was released alone had passed, so a find involves this unit).
    window = _joined((context or {}).get("preceding") or "", text or "")
    found = await asyncio.to_thread(find, window)  # detect-secrets' plugins: CPU
    if found:
        kinds = sorted({s.kind for s in found})
        return block(f"secret in {source} ({', '.join(kinds)})", 1.0, kinds=kinds)
    return allow(0.0)


def _joined(preceding: str, text: str) -> str:
    """The released text's end and this unit, as the client reads them (each released unit
    keeps the space or line break that ended it)."""
    if preceding and not preceding[-1].isspace():
        return f"{preceding} {text}"
    return preceding + text


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(visible(text).lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@action(name="check_system_prompt")
async def check_system_prompt(
    text: str = "", config: Any = None, context: dict | None = None, **kwargs: Any
) -> Any:
    system_prompt = (context or {}).get("system_prompt") or ""
    n = int(policy(config, "system_prompt").get("ngram", 8))
    secret = _ngrams(system_prompt, n)
    if not secret:
        return allow(None)
    # Over the released text's end too: a copy with a line break every few words spans units.
    window = _joined((context or {}).get("preceding") or "", text or "")
    shared = len(await asyncio.to_thread(_ngrams, window, n) & secret)
    score = round(shared / len(secret), 3)
    if shared:
        return block("system prompt text in the answer", score)
    return allow(score)
