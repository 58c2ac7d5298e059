"""What a request to the paid fallback may carry: the rails mask names and places in its turns
(rails/pii/fallback.py) and the fallback's streamed answer has them put back, a placeholder
split across two chunks included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Egress = Callable[[list[dict[str, Any]]], tuple[list[dict[str, Any]], Callable[[str], str]]]
"""Messages to what the fallback is sent, and what restores its answer."""
LONGEST_PLACEHOLDER = 32
"""`<CREDIT_CARD_12>` and the like: a `<` further back than this starts no placeholder."""


class Restoring:
    """Restores a stream's placeholders as it goes: text from an unclosed `<` is held until the
    next chunk says whether it is a placeholder."""

    def __init__(self, restore: Callable[[str], str] | None = None) -> None:
        self.restore, self.held = restore, ""
        """None: nothing was masked, the stream passes as it is."""

    def feed(self, delta: str) -> str:
        if self.restore is None:
            return delta
        text, self.held = self.held + delta, ""
        start = text.rfind("<")
        if start != -1 and ">" not in text[start:] and len(text) - start < LONGEST_PLACEHOLDER:
            text, self.held = text[:start], text[start:]
        return self.restore(text)

    def flush(self) -> str:
        text, self.held = self.held, ""
        return self.restore(text) if self.restore is not None else text
