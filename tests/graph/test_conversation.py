"""The question a turn asks: a follow-up stands on its own with the turns it leans on; a named
thread's earlier turns are read back when the client sends only the new one."""

from __future__ import annotations

import pytest

from graph.conversation import leans_on_history, standalone_question, with_thread_history


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


FIRST = "How much annual leave do new employees earn each pay period?"


@pytest.mark.parametrize(
    "follow_up",
    [
        "and for part-timers?",
        "What about contractors?",
        "Does it carry over to next year?",
        "how long for that one?",
        "Can they take it in their first month?",
    ],
)
def test_a_follow_up_is_asked_with_the_turn_it_leans_on(follow_up: str):
    messages = [user(FIRST), assistant("Four hours."), user(follow_up)]
    assert leans_on_history(follow_up)
    assert standalone_question(messages) == f"{FIRST} {follow_up}"


def test_a_question_that_names_its_own_subject_stands_alone():
    question = "Who approves travel requests for conference attendance abroad?"
    messages = [user(FIRST), assistant("Four hours."), user(question)]
    assert not leans_on_history(question)
    assert standalone_question(messages) == question


def test_a_chain_of_follow_ups_reaches_back_to_the_turn_that_stood_alone():
    messages = [
        user("Is there a stipend for my home office setup?"), assistant("Yes."),
        user("Who approves it?"), assistant("Your supervisor."),
        user("and how long does that take?"),
    ]  # fmt: skip
    assert standalone_question(messages) == (
        "Is there a stipend for my home office setup? Who approves it? and how long does that take?"
    )


def test_a_single_question_is_itself():
    assert standalone_question([user("and?")]) == "and?"
    assert standalone_question([{"role": "system", "content": "Be brief."}, user(FIRST)]) == FIRST


def test_a_threads_saved_turn_is_read_back_before_the_new_one():
    saved = {"messages": [user(FIRST)], "answer": "You earn four hours."}
    system = {"role": "system", "content": "Be brief."}
    assert with_thread_history(saved, [system, user("and for part-timers?")]) == [
        system, user(FIRST), assistant("You earn four hours."), user("and for part-timers?"),
    ]  # fmt: skip


def test_a_client_that_sends_the_whole_conversation_keeps_it():
    saved = {"messages": [user("something older")], "answer": "old"}
    sent = [user(FIRST), assistant("Four hours."), user("and for part-timers?")]
    assert with_thread_history(saved, sent) == sent
    assert with_thread_history({}, [user(FIRST)]) == [user(FIRST)]


@pytest.mark.parametrize(
    "question",
    [
        "How many days of paid parental leave can a new parent take?",
        "Is there a stipend for buying a standing desk for my home office?",
    ],
)
def test_a_new_question_in_a_thread_is_not_joined_to_the_last(question: str):
    messages = [user(FIRST), assistant("Four hours."), user(question)]
    assert standalone_question(messages) == question
