"""Routing policies and the difficulty signal (graph/routing.py, graph/difficulty.py)."""

from __future__ import annotations

import pytest

from graph.difficulty import difficulty
from graph.routing import POLICIES, policy


def test_named_policies():
    assert not policy("local-only").reaches_fallback
    assert policy("api-only").first == "fallback"
    assert policy("quality-gated").falls_back_on("rejected")
    assert not policy("local-first").falls_back_on("rejected")
    assert policy("difficulty", max_difficulty=0.7).max_difficulty == 0.7
    # The threshold only applies to the policy that routes by difficulty.
    assert policy("local-first", max_difficulty=0.7).max_difficulty is None
    with pytest.raises(ValueError, match="choose from"):
        policy("cheapest")


def test_unsure_answers_escalate_only_with_a_fallback_configured():
    assert not policy("local-first").falls_back_on("unsure")
    assert policy("local-first", fallback_configured=True).falls_back_on("unsure")
    assert not policy("local-only", fallback_configured=True).falls_back_on("unsure")


def test_escalating_variant_only_where_the_fallback_is_reachable():
    assert POLICIES["local-first"].escalating().name == "local-first+escalate"
    assert POLICIES["local-first"].escalating().falls_back_on("rejected")
    assert POLICIES["local-only"].escalating() == POLICIES["local-only"]
    assert POLICIES["api-only"].escalating() == POLICIES["api-only"]
    assert POLICIES["quality-gated"].escalating() == POLICIES["quality-gated"]


def passages(*scores: float, sources=None) -> list[dict]:
    sources = sources or [f"doc{i}.md" for i in range(len(scores))]
    return [{"score": s, "source": src} for s, src in zip(scores, sources, strict=True)]


def test_open_questions_on_weak_retrieval_score_harder_than_well_matched_facts():
    easy = difficulty("How many hours of sick leave do I earn?", passages(0.8, 0.5))
    hard = difficulty(
        "Why should a team compare the trade-offs of pairing and code review before a launch?",
        passages(0.42, 0.41, 0.40),
    )
    assert 0 <= easy < 0.2
    assert hard > 0.6
    # Each signal moves the score the same way on its own.
    question = "How many hours of sick leave do I earn?"
    assert difficulty(question, passages(0.4)) > difficulty(question, passages(0.8))
    assert difficulty(question, []) == difficulty(question, passages(0.0))
