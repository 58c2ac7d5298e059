"""The versioned answer prompt: rendering and stop sequences."""

from __future__ import annotations

from graph.prompt import Prompt
from serving.settings import DEFAULT_PROMPT

PROMPT = Prompt.load(DEFAULT_PROMPT)


def test_render_puts_instructions_and_examples_before_the_conversation():
    conversation = [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Hi?"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "What is 18F?"},
    ]
    messages = PROMPT.render(conversation)
    assert messages[0]["role"] == "system"
    assert messages[0]["content"].startswith(PROMPT.system)
    assert messages[0]["content"].endswith("Be terse.")
    assert [m["role"] for m in messages[1:]].count("system") == 0
    assert messages[-3:] == conversation[1:]
    assert len(messages) == 1 + 2 * len(PROMPT.examples) + 3


def test_client_stops_come_first_and_at_most_four():
    assert PROMPT.stops(None) == list(PROMPT.stop)
    assert PROMPT.stops(["END"])[0] == "END"
    assert len(PROMPT.stops(["a", "b", "c", "d"])) == 4


def test_version_id():
    assert PROMPT.version_id == f"answer@v{PROMPT.version}"
