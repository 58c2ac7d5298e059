"""Trace ids: UUIDv7 (RFC 9562), 32 hex digits, whose first 48 bits are the time they were
minted in milliseconds, so a store can tell an id it has not seen yet from one it never will.

Each replica writes its traces from a thread of its own: an id minted a moment ago on another
replica may not be committed yet when a client reads it (or rates it) through this one."""

from __future__ import annotations

import os
import time
import uuid


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
