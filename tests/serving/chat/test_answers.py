"""Answers as `railyard serve` gives them by default, through the official openai client on the
real vLLM: follow-up questions (a named thread read back from its checkpoints, or the whole
conversation sent by the client) and the three outcomes with their calibrated confidence."""

from __future__ import annotations

import uuid

import openai
import pytest

SICK_LEAVE = "How many hours of sick leave do employees earn?"


@pytest.fixture(scope="module")
def client(served_gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=served_gateway.url + "/v1", api_key="unused", max_retries=0)


def ask(client: openai.OpenAI, messages: list[dict], thread: str | None = None):
    headers = {"X-Railyard-Thread-Id": thread} if thread else None
    # temperature 0 (greedy, as served) keeps these answers in a cache partition of their own,
    # apart from the semantic cache tests on the same gateway.
    reply = client.chat.completions.create(
        model="railyard", messages=messages, max_tokens=64, temperature=0.0,
        extra_headers=headers,
    )  # fmt: skip
    return reply.choices[0].message.content, reply.model_extra["railyard"]


def sources(info: dict) -> list[str]:
    return [c["source"] for c in info["citations"]]


def test_a_named_threads_follow_ups_are_answered_about_what_they_refer_to(client):
    thread = f"follow-up-{uuid.uuid4().hex[:8]}"
    first, info = ask(client, [{"role": "user", "content": SICK_LEAVE}], thread)
    assert "four hours of sick leave" in first and sources(info)[0] == "leave/sick-leave.md"
    # Only the new turn is sent: the thread's checkpoint supplies what "it" is.
    second, info = ask(client, [{"role": "user", "content": "How do I request it?"}], thread)
    assert "time tracking system" in second, second
    assert sources(info)[0] == "leave/sick-leave.md"
    third, info = ask(client, [{"role": "user", "content": "By when?"}], thread)
    assert "end of the pay period" in third, third
    assert sources(info)[0] == "leave/sick-leave.md"


def test_the_same_follow_up_without_its_thread_is_not_about_sick_leave(client):
    """The control: alone, "How do I request it?" does not name sick leave."""
    alone, info = ask(client, [{"role": "user", "content": "By when?"}])
    assert "end of the pay period" not in alone or info["decision"] != "answer"


def test_a_follow_up_sent_with_its_conversation_streams_its_answer(client):
    messages = [
        {"role": "user", "content": SICK_LEAVE},
        {"role": "assistant", "content": "Four hours every pay period."},
        {"role": "user", "content": "How do I request it?"},
    ]
    chunks = list(
        client.chat.completions.create(
            model="railyard", messages=messages, max_tokens=64, temperature=0.0, stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    info = chunks[-1].model_extra["railyard"]
    assert "time tracking system" in text, text
    assert sources(info)[0] == "leave/sick-leave.md"


def test_an_answer_says_how_sure_it_is(client):
    text, info = ask(client, [{"role": "user", "content": "Who gives me my laptop on day one?"}])
    assert info["decision"] == "answer" and info["answer_mode"] == "selected"
    assert 0.0 <= info["confidence"] <= 1.0
    assert "IT service desk" in text and sources(info)[0] == "tools/laptops.txt"


def test_a_question_the_handbook_has_nothing_for_gets_i_dont_know(client):
    text, info = ask(
        client, [{"role": "user", "content": "What is the boiling point of mercury in kelvin?"}]
    )
    assert info["decision"] == "none" and info["answer_mode"] == "no_context", (text, info)
    assert text.startswith("I don't know") and info["citations"] == []
    assert info["model_called"] and info["confidence"] < 0.5
