"""Locks held across processes for a long task (an ingestion run): a file lock on one machine,
a Redis lock across machines. Both are released if the holder dies: the kernel drops a dead
process's file lock; the Redis lock expires `ttl_s` after its holder stops renewing it."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from storage.redis import PREFIX, redis_client

log = logging.getLogger("railyard.locks")

Lock = Callable[[], contextlib.AbstractContextManager[None]]
"""Called to hold the lock for a `with` block; waits while another process holds it."""


class LockLost(RuntimeError):
    """The lock could not be taken (its server did not answer)."""


def file_lock(path: Path) -> Lock:
    @contextlib.contextmanager
    def held() -> Iterator[None]:
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("another process holds %s; waiting for it", path)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    return held


def redis_lock(url: str, name: str, ttl_s: float = 30.0) -> Lock:
    """redis-py's lock (a token set with NX and a TTL, released by a Lua compare-and-delete),
    renewed every `ttl_s / 3` by a thread while the block runs, so a run of hours keeps it and
    a holder that dies frees it within `ttl_s`."""

    @contextlib.contextmanager
    def held() -> Iterator[None]:
        import redis

        lock = redis_client(url).lock(
            f"{PREFIX}lock:{name}", timeout=ttl_s, sleep=0.2, thread_local=False
        )
        try:
            if not lock.acquire(blocking=False):
                log.info("another replica holds the lock %r; waiting for it", name)
                lock.acquire(blocking=True)
        except redis.RedisError as exc:
            raise LockLost(f"the lock {name!r} could not be taken: Redis at {url}: {exc}") from exc
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(ttl_s / 3):
                try:
                    lock.reacquire()
                except redis.RedisError as exc:  # LockNotOwnedError is one
                    log.error("renewing the lock %r failed: %s", name, exc)

        renewer = threading.Thread(target=renew, name=f"lock-{name}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            with contextlib.suppress(redis.RedisError):
                lock.release()

    return held
