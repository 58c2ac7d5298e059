"""check_secrets and check_system_prompt: does the answer disclose a credential, or repeat the
system prompt?"""

from __future__ import annotations

import re
from typing import Any

from nemoguardrails.actions import action

from rails.outcome import allow, block, policy
from rails.secrets.detector import find

_WORD = re.compile(r"[a-z0-9']+")


@action(name="check_secrets")
async def check_secrets(text: str = "", source: str = "output", **kwargs: Any) -> Any:
    found = find(text or "")
    if found:
        kinds = sorted({s.kind for s in found})
        return block(f"secret in {source} ({', '.join(kinds)})", 1.0, kinds=kinds)
    return allow(0.0)


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
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
    shared = len(_ngrams(text or "", n) & secret)
    score = round(shared / len(secret), 3)
    if shared:
        return block("system prompt text in the answer", score)
    return allow(score)
