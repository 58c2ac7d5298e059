"""The Redis that gateway replicas share (RAILYARD_REDIS_URL). Every call is bounded: a Redis
that stops answering costs a request at most `TIMEOUT_S`, never a hung event loop."""

from __future__ import annotations

from functools import cache

TIMEOUT_S = 0.5
PREFIX = "railyard:"


@cache
def redis_client(url: str):
    """One connection pool per URL per process (redis-py's client is thread-safe)."""
    import redis

    return redis.Redis.from_url(
        url,
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
        health_check_interval=30,
        decode_responses=True,
    )
