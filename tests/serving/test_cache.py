"""The semantic cache with the real MiniLM: paraphrases hit, other questions miss, changed
numbers and negations never hit, a new scope (index or prompt version) starts empty, and the
cache stays within its bounds."""

from __future__ import annotations

import pytest

from serving.cache import SemanticCache, signature

QUESTION = "How much sick leave do employees earn every pay period?"
ANSWER = {
    "answer": "Employees earn four hours of sick leave every pay period.",
    "answer_mode": "generated", "citations": [], "passages": [], "prompt_version": "answer@v2",
}  # fmt: skip


@pytest.fixture
def cache(embedder) -> SemanticCache:
    cache = SemanticCache(embedder, threshold=0.9)
    cache.store(QUESTION, "index@1|answer@v2", ANSWER)
    return cache


@pytest.mark.parametrize(
    "paraphrase",
    [
        "How much sick leave does an employee earn each pay period?",
        "how much sick leave do employees earn per pay period",
        "What amount of sick leave is earned every pay period?",
    ],
)
def test_a_paraphrase_hits(cache, paraphrase):
    found = cache.lookup(paraphrase, "index@1|answer@v2")
    assert found.result == "hit" and found.similarity >= 0.9
    assert found.hit["answer"] == ANSWER["answer"] and found.hit["question"] == QUESTION


def test_a_different_question_misses(cache):
    found = cache.lookup(
        "How much annual leave do employees earn every pay period?", "index@1|answer@v2"
    )
    assert found.hit is None and found.result == "miss" and found.similarity < 0.9


def test_changed_numbers_and_negations_never_hit(embedder):
    cache = SemanticCache(embedder, threshold=0.9)
    cache.store("Can I carry over 10 days of leave?", "s", ANSWER)
    cache.store("Can I work remotely while traveling?", "s", ANSWER)
    numbers = cache.lookup("Can I carry over 15 days of leave?", "s")
    assert numbers.result == "guard_numbers" and numbers.similarity >= 0.9
    negation = cache.lookup("Can't I work remotely while traveling?", "s")
    assert negation.result == "guard_negation" and negation.similarity >= 0.9
    assert cache.lookup("Can I carry over ten days of leave?", "s").hit is None
    assert cache.lookup("can i carry over 10 days of leave", "s").result == "hit"


def test_signature_reads_numbers_negations_and_directions():
    assert signature("Can't I take 2 days, not three?")[:2] == ({"2": 1, "three": 1}, 2)
    assert signature("Can I take two days?")[1] == 0
    assert signature("What is the biggest file before noon?")[2] == {"biggest": 1, "before": 1}


def test_affixal_negation_and_direction_words_never_hit(embedder):
    cache = SemanticCache(embedder, threshold=0.9)
    cache.store("How many weeks of paid leave do new parents get?", "s", ANSWER)
    cache.store("What is the biggest file that SAFE can send?", "s", ANSWER)
    unpaid = cache.lookup("How many weeks of unpaid leave do new parents get?", "s")
    assert unpaid.result == "guard_negation" and unpaid.similarity >= 0.9
    smallest = cache.lookup("What is the smallest file that SAFE can send?", "s")
    assert smallest.result == "guard_direction" and smallest.similarity >= 0.9
    assert cache.lookup("What is the largest file SAFE can send?", "s").result != "hit"


def test_a_new_scope_starts_empty_and_frees_the_old_one(cache):
    assert cache.lookup(QUESTION, "index@2|answer@v2").result == "miss"
    cache.store("Who issues laptops?", "index@2|answer@v2", ANSWER)
    assert len(cache) == 1  # the index@1 answers are gone
    assert cache.lookup(QUESTION, "index@1|answer@v2").result == "miss"


def test_bounded_by_entries_and_age(embedder):
    cache = SemanticCache(embedder, threshold=0.9, max_entries=2)
    for question in ("Who issues laptops?", "What is per diem?", "How do I book travel?"):
        cache.store(question, "s", ANSWER)
    assert len(cache) == 2
    assert cache.lookup("Who issues laptops?", "s").result == "miss"  # least recent went
    aged = SemanticCache(embedder, threshold=0.9, ttl_s=1e-9)
    aged.store("What is per diem?", "s", ANSWER)
    assert aged.lookup("What is per diem?", "s").hit is None


def test_answers_are_shared_within_their_partition_only(embedder):
    """Security review, issue 15 item 8: one project's answer, or one made with a `stop` that
    cut it ("Yes, you can" from "Yes, you can't"), never serves another partition."""
    cache = SemanticCache(embedder, threshold=0.9)
    cache.store(QUESTION, "s", ANSWER, partition='{"project": "alpha", "stop": null}')
    assert cache.lookup(QUESTION, "s", '{"project": "alpha", "stop": null}').result == "hit"
    assert cache.lookup(QUESTION, "s", '{"project": "beta", "stop": null}').result == "miss"
    assert cache.lookup(QUESTION, "s", '{"project": "alpha", "stop": ["n\'t"]}').hit is None
    # Both partitions keep their own answers side by side.
    cache.store(QUESTION, "s", ANSWER | {"answer": "beta's"}, partition='{"project": "beta"}')
    assert cache.lookup(QUESTION, "s", '{"project": "beta"}').hit["answer"] == "beta's"
    assert cache.lookup(QUESTION, "s", '{"project": "alpha", "stop": null}').result == "hit"


def test_questions_about_different_people_never_share_an_answer(embedder):
    cache = SemanticCache(embedder, threshold=0.9)
    cache.store("How much annual leave has Alice Moreno got left?", "s", ANSWER)
    cache.store("Alice asks: can I work from another country?", "s", ANSWER)
    other = cache.lookup("How much annual leave has Bruno Keller got left?", "s")
    assert other.hit is None
    assert other.result == "guard_names" or other.similarity < 0.9
    asker = cache.lookup("Bruno asks: can I work from another country?", "s")
    assert asker.hit is None
    assert cache.lookup("How much annual leave has Alice Moreno got left", "s").result == "hit"
