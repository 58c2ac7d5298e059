"""mask_pii: PII in the user's message becomes placeholders (their values travel in the
verdict's metadata so the answer can have them restored); PII in the answer is redacted."""

from __future__ import annotations

import asyncio
from typing import Any

from nemoguardrails.actions import action

from rails.outcome import allow, policy, transform
from rails.pii.detector import DEFAULT_ENTITIES, Masker, redact


@action(name="mask_pii")
async def mask_pii(
    text: str = "",
    source: str = "input",
    config: Any = None,
    context: dict | None = None,
    **kwargs: Any,
) -> Any:
    entities = tuple(policy(config, "pii").get("entities", DEFAULT_ENTITIES))
    if source == "input":
        masker = Masker((context or {}).get("pii_values"))
        masked = await asyncio.to_thread(masker.mask, text or "", entities)  # Presidio: CPU
        if masked == text:
            return allow(None)
        return transform(source, masked, "PII masked", values=masker.values)
    redacted, found = await asyncio.to_thread(redact, text or "", entities)
    if not found:
        return allow(None)
    kinds = sorted({e.kind for e in found})
    return transform(source, redacted, f"PII redacted ({', '.join(kinds)})", kinds=kinds)
