"""The question a request asks, read from its conversation: the last user turn, made to stand on
its own when it leans on the turns before it ("and for part-timers?", "does it carry over?").

The cheap, non-LLM mode of conversational retrieval (as in NVIDIA's RAG blueprint, where
query rewriting by a model is the other option): a follow-up that is short, starts by joining
on to the last question, or refers back with a pronoun is asked together with the user turn it
follows; a question that names its own subject stands alone."""

from __future__ import annotations

import re

from ingest.text import content_words

FOLLOW_ON = re.compile(
    r"^\s*(and|also|but|or|so|what about|how about|same|then|plus|what if|ok(ay)?|what else|"
    r"anything else)\b",
    re.I,
)
BACK_REFERENCE = re.compile(r"\b(it|its|that|this|those|these|they|them|their|one)\b", re.I)
SHORT = 4
"""A follow-up with this many content words or fewer names no subject of its own."""
REFERRING = 7
"""A turn this short (content words) that points back with a pronoun leans on the last one;
a longer one names enough of its own subject."""


def last_user_message(messages: list[dict[str, str]]) -> str:
    return next(m["content"] for m in reversed(messages) if m["role"] == "user")


def user_turns(messages: list[dict[str, str]]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "user"]


def leans_on_history(question: str) -> bool:
    """The turn cannot be understood alone: it joins on to the last one, is too short to name a
    subject, or points back with a pronoun."""
    words = len(content_words(question))
    if FOLLOW_ON.search(question) or words <= SHORT:
        return True
    return words <= REFERRING and bool(BACK_REFERENCE.search(question))


def standalone_question(messages: list[dict[str, str]]) -> str:
    """The last user turn, preceded by the user turns it leans on (back to the last one that
    stood alone), so retrieval and answer selection see what it refers to."""
    turns = user_turns(messages)
    if not turns:
        return ""
    chain = [turns[-1]]
    for earlier in reversed(turns[:-1]):
        if not leans_on_history(chain[0]):
            break
        chain.insert(0, earlier)
    return " ".join(t.strip() for t in chain)


HISTORY_TURNS = 6
"""How many earlier messages of a named thread are read back (user and assistant turns)."""


def with_thread_history(saved: dict, messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The client's messages after the thread's earlier turns, when the client sent only the new
    turn (no assistant message): the checkpointed conversation of the last turn (masked, as the
    rails left it) and its answer, then what the client sent (its system messages first)."""
    if any(m["role"] == "assistant" for m in messages) or not saved.get("messages"):
        return messages
    history = [m for m in saved["messages"] if m["role"] in ("user", "assistant")]
    if saved.get("answer"):
        history.append({"role": "assistant", "content": saved["answer"]})
    system = [m for m in messages if m["role"] in ("system", "developer")]
    rest = [m for m in messages if m["role"] not in ("system", "developer")]
    return system + history[-HISTORY_TURNS:] + rest
