"""Reading a route's stream: what it has sent so far, and its first chunk read ahead."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from graph.protocols import Usage
from serving.llm.egress import Restoring


@dataclass
class Received:
    """What a route's stream has sent so far: its text (placeholders restored), usage when it
    reported one, the model that answered, why it finished, and when its first text came."""

    restoring: Restoring
    start: float = field(default_factory=time.perf_counter)
    parts: list[str] = field(default_factory=list)
    usage: Usage | None = None
    model: str = ""
    finish: str = "stop"
    ttft: float | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def take(self, chunk: Any) -> str:
        """A chunk's text (empty when it carries none)."""
        if getattr(chunk, "usage", None):
            self.usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        self.model = chunk.model or self.model
        if not chunk.choices:
            return ""
        self.finish = chunk.choices[0].finish_reason or self.finish
        return self._add(self.restoring.feed(chunk.choices[0].delta.content or ""))

    def flush(self) -> str:
        """Text held back at the end (an unclosed placeholder)."""
        return self._add(self.restoring.flush())

    def _add(self, delta: str) -> str:
        if delta:
            self.ttft = self.ttft if self.ttft is not None else time.perf_counter() - self.start
            self.parts.append(delta)
        return delta


async def first_read(response: Any) -> AsyncIterator[Any]:
    """The stream with its first chunk already read: a stream that fails before it has said
    anything fails here, where it can still fall back."""
    iterator = response.__aiter__()
    try:
        first = await iterator.__anext__()
    except StopAsyncIteration:
        first = None

    async def chunks() -> AsyncIterator[Any]:
        if first is not None:
            yield first
        async for chunk in iterator:
            yield chunk

    return chunks()
