"""Trace ids: UUIDv7 (RFC 9562), 32 hex digits, whose first 48 bits are the time they were
minted in milliseconds and whose last 32 bits are a tag keyed by the deployment's secret (kept
in the trace database every replica shares), so a store can tell an id a gateway minted and has
not committed yet from one it never will, and a forged fresh id from a real one.

Each replica writes its traces from a thread of its own: an id minted a moment ago on another
replica may not be committed yet when a client reads it (or rates it) through this one."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from storage.database import Database

FRESH_S = 60.0
"""An unknown trace id minted less than this long ago may be on its way from another replica."""
FRESH_WAIT_S = 5.0
"""How long a read of such an id waits for it to be committed."""
_T = TypeVar("_T")


TAG_BITS = 32


def new_trace_id(key: bytes | None = None) -> str:
    """A UUIDv7; with `key`, its last 32 random bits are the tag `minted_with` checks."""
    millis = time.time_ns() // 1_000_000
    value = (millis & (1 << 48) - 1) << 80 | int.from_bytes(os.urandom(10)) & ((1 << 80) - 1)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    if key is not None:
        value = value >> TAG_BITS << TAG_BITS | _tag(key, value >> TAG_BITS)
    return uuid.UUID(int=value).hex


def deployment_key(database: Database) -> bytes:
    """The deployment's trace-id key, kept in the trace database (table `trace_id_keys`, made
    by the trace store's migrations): made by the first replica, read by the others."""
    with database.connect() as db:
        db.execute(
            "INSERT INTO trace_id_keys (name, secret) VALUES ('trace-ids', ?) "
            "ON CONFLICT (name) DO NOTHING",
            (secrets.token_hex(32),),
        )
        row = db.execute("SELECT secret FROM trace_id_keys WHERE name = 'trace-ids'").fetchone()
    return bytes.fromhex(row["secret"])


def _tag(key: bytes, head: int) -> int:
    digest = hmac.new(key, head.to_bytes(12, "big"), hashlib.sha256).digest()
    return int.from_bytes(digest[: TAG_BITS // 8], "big")


def minted_with(trace_id: str, key: bytes) -> bool:
    """Whether a gateway holding `key` minted this id (its tag matches)."""
    try:
        value = uuid.UUID(hex=trace_id).int
    except ValueError:
        return False
    tag = value & ((1 << TAG_BITS) - 1)
    return hmac.compare_digest(
        tag.to_bytes(4, "big"), _tag(key, value >> TAG_BITS).to_bytes(4, "big")
    )


def may_arrive(trace_id: str, key: bytes | None) -> bool:
    """Whether an unknown id is worth waiting for: minted in the last FRESH_S, by a gateway of
    this deployment when `key` is given (a forged fresh id is a miss at once)."""
    minted = minted_at(trace_id)
    if minted is None or abs(time.time() - minted) >= FRESH_S:
        return False
    return key is None or minted_with(trace_id, key)


def minted_at(trace_id: str) -> float | None:
    """When a UUIDv7 trace id was minted (epoch seconds); None for any other id."""
    try:
        value = uuid.UUID(hex=trace_id)
    except ValueError:
        return None
    if value.version != 7:
        return None
    return (value.int >> 80) / 1000


def awaited(trace_id: str, read: Callable[[], _T], key: bytes | None = None) -> _T:
    """`read()`; for an id that may still arrive (`may_arrive`: another replica may still be
    committing it), again until it is there or FRESH_WAIT_S have passed. Blocks its thread:
    for the CLI; the HTTP endpoints wait without holding one (observability/api_router.py)."""
    deadline = time.monotonic() + (FRESH_WAIT_S if may_arrive(trace_id, key) else 0.0)
    while not (result := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result
