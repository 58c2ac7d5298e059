"""Hold-back for streamed answers: text reaches the client only after the output rails have
passed it, one sentence (or line, or ~200 characters) at a time, so a leak is never partly sent."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from graph.protocols import RailsVerdicts, ungrounded

# A unit ends after sentence punctuation (and closing quotes) followed by space, or at a line
# break; text without either is released in pieces of at most MAX_UNIT characters, cut at a space.
UNIT_END = re.compile(r"[.!?][\"')\]]*\s+|\n+")
MAX_UNIT = 200
WINDOW = 600
"""How much of the released text each check sees before its unit: a leak cut across units (a
key split by a line break, a system prompt copied a line at a time) is checked whole."""


class HoldBack:
    def __init__(
        self,
        check: Callable[[str, str], Awaitable[RailsVerdicts]],
        write: Callable[[str], None],
        restore: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.check = check
        self.write = write
        self.restore = restore
        self.pending = ""
        self.sent = ""
        """Text released to the client (placeholders restored)."""
        self.released = ""
        """The same text as the rails passed it (placeholders in place): what the state keeps."""
        self.checked = ""
        """The end of the released text as the rails saw it (placeholders in place)."""
        self.verdicts: list[dict[str, Any]] = []
        self.blocked: dict[str, Any] | None = None
        self.refusal: str | None = None

    @property
    def ungrounded(self) -> bool:
        return ungrounded(self.blocked)

    async def feed(self, text: str) -> bool:
        """Take streamed text; False once the rails have stopped the answer."""
        self.pending += text
        while unit := self._next_unit():
            if not await self._release(unit):
                return False
        return True

    async def close(self) -> bool:
        unit, self.pending = self.pending, ""
        return await self._release(unit) if unit.strip() else True

    def _next_unit(self) -> str | None:
        match = UNIT_END.search(self.pending)
        if match:
            cut = match.end()
        elif len(self.pending) > MAX_UNIT and " " in self.pending[MAX_UNIT // 2 :]:
            cut = self.pending.rindex(" ") + 1
        else:
            return None
        unit, self.pending = self.pending[:cut], self.pending[cut:]
        return unit

    async def _release(self, unit: str) -> bool:
        result = await self.check(unit.strip(), self.checked[-WINDOW:])
        self.verdicts += result.verdicts
        if result.blocked:
            self.blocked, self.refusal = result.blocked, result.refusal
            return False
        text = unit if result.text == unit.strip() else result.text + unit[len(unit.rstrip()) :]
        self.checked = (self.checked + text)[-WINDOW:]
        self.released += text
        text = self.restore(text)
        self.write(text)
        self.sent += text
        return True
