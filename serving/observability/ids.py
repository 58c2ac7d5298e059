"""Trace ids: UUIDv7 (RFC 9562), 32 hex digits, whose first 48 bits are the time they were
minted in milliseconds, so a store can tell an id it has not seen yet from one it never will.

Each replica writes its traces from a thread of its own: an id minted a moment ago on another
replica may not be committed yet when a client reads it (or rates it) through this one."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

FRESH_S = 60.0
"""An unknown trace id minted less than this long ago may be on its way from another replica."""
FRESH_WAIT_S = 5.0
"""How long a read of such an id waits for it to be committed."""
_T = TypeVar("_T")


def new_trace_id() -> str:
    millis = time.time_ns() // 1_000_000
    value = (millis & (1 << 48) - 1) << 80 | int.from_bytes(os.urandom(10)) & ((1 << 80) - 1)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    return uuid.UUID(int=value).hex


def minted_at(trace_id: str) -> float | None:
    """When a UUIDv7 trace id was minted (epoch seconds); None for any other id."""
    try:
        value = uuid.UUID(hex=trace_id)
    except ValueError:
        return None
    if value.version != 7:
        return None
    return (value.int >> 80) / 1000


def awaited(trace_id: str, read: Callable[[], _T]) -> _T:
    """`read()`; for an id minted in the last FRESH_S that is not there yet (another replica
    may still be committing it), again until it is or FRESH_WAIT_S have passed."""
    minted = minted_at(trace_id)
    fresh = minted is not None and abs(time.time() - minted) < FRESH_S
    deadline = time.monotonic() + (FRESH_WAIT_S if fresh else 0.0)
    while not (result := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result
