"""The semantic answer cache's contract, for one replica (its memory) and for replicas that
share answers through Redis (one stores, the other looks up): a paraphrase of a stored question
is served the stored answer; a question that differs in a number or a negation is not;
another scope (index or prompt version) or partition (project) shares nothing; a scope change
forgets the old answers."""

from __future__ import annotations

import uuid

import pytest

from serving.cache import SemanticCache
from serving.shared_cache import RedisAnswers

KEY = b"conformance-cache-key"  # pragma: allowlist secret


@pytest.fixture(params=["memory", "redis"])
def replicas(request, embedder) -> tuple[SemanticCache, SemanticCache]:
    """(where answers are stored, where they are looked up)."""
    if request.param == "memory":
        cache = SemanticCache(embedder)
        return cache, cache
    url = request.getfixturevalue("redis_url")

    def replica() -> SemanticCache:
        return SemanticCache(embedder, shared=RedisAnswers(url, 100, 60, KEY))

    return replica(), replica()


ANSWER = {
    "answer": "Four hours every pay period.", "answer_mode": "selected",
    "citations": [{"source": "leave.md", "chunk_id": "c1", "score": 0.8}],
    "passages": [], "prompt_version": "answer@v4", "completion_tokens": 7,
}  # fmt: skip
STORED = "How much sick leave do employees earn every pay period?"


def scope() -> str:
    return f"index@{uuid.uuid4().hex[:6]}|answer@v4"


def test_a_paraphrase_is_served_the_stored_answer(replicas):
    writer, reader = replicas
    here = scope()
    writer.store(STORED, here, ANSWER)
    found = reader.lookup("How much sick leave does an employee earn each pay period?", here)
    assert found.result == "hit" and found.similarity >= reader.threshold
    assert found.hit["answer"] == ANSWER["answer"]
    assert found.hit["citations"] == ANSWER["citations"]


@pytest.mark.parametrize(
    ("question", "guard"),
    [
        ("How much sick leave do employees earn every 2 pay periods?", "guard_numbers"),
        ("How much sick leave don't employees earn every pay period?", "guard_negation"),
    ],
)
def test_a_near_paraphrase_that_asks_something_else_is_not_served(replicas, question, guard):
    writer, reader = replicas
    here = scope()
    writer.store(STORED, here, ANSWER)
    found = reader.lookup(question, here)
    assert found.hit is None and found.result == guard
    assert found.similarity >= reader.threshold  # near enough to be served but for its guard


def test_scopes_and_partitions_share_nothing(replicas):
    writer, reader = replicas
    here = scope()
    writer.store(STORED, here, ANSWER, partition="project:a")
    assert reader.lookup(STORED, here, "project:b").hit is None
    assert reader.lookup(STORED, here, "project:a").result == "hit"
    newer = scope()
    writer.store("Who issues laptops?", newer, ANSWER | {"answer": "The IT desk."})
    assert reader.lookup("Who issues laptops?", newer).hit["answer"] == "The IT desk."
    assert reader.lookup(STORED, newer, "project:a").hit is None  # the old scope is forgotten
