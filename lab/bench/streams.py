"""`railyard bench`: railyard's overhead against the bare vLLM server, side by side in one run.

The gateway runs in this process (uvicorn in a thread, the app `railyard serve` builds: guarded
graph, traces, metrics) over its own index of the knowledge base, and is called over HTTP with
the official `openai` client. Every prompt railyard sends to vLLM is recorded through a LiteLLM
callback; the bare side sends vLLM that same final prompt, asked for the same number of
completion tokens, greedy, so both sides produce the same tokens and the difference is
railyard's own cost (retrieval, rails, routing, tracing, HTTP). Order alternates per question.

Measured: latency p50/p95 ratio, TTFT (raw, and against the bare stream's first checkable unit:
the output rails hold text back until a sentence is checked), aggregate tokens/s with N
concurrent streams, per-request retrieval / rails / tracing cost, and the gateway's RSS.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai
import psutil

from graph.holdback import UNIT_END
from lab.stats import percentile

CHECKABLE_TOKENS = 32
"""The bare stream's first checkable unit: a sentence end, or this many tokens."""


@dataclass
class Timing:
    total_s: float
    ttft_s: float | None
    checkable_s: float | None
    completion_tokens: int
    trace_id: str | None = None
    text: str = ""


async def stream_once(
    client: openai.AsyncOpenAI, model: str, messages: list[dict], max_tokens: int, **extra
) -> Timing:
    """One streamed chat completion, timed on the client side."""
    start = time.perf_counter()
    ttft = checkable = None
    parts: list[str] = []
    tokens, trace_id = 0, None
    stream = await client.chat.completions.create(
        model=model, messages=messages, max_tokens=max_tokens, temperature=0, stream=True,
        stream_options={"include_usage": True}, **extra,
    )  # fmt: skip
    async for chunk in stream:
        now = time.perf_counter() - start
        extra_fields = chunk.model_extra or {}
        trace_id = (extra_fields.get("railyard") or {}).get("trace_id") or trace_id
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
        if chunk.choices and (delta := chunk.choices[0].delta.content):
            ttft = now if ttft is None else ttft
            parts.append(delta)
            if checkable is None and (
                UNIT_END.search("".join(parts)) or len(parts) >= CHECKABLE_TOKENS
            ):
                checkable = now
    total = time.perf_counter() - start
    return Timing(total, ttft, checkable or total, tokens or len(parts), trace_id, "".join(parts))


@dataclass
class RssSampler:
    """Peak resident memory of this process (the gateway and the bench client) while running."""

    interval_s: float = 0.1
    peak_mib: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak_mib = max(self.peak_mib, process.memory_info().rss / 2**20)
            self._stop.wait(self.interval_s)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
    }


async def alternate(first: Callable, second: Callable, index: int) -> tuple[Any, Any]:
    """Run the two sides one after the other, swapping which goes first on odd indices."""
    if index % 2:
        b = await second()
        return await first(), b
    a = await first()
    return a, await second()
