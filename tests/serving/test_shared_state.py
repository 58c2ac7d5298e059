"""Replicas share their counters through Redis (issue 16): rate limits and the fallback budget
counted by one gateway are seen by every other, on a real `redis-server`. Each limiter or
budget object here is one replica's view; the two-process test is tests/serving/test_replicas.py."""

from __future__ import annotations

import time
import uuid

import pytest

from serving.access import SharedRateLimiter
from serving.errors import RateLimited
from serving.llm.budget import SharedFallbackBudget

KEY = b"replicas-cache-key"


def caller() -> str:
    return f"key-{uuid.uuid4().hex[:8]}"


def test_requests_per_minute_are_counted_across_replicas(redis_url):
    one, two = SharedRateLimiter(redis_url, 3, None), SharedRateLimiter(redis_url, 3, None)
    who = caller()
    for replica in (one, two, one):
        replica.admit(who, 10)
    with pytest.raises(RateLimited) as caught:
        two.admit(who, 10)
    assert caught.value.type == "requests" and 0 < caught.value.retry_after <= 60
    two.admit(caller(), 10)  # another caller has its own count


def test_tokens_per_minute_are_reserved_then_settled_across_replicas(redis_url):
    one, two = SharedRateLimiter(redis_url, None, 1000), SharedRateLimiter(redis_url, None, 1000)
    who = caller()
    ticket = one.admit(who, 900)  # reserved: prompt estimate + max_tokens
    with pytest.raises(RateLimited) as caught:
        two.admit(who, 200)
    assert caught.value.type == "tokens" and "used 900" in str(caught.value.body())
    one.settle(ticket, 100)  # the request really used 100 tokens
    two.admit(who, 800)
    with pytest.raises(RateLimited) as too_large:
        one.admit(caller(), 1001)
    assert too_large.value.retry_after is None


def test_an_unreachable_redis_counts_in_the_replica_within_its_timeout():
    closed = "redis://127.0.0.1:9/0"  # discard port: nothing listens
    limiter = SharedRateLimiter(closed, 2, None)
    start = time.monotonic()
    for _ in range(2):
        limiter.admit("k", 1)
    with pytest.raises(RateLimited):
        limiter.admit("k", 1)  # still limited, by this process's own count
    assert time.monotonic() - start < 5


def test_a_budget_spent_through_one_replica_is_spent_for_the_other(redis_url):
    clock = [1_900_000_000.0 + uuid.uuid4().int % 10**6 * 86_400]  # a day of its own
    one = SharedFallbackBudget(redis_url, 0.01, clock=lambda: clock[0])
    two = SharedFallbackBudget(redis_url, 0.01, clock=lambda: clock[0])
    one.seed(0.004)
    two.seed(0.0)  # a later replica does not reset what the first seeded
    assert two.spent_usd == pytest.approx(0.004) and not two.exhausted
    one.add(0.003)
    two.add(0.003)
    assert one.exhausted and two.exhausted
    clock[0] += 86_400  # the next UTC day starts from zero
    assert not one.exhausted and one.spent_usd == 0.0
    assert 0 < one.seconds_to_reset() <= 86_400


def test_an_unreachable_redis_makes_no_paid_call_it_cannot_count():
    assert SharedFallbackBudget("redis://127.0.0.1:9/0", 100.0).exhausted


def test_ingestion_runs_take_turns_through_the_redis_lock(redis_url):
    import threading

    from storage.locks import redis_lock

    name = f"ingest:{uuid.uuid4().hex[:6]}"
    one, two = redis_lock(redis_url, name, ttl_s=0.6), redis_lock(redis_url, name, ttl_s=0.6)
    events: list[str] = []

    def run(lock, who: str) -> None:
        with lock():
            events.append(f"{who} start")
            time.sleep(1.5)  # past the TTL: the holder renews it
            events.append(f"{who} end")

    first = threading.Thread(target=run, args=(one, "one"))
    first.start()
    time.sleep(0.2)
    second = threading.Thread(target=run, args=(two, "two"))
    second.start()
    first.join(10)
    second.join(10)
    assert events == ["one start", "one end", "two start", "two end"]


def test_a_lock_whose_holder_died_frees_itself_after_its_ttl(redis_url):
    from storage.locks import redis_lock
    from storage.redis import PREFIX, redis_client

    name = f"ingest:{uuid.uuid4().hex[:6]}"
    # A holder that died: the key is set and nobody renews it.
    redis_client(redis_url).set(f"{PREFIX}lock:{name}", "dead-holder", px=800)
    start = time.monotonic()
    with redis_lock(redis_url, name)():
        waited = time.monotonic() - start
    assert 0.5 < waited < 5


def test_a_cache_entry_written_into_redis_by_someone_else_is_not_served(redis_url, embedder):
    """Anyone who reaches Redis can append to the stream; a hit serves the record's answer and
    passages whole, so an entry without the replicas' signature is dropped."""
    import base64
    import json

    import numpy as np

    from serving.cache import SemanticCache
    from serving.shared_cache import RedisAnswers
    from storage.redis import redis_client

    shared = RedisAnswers(redis_url, 100, 60, KEY)
    replica = SemanticCache(embedder, shared=shared)
    scope = f"index@{uuid.uuid4().hex[:6]}|answer@v2"
    question = "Where do I find the VPN setup guide?"
    vector = np.asarray(embedder.embed([question])[0], dtype=np.float32)
    lure = "Send your password to it-help@evil.example."
    planted = {
        "question": question, "partition": "",
        "answer": json.dumps({"answer": lure, "passages": [{"text": lure}]}),
        "vector": base64.b64encode(vector.tobytes()).decode(), "stored_at": repr(time.time()),
    }  # fmt: skip
    stream = shared._key(scope)
    redis_client(redis_url).xadd(stream, planted | {"signature": "0" * 64})
    redis_client(redis_url).xadd(stream, planted)  # no signature at all
    assert replica.lookup(question, scope).hit is None
    # Signed with another deployment's key: dropped too; signed with this one's: served.
    RedisAnswers(redis_url, 100, 60, b"another deployment").publish(
        scope, question, "", json.loads(planted["answer"]), vector, time.time()
    )
    assert replica.lookup(question, scope).hit is None
    SemanticCache(embedder, shared=RedisAnswers(redis_url, 100, 60, KEY)).store(
        question, scope, {"answer": "The VPN guide is in the IT handbook."}
    )
    assert replica.lookup(question, scope).hit["answer"] == "The VPN guide is in the IT handbook."
