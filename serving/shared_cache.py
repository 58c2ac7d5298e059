"""The semantic cache shared by replicas: every stored answer is appended to a Redis stream per
scope, and each replica reads what it has not seen before a lookup (one XRANGE from its last
entry id). The vectors are compared in each replica's memory, as with one replica; Redis only
carries the entries. The stream is trimmed to the cache's size and expires with its TTL, so an
old scope (an index or prompt version gone) disappears by itself.

Each record is signed (HMAC-SHA256 over all its fields) with the deployment's cache key,
RAILYARD_CACHE_SIGNING_KEY, which lives with the replicas and not in Redis: a record written
into the stream by anyone else (it carries the answer and the passages a hit serves) fails the
check and is dropped, logged.

Redis unreachable: the replica keeps its own cache (logged once), as with one replica."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
from typing import Any

import numpy as np

from storage.redis import PREFIX, redis_client

log = logging.getLogger("railyard.cache")


class RedisAnswers:
    def __init__(self, url: str, max_entries: int, ttl_s: float, key: bytes) -> None:
        self.url, self.max_entries, self.ttl_s = url, max_entries, ttl_s
        self._key_bytes = key
        self._seen: dict[str, str] = {}
        """Per stream: the id of the last entry read."""
        self._lock = threading.Lock()
        self._failing = False

    def _key(self, scope: str) -> str:
        return f"{PREFIX}cache:{hashlib.sha256(scope.encode()).hexdigest()[:32]}"

    def publish(
        self,
        scope: str,
        question: str,
        partition: str,
        answer: dict[str, Any],
        vector: np.ndarray,
        stored_at: float,
    ) -> None:
        record = {
            "question": question, "partition": partition, "answer": json.dumps(answer),
            "vector": base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode(),
            "stored_at": repr(stored_at),
        }  # fmt: skip
        record["signature"] = _sign(self._key_bytes, scope, record)
        key = self._key(scope)
        try:
            pipe = redis_client(self.url).pipeline()
            pipe.xadd(key, record, maxlen=self.max_entries, approximate=True)
            pipe.expire(key, max(1, int(self.ttl_s)))
            pipe.execute()
        except Exception as exc:  # redis.RedisError, or a value it cannot send
            self._failed(exc)

    def since(self, scope: str) -> list[dict[str, Any]]:
        key = self._key(scope)
        with self._lock:
            last = self._seen.get(key)
        try:
            entries = redis_client(self.url).xrange(key, min=f"({last}" if last else "-")
        except Exception as exc:
            self._failed(exc)
            return []
        self._failing = False
        if not entries:
            return []
        with self._lock:
            self._seen[key] = entries[-1][0]
        records = []
        for entry_id, fields in entries:
            signed = fields.pop("signature", "")
            if not hmac.compare_digest(signed, _sign(self._key_bytes, scope, fields)):
                log.warning("dropped shared cache entry %s: its signature does not match", entry_id)
                continue
            try:
                records.append(_record(fields))
            except (KeyError, ValueError) as exc:
                log.warning("dropped shared cache entry %s: %s", entry_id, exc)
        return records

    def _failed(self, exc: Exception) -> None:
        if not self._failing:
            log.warning("the shared answer cache is unreachable (%s); this replica's own", exc)
        self._failing = True


def _sign(key: bytes, scope: str, fields: dict[str, str]) -> str:
    """The record's signature: its scope and every field, in a fixed order."""
    message = json.dumps([scope, sorted(fields.items())], separators=(",", ":"))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _record(fields: dict[str, str]) -> dict[str, Any]:
    return {
        "question": fields["question"],
        "partition": fields["partition"],
        "answer": json.loads(fields["answer"]),
        "vector": np.frombuffer(base64.b64decode(fields["vector"]), dtype=np.float32),
        "stored_at": float(fields["stored_at"]),
    }
