"""check_injection: the verdict on whether a message tries to override or extract the
assistant's instructions (see detector.py for what is recognised)."""

from __future__ import annotations

import asyncio
from typing import Any

from nemoguardrails.actions import action

from rails.injection.detector import scan
from rails.outcome import allow, block, policy


@action(name="check_injection")
async def check_injection(
    text: str = "", source: str = "input", config: Any = None, **kwargs: Any
) -> Any:
    threshold = float(policy(config, "injection").get("threshold", 0.7))
    # CPU work (normalisation, a few dozen regexes over up to the body limit) runs on a thread,
    # so one long message never stalls the event loop every other request shares.
    finding = await asyncio.to_thread(scan, text or "")
    if finding.score >= threshold:
        families = ", ".join(finding.families)
        return block(f"prompt injection ({families})", finding.score, decoded=finding.decoded)
    return allow(finding.score)
